/**
 * A service registry on etcd, written the way a hand-rolled one is: an instance is a key
 * `/herald-bench/<service>/<instanceId>` holding the instance's JSON, attached to a lease of its
 * own (LeaseGrant, then Put), kept alive on a LeaseKeepAlive stream; a follower of a service reads
 * it with a Range over the prefix and then applies the Watch events from the next revision to its
 * map, JSON.parse-ing every value. Also the push driver's writer: a change re-puts the tagged
 * instance's key with its tag in the metadata, on the same lease.
 */
import { TAGGED_INDEX, tagMetadata, tagOfMetadata, type ChangeTag, type ChangeWriter } from '../lib/push/changes.js';
import { BENCH_METADATA } from '../lib/workload.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import { etcdKey, etcdValue, LEASE_TTL_S, type EtcdInstance } from './instances.js';

/** Registers instance `index` of `service` with a lease of its own; resolves with the lease ID (what renews it). */
export async function registerEtcdInstance(client: EtcdClient, service: string, index: number, metadata: Readonly<Record<string, string>> = BENCH_METADATA): Promise<string> {
  const lease = await client.grantLease(LEASE_TTL_S);
  await client.put(etcdKey(service, index), etcdValue(service, index, metadata), lease);
  return lease;
}

function parse(kv: KeyValue): EtcdInstance {
  // The value is an instance's JSON, as this registry writes it.
  return JSON.parse(kv.value.toString('utf8')) as EtcdInstance;
}

/** The instances of one service a follower holds: key → parsed instance. */
export class EtcdServiceView {
  private readonly instances = new Map<string, EtcdInstance>();

  /** The Range answer: the whole service. */
  load(kvs: readonly KeyValue[]): void {
    this.instances.clear();
    for (const kv of kvs) this.instances.set(kv.key.toString('utf8'), parse(kv));
  }

  /** Watch events, in order: a PUT sets the key's parsed value, a DELETE removes it. */
  apply(events: readonly WatchEvent[]): void {
    for (const e of events) {
      if (e.kv === null) continue;
      const key = e.kv.key.toString('utf8');
      if (e.type === 'DELETE') this.instances.delete(key);
      else this.instances.set(key, parse(e.kv));
    }
  }

  get size(): number {
    return this.instances.size;
  }

  /** The change tag the instance at `key` carries, if any. */
  tag(key: string): ChangeTag | undefined {
    const instance = this.instances.get(key);
    return instance === undefined ? undefined : tagOfMetadata(instance.metadata);
  }
}

/** The push driver on etcd: `hosts` instances with their own leases, then puts of the tagged one. */
export function etcdWriter(client: EtcdClient): ChangeWriter {
  let taggedLease: string | undefined;
  return {
    prepare: async (service, hosts) => {
      taggedLease = await registerEtcdInstance(client, service, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 }));
      await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => registerEtcdInstance(client, service, TAGGED_INDEX + 1 + i)));
    },
    issue: async (service, tag) => {
      if (taggedLease === undefined) throw new Error('prepare first');
      await client.put(etcdKey(service, TAGGED_INDEX), etcdValue(service, TAGGED_INDEX, tagMetadata(tag)), taggedLease);
    },
    close: () => {
      client.close();
    },
  };
}
