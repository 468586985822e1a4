import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  GZIP_THRESHOLD_BYTES,
  ackPushId,
  decodeDatagram,
  encodePushPacket,
  nacosServiceInfo,
  NacosJsonCache,
  nacosServiceInfoJson,
} from '../../src/common/nacos-json.js';
import type { ServiceView } from '../../src/core/model.js';
import { snapshotFromNacos } from '../../src/client/udp-receiver.js';
import { cacheKey } from '../../src/client/cache-key.js';
import { inst, makeRegistry } from '../core/helpers.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** SHOP@@orders in namespace dev: an ephemeral beat-kept host in east, a persistent one in west. */
function setup() {
  const { registry, clock } = makeRegistry();
  registry.updateService({ namespace: 'dev', group: 'SHOP', service: 'orders', protectThreshold: 0.25 });
  registry.register({
    namespace: 'dev',
    group: 'SHOP',
    service: 'orders',
    instance: inst({
      instanceId: 'i-1',
      ip: '10.0.0.1',
      port: 8080,
      weight: 2.5,
      cluster: 'east',
      metadata: { version: '1.4', zone: 'a' },
      leaseDurationMs: 30_000,
      renewalIntervalMs: 5_000,
      unhealthyAfterMs: 15_000,
    }),
  });
  clock.advance(7);
  registry.register({
    namespace: 'dev',
    group: 'SHOP',
    service: 'orders',
    instance: inst({ instanceId: 'i-2', ip: '10.0.0.2', port: 9090, cluster: 'west', ephemeral: false, enabled: false, healthy: false, status: 'OUT_OF_SERVICE' }),
  });
  const view = registry.query({ namespace: 'dev', group: 'SHOP', service: 'orders' });
  return { registry, view };
}

describe('nacosServiceInfo', () => {
  it('names the service group@@service, echoes the clusters string as sent, and carries the view', () => {
    const { view } = setup();
    const info = nacosServiceInfo(view, 'west,east', 4_321);
    expect(info).toMatchObject({
      name: 'SHOP@@orders',
      groupName: 'SHOP',
      clusters: 'west,east',
      cacheMillis: 4_321,
      lastRefTime: view.lastRefTime,
      checksum: view.checksum,
      allIPs: false,
      reachProtectionThreshold: false,
      valid: true,
      namespace: 'dev',
      revision: view.revision,
      protectThreshold: 0.25,
    });
    // cacheMillis is the caller's, not the snapshot's.
    expect(view.cacheMillis).not.toBe(4_321);
    expect(view.revision).toBeGreaterThan(0);
    expect(view.lastRefTime).toBeGreaterThan(0);
    expect(nacosServiceInfo(view, '', 1).clusters).toBe('');
  });

  it('writes each host as a Nacos instance', () => {
    const { view } = setup();
    const [r1, r2] = view.hosts;
    if (r1 === undefined || r2 === undefined) throw new Error('two hosts expected');
    const info = nacosServiceInfo(view, '', 10_000);
    expect(info.hosts).toEqual([
      {
        instanceId: 'i-1',
        ip: '10.0.0.1',
        port: 8080,
        weight: 2.5,
        healthy: true,
        valid: true,
        enabled: true,
        ephemeral: true,
        marked: false,
        clusterName: 'east',
        serviceName: 'SHOP@@orders',
        metadata: { version: '1.4', zone: 'a' },
        instanceHeartBeatInterval: 5_000,
        instanceHeartBeatTimeOut: 15_000,
        ipDeleteTimeout: 30_000,
        instanceIdGenerator: 'simple',
        status: 'UP',
      },
      {
        instanceId: 'i-2',
        ip: '10.0.0.2',
        port: 9090,
        weight: 1,
        healthy: false,
        valid: false,
        enabled: false,
        ephemeral: false,
        marked: false,
        clusterName: 'west',
        serviceName: 'SHOP@@orders',
        metadata: {},
        instanceHeartBeatInterval: r2.renewalIntervalMs,
        // No beat timeout: the lease duration stands in for it.
        instanceHeartBeatTimeOut: r2.leaseDurationMs,
        ipDeleteTimeout: r2.leaseDurationMs,
        instanceIdGenerator: 'simple',
        status: 'OUT_OF_SERVICE',
      },
    ]);
    expect(r2.unhealthyAfterMs).toBe(0);
    expect(r2.leaseDurationMs).toBeGreaterThan(0);
  });

  it('reports the protection flag of the view', () => {
    const { registry } = setup();
    // One usable host of two is under a threshold of 0.6: all hosts, and the flag.
    registry.updateService({ namespace: 'dev', group: 'SHOP', service: 'orders', protectThreshold: 0.6 });
    const v = registry.query({ namespace: 'dev', group: 'SHOP', service: 'orders' }, { healthyOnly: true });
    expect(v.reachProtectionThreshold).toBe(true);
    const info = nacosServiceInfo(v, '', 1);
    expect(info.reachProtectionThreshold).toBe(true);
    expect(info.protectThreshold).toBe(0.6);
    expect(info.hosts).toHaveLength(2);
  });

  it('writes an unknown service as a valid empty list', () => {
    const { registry } = makeRegistry();
    const info = nacosServiceInfo(registry.query({ service: 'nobody' }), '', 1_000);
    expect(info).toMatchObject({ name: 'DEFAULT_GROUP@@nobody', groupName: 'DEFAULT_GROUP', hosts: [], valid: true, namespace: 'public' });
  });
});

describe('nacosServiceInfoJson', () => {
  it('is the JSON text of nacosServiceInfo', () => {
    const { view } = setup();
    expect(JSON.parse(nacosServiceInfoJson(view, 'east', 3_000))).toEqual(nacosServiceInfo(view, 'east', 3_000));
  });

  it('a NacosJsonCache encodes once per view, clusters string and cacheMillis', () => {
    const { view } = setup();
    const cache = new NacosJsonCache();
    // A private copy the test may change behind the encoder's back: an answer that still shows
    // the old hosts came from the memo.
    const v: Mutable<ServiceView> = { ...view };
    const first = cache.json(v, 'east', 3_000);
    v.hosts = [];
    expect(cache.json(v, 'east', 3_000)).toBe(first);
    // Another clusters string or cacheMillis is another entry, encoded now.
    expect((JSON.parse(cache.json(v, 'west', 3_000)) as { hosts: unknown[] }).hosts).toEqual([]);
    expect((JSON.parse(cache.json(v, 'east', 3_001)) as { hosts: unknown[] }).hosts).toEqual([]);
    // Another view object (another revision) is never served from this one's memo.
    const w: Mutable<ServiceView> = { ...view };
    const fromW = cache.json(w, 'east', 3_000);
    w.hosts = [];
    expect(cache.json(w, 'east', 3_000)).toBe(fromW);
    expect(fromW).toBe(first);
  });

  it('a NacosJsonCache keeps at most 64 clusters strings per view (they come from clients)', () => {
    const { view } = setup();
    const cache = new NacosJsonCache();
    const v: Mutable<ServiceView> = { ...view };
    for (let i = 0; i < 64; i++) cache.json(v, `c${i}`, 1);
    const beyond = cache.json(v, 'c64', 1);
    v.hosts = [];
    // The 65th is encoded afresh each time; the first 64 still come from the memo.
    expect(cache.json(v, 'c64', 1)).not.toBe(beyond);
    expect((JSON.parse(cache.json(v, 'c0', 1)) as { hosts: unknown[] }).hosts).toHaveLength(2);
  });
});

/** The JSON text of a dom packet carrying `data` whose UTF-8 encoding is exactly `bytes` long. */
function dataForPacketOf(bytes: number, pushId: number): string {
  const overhead = Buffer.byteLength(JSON.stringify({ type: 'dom', data: '', lastRefTime: pushId }));
  return 'x'.repeat(bytes - overhead);
}

describe('encodePushPacket', () => {
  it('writes a small packet as plain JSON {type: "dom", data, lastRefTime}', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'a', instance: inst() });
    const view = registry.query({ service: 'a' });
    const json = nacosServiceInfoJson(view, '', 10_000);
    const packet = encodePushPacket(json, view.revision);
    expect(packet.length).toBeLessThan(GZIP_THRESHOLD_BYTES);
    expect(JSON.parse(packet.toString('utf8'))).toEqual({ type: 'dom', data: json, lastRefTime: view.revision });
  });

  it('gzips packets of 1 KiB and more, not below', () => {
    expect(GZIP_THRESHOLD_BYTES).toBe(1_024);
    const below = encodePushPacket(dataForPacketOf(1_023, 7), 7);
    expect(below.length).toBe(1_023);
    expect(below[0]).toBe(0x7b); // '{'
    const at = encodePushPacket(dataForPacketOf(1_024, 7), 7);
    expect([at[0], at[1]]).toEqual([0x1f, 0x8b]);
    expect(JSON.parse(gunzipSync(at).toString('utf8'))).toEqual({ type: 'dom', data: dataForPacketOf(1_024, 7), lastRefTime: 7 });
  });

  it('measures the threshold in bytes, not characters', () => {
    // 400 characters, 800 bytes of UTF-8 (+ overhead): over 1 KiB on the wire.
    const data = 'é'.repeat(400) + 'x'.repeat(200);
    expect(JSON.stringify({ type: 'dom', data, lastRefTime: 1 }).length).toBeLessThan(GZIP_THRESHOLD_BYTES);
    const packet = encodePushPacket(data, 1);
    expect([packet[0], packet[1]]).toEqual([0x1f, 0x8b]);
  });
});

describe('decodeDatagram', () => {
  it('reads plain and gzip JSON objects', () => {
    const obj = { type: 'push-ack', lastRefTime: 5, data: '' };
    expect(decodeDatagram(Buffer.from(JSON.stringify(obj)))).toEqual(obj);
    expect(decodeDatagram(gzipSync(Buffer.from(JSON.stringify(obj))))).toEqual(obj);
  });

  it('round-trips what encodePushPacket writes, small or large', () => {
    const { view } = setup();
    const json = nacosServiceInfoJson(view, '', 10_000);
    const big = JSON.stringify({ ...JSON.parse(json), padding: 'p'.repeat(2_000) });
    for (const data of [json, big]) expect(decodeDatagram(encodePushPacket(data, 42))).toEqual({ type: 'dom', data, lastRefTime: 42 });
  });

  it('gives undefined for anything but a JSON object', () => {
    for (const text of ['[1,2]', '42', 'null', '"dom"', 'not json', '', '{"type":']) {
      expect(decodeDatagram(Buffer.from(text)), text).toBeUndefined();
    }
    const gz = gzipSync(Buffer.from('{"type":"dom"}'));
    expect(decodeDatagram(gz.subarray(0, gz.length - 6))).toBeUndefined();
    expect(decodeDatagram(gzipSync(Buffer.from('[]')))).toBeUndefined();
  });
});

describe('ackPushId', () => {
  it('accepts lastRefTime as a number or a string of digits, normalised', () => {
    expect(ackPushId(1_795_273_265_684_000)).toBe('1795273265684000');
    expect(ackPushId('1795273265684000')).toBe('1795273265684000');
    expect(ackPushId(' 42 ')).toBe('42');
    expect(ackPushId('0042')).toBe('42');
    expect(ackPushId(0)).toBe('0');
  });

  it('refuses anything else', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, '', '  ', '-1', '4.2', '42a', '0x2a', null, undefined, {}, [42], true]) {
      expect(ackPushId(v), JSON.stringify([v])).toBeUndefined();
    }
  });
});

describe('the SDK reading a ServiceInfo (snapshotFromNacos)', () => {
  it('gets back the view the server wrote, under the cache key of the echoed clusters', () => {
    const { view } = setup();
    const packet = decodeDatagram(encodePushPacket(nacosServiceInfoJson(view, 'west,east', 4_000), view.revision));
    if (packet === undefined || typeof packet.data !== 'string') throw new Error('a dom packet expected');
    const parsed = snapshotFromNacos(JSON.parse(packet.data) as Record<string, unknown>);
    expect(parsed?.key).toBe(cacheKey('orders', { group: 'SHOP', clusters: ['east', 'west'] }));
    expect(parsed?.key).toBe('SHOP@@orders@@east,west');
    expect(parsed?.snapshot).toEqual({
      namespace: 'dev',
      group: 'SHOP',
      name: 'orders',
      clusters: ['west', 'east'],
      lastRefTime: view.lastRefTime,
      checksum: view.checksum,
      revision: view.revision,
      cacheMillis: 4_000,
      reachProtectionThreshold: false,
      protectThreshold: 0.25,
      hosts: view.hosts.map((r) => ({
        instanceId: r.instanceId,
        ip: r.ip,
        port: r.port,
        weight: r.weight,
        healthy: r.healthy,
        enabled: r.enabled,
        ephemeral: r.ephemeral,
        cluster: r.cluster,
        metadata: r.metadata,
        status: r.status,
        overriddenStatus: undefined,
        lastDirtyTimestamp: 0,
        leaseDurationMs: r.leaseDurationMs,
        renewalIntervalMs: r.renewalIntervalMs,
      })),
    });
  });

  it('fills Nacos defaults for what a plain Nacos server leaves out', () => {
    const parsed = snapshotFromNacos({
      name: 'DEFAULT_GROUP@@svc',
      clusters: '',
      lastRefTime: 1_234,
      hosts: [{ instanceId: 'x', ip: '10.0.0.9', port: 80, metadata: { n: 1 } }, 'garbage'],
    });
    expect(parsed?.key).toBe('DEFAULT_GROUP@@svc@@');
    expect(parsed?.snapshot).toMatchObject({ namespace: 'public', clusters: [], revision: 1_234, cacheMillis: 10_000, protectThreshold: 0, reachProtectionThreshold: false });
    expect(parsed?.snapshot.hosts).toEqual([
      expect.objectContaining({ instanceId: 'x', weight: 1, healthy: true, enabled: true, ephemeral: true, cluster: 'DEFAULT', status: 'UP', metadata: { n: '1' } }),
    ]);
  });

  it('refuses a name without a group or a ServiceInfo without hosts', () => {
    expect(snapshotFromNacos({ name: 'svc', hosts: [] })).toBeUndefined();
    expect(snapshotFromNacos({ name: 'DEFAULT_GROUP@@svc' })).toBeUndefined();
  });
});
