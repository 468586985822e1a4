/**
 * An etcd v3 client on its own connection, from proto/etcdserverpb/rpc.proto loaded at run time
 * (grpc-loaded.ts): Range, Put, LeaseGrant, LeaseKeepAlive (requests in flight on one stream per
 * client, as etcd's clientv3 keeps leases alive) and Watch. Responses are decoded in full.
 */
import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { bidiStream, LoadedProto, openChannel, unary } from './grpc-loaded.js';
import { KeyedStream } from './keyed-stream.js';

export interface KeyValue {
  readonly key: Buffer;
  readonly createRevision: string;
  readonly modRevision: string;
  readonly version: string;
  readonly value: Buffer;
  readonly lease: string;
}

export interface ResponseHeader {
  readonly clusterId: string;
  readonly memberId: string;
  readonly revision: string;
  readonly raftTerm: string;
}

export interface RangeResponse {
  readonly header: ResponseHeader | null;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: string;
}

interface PutResponse {
  readonly header: ResponseHeader | null;
}

export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue | null;
}

export interface WatchResponse {
  readonly header: ResponseHeader | null;
  readonly watchId: string;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compactRevision: string;
  readonly cancelReason: string;
  readonly events: readonly WatchEvent[];
}

interface LeaseGrantResponse {
  readonly ID: string;
  readonly TTL: string;
  readonly error: string;
}

interface LeaseKeepAliveRequest {
  readonly ID: string;
}

interface LeaseKeepAliveResponse {
  readonly ID: string;
  readonly TTL: string;
}

export type WatchCall = ClientDuplexStream<object, WatchResponse>;

const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));
const proto = new LoadedProto(`${protoDir}etcdserverpb/rpc.proto`, [protoDir]);
const methods = {
  range: proto.method<object, RangeResponse>('etcdserverpb.KV', 'Range'),
  put: proto.method<object, PutResponse>('etcdserverpb.KV', 'Put'),
  leaseGrant: proto.method<object, LeaseGrantResponse>('etcdserverpb.Lease', 'LeaseGrant'),
  leaseKeepAlive: proto.method<LeaseKeepAliveRequest, LeaseKeepAliveResponse>('etcdserverpb.Lease', 'LeaseKeepAlive'),
  watch: proto.method<object, WatchResponse>('etcdserverpb.Watch', 'Watch'),
};

/** The end of the range of every key with `prefix`: the prefix with its last byte plus one (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0xff) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export class EtcdClient {
  private readonly channel: Client;
  private keepAlives: KeyedStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;

  constructor(address: string) {
    this.channel = openChannel(address);
  }

  /** A lease of `ttlS` seconds; resolves with its ID. */
  async grantLease(ttlS: number): Promise<string> {
    const r = await unary(this.channel, methods.leaseGrant, { TTL: String(ttlS) });
    if (r.error !== '') throw new Error(`LeaseGrant: ${r.error}`);
    return r.ID;
  }

  /** Puts `key` = `value` attached to `lease`; resolves with the store's revision after the put. */
  async put(key: string, value: string, lease: string): Promise<string> {
    const r = await unary(this.channel, methods.put, { key: Buffer.from(key), value: Buffer.from(value), lease });
    return r.header?.revision ?? '0';
  }

  /** Every key with `prefix` (linearizable, as clientv3's Get by default). */
  range(prefix: string): Promise<RangeResponse> {
    return unary(this.channel, methods.range, { key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix) });
  }

  /** One keep-alive of `lease` on this client's LeaseKeepAlive stream; rejects when the lease is gone (TTL ≤ 0). */
  async keepAlive(lease: string): Promise<void> {
    this.keepAlives ??= new KeyedStream(bidiStream(this.channel, methods.leaseKeepAlive), (r) => r.ID);
    const r = await this.keepAlives.request(lease, { ID: lease });
    if (Number(r.TTL) <= 0) throw new Error(`lease ${lease} not found`);
  }

  /** A Watch stream with one watch on every key with `prefix`, from `startRevision` on. */
  watch(prefix: string, startRevision: bigint): WatchCall {
    const call = bidiStream(this.channel, methods.watch);
    call.write({ createRequest: { key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix), startRevision: startRevision.toString() } });
    return call;
  }

  close(): void {
    this.keepAlives?.close();
    this.channel.close();
  }
}
