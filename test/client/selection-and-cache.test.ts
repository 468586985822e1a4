import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { healthyInstances, pickWeighted } from '../../src/client/selection.js';
import { diffHosts } from '../../src/client/diff.js';
import { FailoverCache } from '../../src/client/failover-cache.js';
import { ServiceCache, type ServiceChangeEvent } from '../../src/client/service-cache.js';
import { cacheKey, parseCacheKey } from '../../src/client/cache-key.js';
import type { ServiceInstance, ServiceSnapshot } from '../../src/client/model.js';

function inst(id: string, extra: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    instanceId: id,
    ip: '10.0.0.1',
    port: 80,
    weight: 1,
    healthy: true,
    enabled: true,
    ephemeral: true,
    cluster: 'DEFAULT',
    metadata: {},
    status: 'UP',
    overriddenStatus: undefined,
    lastDirtyTimestamp: 0,
    leaseDurationMs: 90_000,
    renewalIntervalMs: 30_000,
    ...extra,
  };
}

function snap(hosts: ServiceInstance[], extra: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    name: 's',
    clusters: [],
    hosts,
    lastRefTime: 1,
    checksum: '',
    revision: 1,
    cacheMillis: 10_000,
    reachProtectionThreshold: false,
    protectThreshold: 0,
    ...extra,
  };
}

describe('cache keys', () => {
  it('are group@@service@@clusters with clusters sorted and de-duplicated', () => {
    expect(cacheKey('orders')).toBe('DEFAULT_GROUP@@orders@@');
    expect(cacheKey('orders', { group: 'PAY', clusters: ['b', 'a', 'b'] })).toBe('PAY@@orders@@a,b');
    expect(parseCacheKey('PAY@@orders@@a,b')).toEqual({ group: 'PAY', service: 'orders', clusters: ['a', 'b'] });
    expect(parseCacheKey('DEFAULT_GROUP@@orders@@')).toEqual({ group: 'DEFAULT_GROUP', service: 'orders', clusters: [] });
  });
});

describe('selection', () => {
  it('keeps usable instances, or all of them under the protect threshold', () => {
    const hosts = [inst('a'), inst('b', { healthy: false }), inst('c', { enabled: false }), inst('d', { status: 'OUT_OF_SERVICE' }), inst('e', { weight: 0 })];
    expect(healthyInstances(snap(hosts)).instances.map((h) => h.instanceId)).toEqual(['a']);
    expect(healthyInstances(snap(hosts, { protectThreshold: 0.3 }))).toMatchObject({ protected: true });
    expect(healthyInstances(snap(hosts, { protectThreshold: 0.3 })).instances).toHaveLength(5);
    expect(healthyInstances(snap(hosts, { protectThreshold: 0.2 })).protected).toBe(false);
    expect(healthyInstances(snap(hosts, { reachProtectionThreshold: true })).instances).toHaveLength(5);
  });

  it('picks by weight, never weight 0', () => {
    const hosts = [inst('light', { weight: 1 }), inst('heavy', { weight: 3 }), inst('zero', { weight: 0 })];
    const counts = new Map<string, number>();
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 40_000; i++) {
      const p = pickWeighted(hosts, random)?.instanceId ?? 'none';
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    expect(counts.get('zero')).toBeUndefined();
    expect(Math.abs((counts.get('heavy') ?? 0) / 40_000 - 0.75)).toBeLessThan(0.01);
    expect(pickWeighted([inst('z', { weight: 0 })])).toBeUndefined();
    expect(pickWeighted([])).toBeUndefined();
    // A random() of (almost) 1 still lands on a positive-weight instance.
    expect(pickWeighted(hosts, () => 0.9999999999)?.instanceId).toBe('heavy');
  });
});

describe('diffHosts', () => {
  it('matches by id and reports every visible field change', () => {
    const before = [inst('a'), inst('b'), inst('c', { metadata: { v: '1' } })];
    const after = [inst('b'), inst('c', { metadata: { v: '2' } }), inst('d')];
    const d = diffHosts(before, after);
    expect([d.added, d.modified, d.removed].map((l) => l.map((h) => h.instanceId))).toEqual([['d'], ['c'], ['a']]);
    for (const change of [
      { ip: 'x' },
      { port: 1 },
      { weight: 2 },
      { healthy: false },
      { enabled: false },
      { cluster: 'x' },
      { status: 'DOWN' as const },
      { overriddenStatus: 'UP' as const },
    ]) {
      expect(diffHosts([inst('a')], [inst('a', change)]).modified).toHaveLength(1);
    }
    expect(diffHosts([inst('a')], [inst('a', { lastDirtyTimestamp: 5 })]).modified).toHaveLength(0);
  });
});

describe('ServiceCache.apply', () => {
  function cache() {
    const events: ServiceChangeEvent[] = [];
    const stored: string[] = [];
    const c = new ServiceCache({ emptyPushProtection: true, now: () => 0, logger: silentLogger, onStored: (k) => stored.push(k) });
    c.changes$.subscribe((e) => events.push(e));
    return { c, events, stored };
  }

  it('orders by revision per server, and takes the first snapshot from another server', () => {
    const { c, events } = cache();
    expect(c.apply('k', snap([inst('a')], { revision: 5 }), 'push', 's1')).toBe('applied');
    expect(c.apply('k', snap([inst('b')], { revision: 4 }), 'pull', 's1')).toBe('older');
    expect(c.apply('k', snap([inst('a')], { revision: 5 }), 'pull', 's1')).toBe('unchanged');
    expect(c.apply('k', snap([inst('a')], { revision: 6 }), 'pull', 's1')).toBe('unchanged');
    expect(c.get('k')?.snapshot.revision).toBe(6);
    // Fail-over: s2's revisions are its own; its first answer replaces s1's.
    expect(c.apply('k', snap([inst('c')], { revision: 2 }), 'push', 's2')).toBe('applied');
    expect(events.map((e) => e.snapshot.hosts[0]?.instanceId)).toEqual(['a', 'c']);
  });

  it('announces a change of the protect threshold with the same hosts (watchers recompute the usable instances)', () => {
    const { c, events } = cache();
    c.apply('k', snap([inst('a')], { revision: 1 }), 'push', 's1');
    expect(c.apply('k', snap([inst('a')], { revision: 2, protectThreshold: 0.6 }), 'push', 's1')).toBe('applied');
    expect(c.apply('k', snap([inst('a')], { revision: 3, protectThreshold: 0.6 }), 'push', 's1')).toBe('unchanged');
    expect(events.map((e) => e.snapshot.protectThreshold)).toEqual([0, 0.6]);
    expect(events[1]?.diff).toEqual({ added: [], modified: [], removed: [] });
  });

  it('replaces a disk seed whatever its revision, and announces it', () => {
    const { c, events, stored } = cache();
    c.seed('k', snap([inst('a')], { revision: 99 }));
    expect(c.apply('k', snap([inst('a')], { revision: 1 }), 'pull', 's1')).toBe('applied');
    expect(events).toHaveLength(1);
    expect(stored).toEqual(['k']);
  });
});

describe('FailoverCache', () => {
  it('writes atomically, keeps the newest of rapid writes, and reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-failover-'));
    const disk = new FailoverCache(dir, 'public', silentLogger);
    for (let i = 1; i <= 20; i++) disk.write('DEFAULT_GROUP@@s@@', snap([inst(`i-${i}`)], { revision: i }));
    disk.write('PAY@@t@@a,b', snap([inst('t')]));
    await disk.flush();
    expect((await disk.read('DEFAULT_GROUP@@s@@'))?.revision).toBe(20);
    const files = readdirSync(join(dir, 'public'));
    expect(files.sort()).toEqual(['DEFAULT_GROUP%40%40s%40%40.json', 'PAY%40%40t%40%40a%2Cb.json']);
    const loaded = new FailoverCache(dir, 'public', silentLogger).loadAllSync();
    expect([...loaded.keys()].sort()).toEqual(['DEFAULT_GROUP@@s@@', 'PAY@@t@@a,b']);
  });

  it('skips corrupt files and tolerates a missing directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-failover-'));
    expect(new FailoverCache(join(dir, 'nope'), 'public', silentLogger).loadAllSync().size).toBe(0);
    const disk = new FailoverCache(dir, 'public', silentLogger);
    disk.write('good', snap([inst('a')]));
    await disk.flush();
    writeFileSync(join(dir, 'public', 'bad.json'), '{not json');
    writeFileSync(join(dir, 'public', 'wrong.json'), JSON.stringify({ version: 1, key: 'wrong', snapshot: { name: 1 } }));
    expect([...disk.loadAllSync().keys()]).toEqual(['good']);
    expect(await disk.read('missing')).toBeUndefined();
  });
});
