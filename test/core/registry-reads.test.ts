import { describe, expect, it } from 'vitest';
import { reconcileHash, serviceChecksum, type InstanceChange, type InstanceRecord } from '../../src/core/index.js';
import { resolveStatus } from '../../src/core/status-rules.js';
import { inst, makeRegistry } from './helpers.js';

describe('the overridden-status rule chain', () => {
  it.each([
    // reported, override, existing, replication → status, rule
    ['DOWN', 'OUT_OF_SERVICE', 'UP', false, 'DOWN', 'down-or-starting'],
    ['STARTING', undefined, undefined, false, 'STARTING', 'down-or-starting'],
    ['UNKNOWN', 'UP', undefined, false, 'UNKNOWN', 'down-or-starting'],
    ['UP', 'OUT_OF_SERVICE', 'UP', false, 'OUT_OF_SERVICE', 'override-exists'],
    ['UP', 'OUT_OF_SERVICE', 'UP', true, 'OUT_OF_SERVICE', 'override-exists'],
    ['UP', undefined, 'OUT_OF_SERVICE', false, 'OUT_OF_SERVICE', 'lease-exists'],
    ['UP', undefined, 'OUT_OF_SERVICE', true, 'UP', 'instance-status'],
    ['UP', undefined, 'DOWN', false, 'UP', 'instance-status'],
    ['OUT_OF_SERVICE', undefined, undefined, false, 'OUT_OF_SERVICE', 'instance-status'],
  ] as const)('%s / override %s / existing %s / replication %s → %s by %s', (reported, overridden, existing, replication, status, rule) => {
    expect(resolveStatus({ reported, overridden, existing, replication })).toEqual({ status, rule });
  });
});

describe('views', () => {
  function setup() {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'api', instance: inst({ instanceId: 'b', cluster: 'east' }) });
    registry.register({ service: 'api', instance: inst({ instanceId: 'a', cluster: 'west', healthy: false }) });
    registry.register({ service: 'api', instance: inst({ instanceId: 'c', cluster: 'east', enabled: false }) });
    registry.register({ service: 'api', instance: inst({ instanceId: 'd', cluster: 'west', weight: 0 }) });
    registry.register({ service: 'api', instance: inst({ instanceId: 'e', cluster: 'west', status: 'STARTING' }) });
    return { registry, clock };
  }

  it('sorts hosts by id, filters clusters and usable instances', () => {
    const { registry } = setup();
    expect(registry.query({ service: 'api' }).hosts.map((h) => h.instanceId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(registry.query({ service: 'api' }, { clusters: ['west', 'west'] }).hosts.map((h) => h.instanceId)).toEqual(['a', 'd', 'e']);
    expect(registry.query({ service: 'api' }, { healthyOnly: true }).hosts.map((h) => h.instanceId)).toEqual(['b']);
    const v = registry.query({ service: 'api' }, { clusters: ['west', 'east'] });
    expect(v.clusters).toEqual(['east', 'west']);
  });

  it('returns all instances and says so when the usable share is under the protect threshold', () => {
    const { registry } = setup();
    registry.updateService({ service: 'api', protectThreshold: 0.3 });
    const v = registry.query({ service: 'api' }, { healthyOnly: true });
    expect(v.reachProtectionThreshold).toBe(true);
    expect(v.hosts).toHaveLength(5);
    // 1 of 5 usable = 0.2; a threshold of 0.2 is not crossed.
    registry.updateService({ service: 'api', protectThreshold: 0.2 });
    expect(registry.query({ service: 'api' }, { healthyOnly: true })).toMatchObject({ reachProtectionThreshold: false, protectThreshold: 0.2 });
    // Per cluster: east has 1 of 2 usable.
    registry.updateService({ service: 'api', protectThreshold: 0.6 });
    expect(registry.query({ service: 'api' }, { healthyOnly: true, clusters: ['east'] }).hosts).toHaveLength(2);
    // Without healthy-only nothing is filtered and protection does not apply.
    expect(registry.query({ service: 'api' }).reachProtectionThreshold).toBe(false);
  });

  it('memoises one view object per revision and filter, with a stable checksum', () => {
    const { registry } = setup();
    const a = registry.query({ service: 'api' }, { clusters: ['east', 'west'] });
    expect(registry.query({ service: 'api' }, { clusters: ['west', 'east'] })).toBe(a);
    expect(a.checksum).toBe(serviceChecksum(a.hosts));
    expect(a.checksum).toMatch(/^[0-9a-f]{32}$/);
    // A change outside the filtered clusters: a new revision, but the same hosts and checksum.
    registry.register({ service: 'api', instance: inst({ instanceId: 'f' }) });
    const b = registry.query({ service: 'api' }, { clusters: ['east', 'west'] });
    expect(b).not.toBe(a);
    expect(b.revision).toBeGreaterThan(a.revision);
    expect(b.checksum).toBe(a.checksum);
    registry.register({ service: 'api', instance: inst({ instanceId: 'g', cluster: 'east' }) });
    expect(registry.query({ service: 'api' }, { clusters: ['east', 'west'] }).checksum).not.toBe(a.checksum);
  });

  it('checksums do not depend on registration order and do depend on every visible field', () => {
    const one = makeRegistry().registry;
    const two = makeRegistry().registry;
    one.register({ service: 's', instance: inst({ instanceId: 'x', metadata: { b: '2', a: '1' } }) });
    one.register({ service: 's', instance: inst({ instanceId: 'y', port: 2 }) });
    two.register({ service: 's', instance: inst({ instanceId: 'y', port: 2 }) });
    two.register({ service: 's', instance: inst({ instanceId: 'x', metadata: { a: '1', b: '2' } }) });
    expect(one.query({ service: 's' }).checksum).toBe(two.query({ service: 's' }).checksum);
    const base = one.query({ service: 's' }).hosts[0] as InstanceRecord;
    const variants: Partial<InstanceRecord>[] = [
      { ip: '10.0.0.2' },
      { port: 1 },
      { weight: 1.5 },
      { healthy: false },
      { enabled: false },
      { ephemeral: false },
      { cluster: 'c' },
      { status: 'DOWN' },
      { overriddenStatus: 'UP' },
      { metadata: { a: '1' } },
    ];
    for (const v of variants) expect(serviceChecksum([{ ...base, ...v }])).not.toBe(serviceChecksum([base]));
  });

  it('answers an unknown service with an empty view, not an error', () => {
    const { registry } = makeRegistry();
    expect(registry.query({ service: 'nobody' })).toMatchObject({ hosts: [], revision: 0, name: 'nobody', group: 'DEFAULT_GROUP' });
    expect(() => registry.query({})).toThrow('service is required');
  });
});

describe('delta and full fetch', () => {
  it('keeps changes for the retention window and reports the reconcile hash of the whole namespace', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    clock.advance(100_000);
    registry.register({ service: 'b', instance: inst({ instanceId: '2' }) });
    clock.advance(80_001);
    const delta = registry.fetchDelta();
    expect(delta.changes.map((c) => c.record.instanceId)).toEqual(['2']);
    expect(delta.retentionMs).toBe(180_000);
    const full = registry.fetchRegistry();
    expect(full.services.map((s) => s.name)).toEqual(['a', 'b']);
    expect(delta.reconcileHash).toBe(full.reconcileHash);
    expect(full.reconcileHash).toBe(reconcileHash(full.services.map((s) => [`${s.group}@@${s.name}`, s.checksum] as const)));
  });

  it('lets a client rebuild the server state from a full fetch plus deltas and check it with the hash', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    registry.register({ service: 'a', instance: inst({ instanceId: '2' }) });
    // The client's copy: service key → instance id → record.
    const copy = new Map<string, Map<string, InstanceRecord>>();
    for (const s of registry.fetchRegistry().services) copy.set(`${s.group}@@${s.name}`, new Map(s.hosts.map((h) => [h.instanceId, h])));
    const seen = registry.fetchDelta().changes.length;
    clock.advance(1_000);
    registry.cancel({ service: 'a', instanceId: '1' });
    registry.register({ service: 'b', instance: inst({ instanceId: '3' }) });
    registry.setStatus({ service: 'a', instanceId: '2', status: 'OUT_OF_SERVICE' });
    const delta = registry.fetchDelta();
    const apply = (c: InstanceChange) => {
      const key = `${c.group}@@${c.service}`;
      const m = copy.get(key) ?? new Map<string, InstanceRecord>();
      copy.set(key, m);
      if (c.action === 'DELETED') m.delete(c.record.instanceId);
      else m.set(c.record.instanceId, c.record);
    };
    delta.changes.slice(seen).forEach(apply);
    const local = reconcileHash(
      [...copy]
        .filter(([, m]) => m.size > 0)
        .map(([k, m]) => [k, serviceChecksum([...m.values()].sort((x, y) => (x.instanceId < y.instanceId ? -1 : 1)))] as const),
    );
    expect(local).toBe(delta.reconcileHash);
    // Applying the whole window again (idempotently) gives the same result.
    delta.changes.forEach(apply);
    expect(copy.get('DEFAULT_GROUP@@a')?.size).toBe(1);
  });

  it('reports empty results for a namespace that does not exist', () => {
    const { registry } = makeRegistry();
    expect(registry.fetchRegistry('nowhere')).toEqual({ services: [], reconcileHash: reconcileHash([]) });
    expect(registry.fetchDelta('nowhere').changes).toEqual([]);
  });
});

describe('listServices', () => {
  it('orders by group then name and pages with opaque tokens', () => {
    const { registry } = makeRegistry();
    for (const [g, s] of [['B', 'x'], ['A', 'z'], ['A', 'y'], ['B', 'a'], ['C', 'm']] as const) {
      registry.register({ group: g, service: s, instance: inst() });
    }
    const p1 = registry.listServices({ pageSize: 2 });
    expect(p1.services.map((s) => `${s.group}/${s.name}`)).toEqual(['A/y', 'A/z']);
    expect(p1.totalSize).toBe(5);
    const p2 = registry.listServices({ pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.services.map((s) => `${s.group}/${s.name}`)).toEqual(['B/a', 'B/x']);
    const p3 = registry.listServices({ pageSize: 2, pageToken: p2.nextPageToken });
    expect(p3.services.map((s) => `${s.group}/${s.name}`)).toEqual(['C/m']);
    expect(p3.nextPageToken).toBe('');
    expect(registry.listServices({ group: 'B' }).services.map((s) => s.name)).toEqual(['a', 'x']);
    expect(() => registry.listServices({ pageSize: 1001 })).toThrow('page_size must be between 1 and 1000');
    expect(() => registry.listServices({ pageToken: 'garbage' })).toThrow('page_token is not a token this server issued');
  });

  it('summarises counts and clusters', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 's', instance: inst({ instanceId: '1', cluster: 'b' }) });
    registry.register({ service: 's', instance: inst({ instanceId: '2', cluster: 'a', healthy: false }) });
    expect(registry.listServices({}).services[0]).toMatchObject({ instanceCount: 2, healthyInstanceCount: 1, clusters: ['a', 'b'] });
  });
});

describe('hasInstance and serviceNames (lookups for adapters)', () => {
  it('answers existence without throwing, and names only services that have instances', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'api', instance: inst({ instanceId: 'a' }) });
    registry.register({ group: 'G', service: 'web', instance: inst({ instanceId: 'w' }) });
    registry.register({ group: 'G', service: 'gone', instance: inst({ instanceId: 'g' }) });
    registry.cancel({ group: 'G', service: 'gone', instanceId: 'g' });
    registry.updateService({ service: 'configured-only', protectThreshold: 0.5 });

    expect(registry.hasInstance({ service: 'api', instanceId: 'a' })).toBe(true);
    expect(registry.hasInstance({ service: 'api', instanceId: 'b' })).toBe(false);
    expect(registry.hasInstance({ service: 'API', instanceId: 'a' })).toBe(false); // names are case-sensitive
    expect(registry.hasInstance({ namespace: 'elsewhere', service: 'api', instanceId: 'a' })).toBe(false);
    expect(() => registry.hasInstance({ service: 'bad name!', instanceId: 'a' })).toThrow('service');

    const names = (ns?: string, g?: string) => registry.serviceNames(ns, g).map((s) => `${s.group}/${s.service}`).sort();
    expect(names()).toEqual(['DEFAULT_GROUP/api', 'G/web']);
    expect(names(undefined, 'G')).toEqual(['G/web']);
    expect(names('elsewhere')).toEqual([]);
  });
});

describe('updateService', () => {
  it('validates the threshold and metadata and pushes a change', () => {
    const { registry } = makeRegistry();
    let notified = 0;
    registry.onServiceChanged(() => notified++);
    expect(() => registry.updateService({ service: 's', protectThreshold: 1.5 })).toThrow('protect_threshold must be between 0 and 1');
    expect(notified).toBe(0);
    expect(registry.updateService({ service: 's', protectThreshold: 0.5, metadata: { owner: 'team-a' } })).toMatchObject({
      protectThreshold: 0.5,
      metadata: { owner: 'team-a' },
      instanceCount: 0,
    });
    expect(notified).toBe(1);
    registry.updateService({ service: 's', protectThreshold: 0.5, metadata: { owner: 'team-a' } });
    expect(notified).toBe(1);
  });
});
