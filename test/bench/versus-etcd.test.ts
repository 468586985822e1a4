/**
 * The client-side state both sides of bench/versus-etcd hold: etcd's prefix range end, the etcd
 * follower's map (Range, then Watch events) and the herald follower's view (snapshot, then deltas).
 */
import { describe, expect, it } from 'vitest';
import { prefixEnd, type KeyValue } from '../../bench/versus-etcd/etcd-client.js';
import { EtcdServiceView } from '../../bench/versus-etcd/etcd-registry.js';
import type { HeraldInstance, ServiceDelta, ServiceInfo } from '../../bench/versus-etcd/herald-client.js';
import { HeraldServiceView } from '../../bench/versus-etcd/herald-view.js';
import { etcdKey, etcdValue } from '../../bench/versus-etcd/instances.js';
import { tagMetadata } from '../../bench/lib/push/changes.js';

describe('prefixEnd', () => {
  it('is the prefix with its last byte plus one', () => {
    expect(prefixEnd('/herald-bench/a/').toString()).toBe('/herald-bench/a0');
  });
});

function kv(service: string, index: number, seq: number): KeyValue {
  return {
    key: Buffer.from(etcdKey(service, index)),
    value: Buffer.from(etcdValue(service, index, tagMetadata({ seq, issuedAtMs: 1 }))),
    createRevision: '1',
    modRevision: '1',
    version: '1',
    lease: '7',
  };
}

describe('EtcdServiceView', () => {
  it('holds the Range answer, then applies PUT and DELETE events in order', () => {
    const view = new EtcdServiceView();
    view.load([kv('s', 0, 1), kv('s', 1, 0)]);
    expect(view.size).toBe(2);
    expect(view.tag(etcdKey('s', 0))?.seq).toBe(1);
    view.apply([
      { type: 'PUT', kv: kv('s', 0, 2) },
      { type: 'DELETE', kv: kv('s', 1, 0) },
    ]);
    expect(view.size).toBe(1);
    expect(view.tag(etcdKey('s', 0))?.seq).toBe(2);
  });
});

function host(id: string, seq = 0): HeraldInstance {
  return {
    instanceId: id,
    ip: '10.0.0.1',
    port: 8080,
    weight: 1,
    healthy: true,
    enabled: true,
    ephemeral: true,
    cluster: 'DEFAULT',
    metadata: tagMetadata({ seq, issuedAtMs: 1 }),
    status: 'INSTANCE_STATUS_UP',
    lastDirtyTimestamp: '0',
  };
}

const info = (hosts: HeraldInstance[], revision: string): ServiceInfo => ({
  namespace: 'public',
  group: 'DEFAULT_GROUP',
  name: 's',
  clusters: [],
  hosts,
  lastRefTime: '1',
  checksum: 'c',
  revision,
  cacheMillis: '10000',
  reachProtectionThreshold: false,
  protectThreshold: 0,
});

const delta = (fromRevision: string, revision: string, upserted: HeraldInstance[], removed: string[]): ServiceDelta => ({
  namespace: 'public',
  group: 'DEFAULT_GROUP',
  name: 's',
  clusters: [],
  fromRevision,
  revision,
  upserted,
  removed,
  checksum: 'd',
  lastRefTime: '2',
  cacheMillis: '10000',
  reachProtectionThreshold: false,
  protectThreshold: 0,
});

describe('HeraldServiceView', () => {
  it('replaces and adds upserted hosts, drops removed ones, keeps them sorted and takes the revision', () => {
    const view = new HeraldServiceView();
    view.snapshot(info([host('b'), host('a'), host('d')], '5'));
    expect(view.hosts.map((h) => h.instanceId)).toEqual(['a', 'b', 'd']);
    view.delta(delta('5', '6', [host('b', 3), host('c')], ['d']));
    expect(view.hosts.map((h) => h.instanceId)).toEqual(['a', 'b', 'c']);
    expect(view.tag('b')?.seq).toBe(3);
    expect(view.revision).toBe('6');
    expect(view.checksum).toBe('d');
  });

  it('refuses a delta that does not start from the revision held', () => {
    const view = new HeraldServiceView();
    view.snapshot(info([host('a')], '5'));
    expect(() => {
      view.delta(delta('4', '6', [], []));
    }).toThrow(/missed/);
  });
});
