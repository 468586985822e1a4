/**
 * A herald client on its own connection, from proto/herald/v1/registry_service.proto loaded at run
 * time (grpc-loaded.ts), as an application without the SDK writes one: Register, Renew (unary) or
 * KeepAlive (requests in flight on one stream per client), GetService, Subscribe (snapshots, or
 * deltas after the first snapshot) and Watch. Every response is decoded in full.
 */
import type { Client, ClientDuplexStream, ClientReadableStream } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { BENCH_METADATA } from '../lib/workload.js';
import { bidiStream, LoadedProto, openChannel, serverStream, unary } from './grpc-loaded.js';
import { heraldRegistration } from './instances.js';
import { KeyedStream } from './keyed-stream.js';

/** How the client renews: one Renew call each, or KeepAlive requests on a stream. */
export type RenewMode = 'unary' | 'stream';

/** An Instance as proto-loader decodes it (LOAD_OPTIONS). */
export interface HeraldInstance {
  readonly instanceId: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: string;
  readonly lastDirtyTimestamp: string;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  readonly clusters: readonly string[];
  readonly hosts: readonly HeraldInstance[];
  readonly lastRefTime: string;
  readonly checksum: string;
  readonly revision: string;
  readonly cacheMillis: string;
  readonly reachProtectionThreshold: boolean;
  readonly protectThreshold: number;
}

export interface ServiceDelta {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  readonly clusters: readonly string[];
  readonly fromRevision: string;
  readonly revision: string;
  readonly upserted: readonly HeraldInstance[];
  readonly removed: readonly string[];
  readonly checksum: string;
  readonly lastRefTime: string;
  readonly cacheMillis: string;
  readonly reachProtectionThreshold: boolean;
  readonly protectThreshold: number;
}

export interface SubscribeResponse {
  readonly serviceInfo: ServiceInfo | null;
  readonly delta: ServiceDelta | null;
}

export interface WatchResponse {
  readonly watchId: string;
  readonly serviceInfo: ServiceInfo | null;
  readonly delta: ServiceDelta | null;
  readonly canceled: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
}

interface RegisterResponse {
  readonly instance: HeraldInstance | null;
}

interface GetServiceResponse {
  readonly serviceInfo: ServiceInfo | null;
}

interface KeepAliveRequest {
  readonly tag: string;
  readonly service: string;
  readonly instanceId: string;
}

interface KeepAliveResponse {
  readonly tag: string;
  readonly code: number;
  readonly message: string;
  readonly leaseExpiresAt: string;
  readonly renewalIntervalMs: string;
}

export type HeraldWatchCall = ClientDuplexStream<object, WatchResponse>;

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));
const proto = new LoadedProto(`${protoDir}herald/v1/registry_service.proto`, [protoDir]);
const SERVICE = 'herald.v1.RegistryService';
const methods = {
  register: proto.method<object, RegisterResponse>(SERVICE, 'Register'),
  renew: proto.method<object, object>(SERVICE, 'Renew'),
  keepAlive: proto.method<KeepAliveRequest, KeepAliveResponse>(SERVICE, 'KeepAlive'),
  getService: proto.method<object, GetServiceResponse>(SERVICE, 'GetService'),
  subscribe: proto.method<object, SubscribeResponse>(SERVICE, 'Subscribe'),
  watch: proto.method<object, WatchResponse>(SERVICE, 'Watch'),
};

/** How much of each instance herald's followers and GetService receive (InstanceView). */
export type HeraldView = 'full' | 'basic';

export const HERALD_VIEWS: readonly HeraldView[] = ['basic', 'full'];

const VIEW_ENUM: Readonly<Record<HeraldView, string>> = { full: 'INSTANCE_VIEW_FULL', basic: 'INSTANCE_VIEW_BASIC' };

export class HeraldClient {
  private readonly channel: Client;
  private keepAlives: KeyedStream<KeepAliveRequest, KeepAliveResponse> | undefined;
  private nextTag = 1;

  constructor(
    address: string,
    private readonly renewMode: RenewMode = 'unary',
    /** InstanceView of snapshots and deltas: full (with the lease) or basic (without). */
    private readonly view: HeraldView = 'full',
  ) {
    this.channel = openChannel(address);
  }

  /** Registers instance `index` of `service`; resolves with the instance as stored. */
  async register(service: string, index: number, metadata: Readonly<Record<string, string>> = BENCH_METADATA): Promise<HeraldInstance> {
    const r = await unary(this.channel, methods.register, heraldRegistration(service, index, metadata));
    if (r.instance === null) throw new Error('Register answered no instance');
    return r.instance;
  }

  /** Renews one instance's lease: a Renew call, or a KeepAlive request on this client's stream. */
  async renew(service: string, instanceId: string): Promise<void> {
    if (this.renewMode === 'unary') {
      await unary(this.channel, methods.renew, { service, instanceId });
      return;
    }
    this.keepAlives ??= new KeyedStream(bidiStream(this.channel, methods.keepAlive), (r) => r.tag);
    const tag = String(this.nextTag++);
    const r = await this.keepAlives.request(tag, { tag, service, instanceId });
    if (r.code !== 0) throw new Error(`KeepAlive: code ${r.code}: ${r.message}`);
  }

  async getService(service: string): Promise<ServiceInfo> {
    const r = await unary(this.channel, methods.getService, { service, view: VIEW_ENUM[this.view] });
    if (r.serviceInfo === null) throw new Error('GetService answered no service_info');
    return r.serviceInfo;
  }

  /** Subscribe to `service`; with `deltas`, every message after the first is a ServiceDelta. */
  subscribe(service: string, deltas: boolean): ClientReadableStream<SubscribeResponse> {
    return serverStream(this.channel, methods.subscribe, { service, deltas, view: VIEW_ENUM[this.view] });
  }

  /** A Watch stream following `service` as watch 1. */
  watch(service: string): HeraldWatchCall {
    const call = bidiStream(this.channel, methods.watch);
    call.write({ add: { watchId: '1', service, view: VIEW_ENUM[this.view] } });
    return call;
  }

  close(): void {
    this.keepAlives?.close();
    this.channel.close();
  }
}
