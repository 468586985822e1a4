/**
 * A thin promise/Observable face over the generated herald.v1.RegistryService stub for one server
 * address: unary calls with deadlines, Subscribe as a cold Observable (unsubscribing cancels the
 * call), with deltas applied and verified when asked, many followed services over one Watch stream
 * (watch-mux.ts) and renewals over one KeepAlive stream (keep-alive-stream.ts). No retries or
 * caching here; the SDK layers those on top.
 */
import { Metadata, status as GrpcStatus, type CallOptions, type ClientOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { catchError, Observable, throwError } from 'rxjs';
import { CallCredentials, channelCredentialsOf, type SecurityOptions } from './connection-security.js';
import { DeltaFollower } from './delta-follower.js';
import { KeepAliveStream } from './keep-alive-stream.js';
import { WatchMux, type FollowRequest } from './watch-mux.js';
import { InstanceView, type ServiceInfo } from '../gen/herald/v1/model.js';
import {
  RegistryServiceClient,
  type CancelRequest,
  type CancelResponse,
  type DeleteStatusOverrideRequest,
  type DeleteStatusOverrideResponse,
  type FetchDeltaRequest,
  type FetchDeltaResponse,
  type FetchRegistryRequest,
  type FetchRegistryResponse,
  type GetInstanceRequest,
  type GetInstanceResponse,
  type GetServiceRequest,
  type GetServiceResponse,
  type ListServicesRequest,
  type ListServicesResponse,
  type RegisterRequest,
  type RegisterResponse,
  type RenewRequest,
  type RenewResponse,
  type SetStatusRequest,
  type SetStatusResponse,
  type SubscribeRequest,
  type SubscribeResponse,
  type UpdateServiceRequest,
  type UpdateServiceResponse,
} from '../gen/herald/v1/registry_service.js';

function isUnimplemented(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === GrpcStatus.UNIMPLEMENTED;
}

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: Res) => void) => ClientUnaryCall;

/** How often the channel tries to connect again while it cannot (see {@link reconnectChannelOptions}). */
export interface ReconnectBackoff {
  /** Delay after the first failed connection attempt. */
  readonly initialMs: number;
  /** Longest delay between attempts (grpc-js adds ±20 % jitter to each delay). */
  readonly maxMs: number;
}

export interface RegistryTransportOptions {
  /** Deadline of unary calls. Default 5000 ms. */
  readonly deadlineMs?: number;
  /** The channel's reconnect back-off. Default: grpc-js's own (1 s, × 1.6 up to 120 s). */
  readonly reconnectBackoff?: ReconnectBackoff;
  /** Extra grpc-js channel options (they win over the ones above). */
  readonly channelOptions?: Partial<ClientOptions>;
  /** TLS and credentials for a server that has them on. Default: plain text, no credentials. */
  readonly security?: SecurityOptions;
}

/**
 * grpc-js channel options for a reconnect back-off. In grpc-js a subchannel that fails to connect
 * waits out its back-off in TRANSIENT_FAILURE before the next attempt, and every call made
 * meanwhile fails at once with UNAVAILABLE ("No connection established"): however often the SDK
 * retries, the channel connects no sooner than its back-off allows. The same two values pace name
 * resolution retries of a host name (the DNS resolver's back-off), and the minimum time between
 * re-resolutions (default 30 s) is held to `maxMs` too, so a server that comes back at a new
 * address is found as soon.
 */
export function reconnectChannelOptions(backoff: ReconnectBackoff): Partial<ClientOptions> {
  return {
    'grpc.initial_reconnect_backoff_ms': backoff.initialMs,
    'grpc.max_reconnect_backoff_ms': backoff.maxMs,
    'grpc.dns_min_time_between_resolutions_ms': backoff.maxMs,
  };
}

/** Keepalive pings so a stream notices a dead server (or a dead network path) within ~30 s. */
const DEFAULT_CHANNEL_OPTIONS: Partial<ClientOptions> = {
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

export class RegistryTransport {
  private readonly client: RegistryServiceClient;
  private readonly deadlineMs: number;
  private readonly callCredentials: CallCredentials | undefined;
  private watchMux: WatchMux | undefined;
  private keepAliveStream: KeepAliveStream | undefined;
  /** The server answered Watch or KeepAlive with UNIMPLEMENTED (it predates them). */
  private watchUnsupported = false;
  private keepAliveUnsupported = false;

  constructor(
    readonly address: string,
    options: RegistryTransportOptions = {},
  ) {
    this.deadlineMs = options.deadlineMs ?? 5_000;
    const channel = channelCredentialsOf(options.security);
    const security = options.security;
    this.callCredentials = security !== undefined && CallCredentials.needed(security) ? new CallCredentials(security, address, channel, this.deadlineMs) : undefined;
    this.client = new RegistryServiceClient(address, channel, {
      ...DEFAULT_CHANNEL_OPTIONS,
      ...(this.callCredentials === undefined ? {} : { interceptors: [this.callCredentials.interceptor()] }),
      ...(options.reconnectBackoff === undefined ? {} : reconnectChannelOptions(options.reconnectBackoff)),
      ...options.channelOptions,
    });
  }

  register(req: RegisterRequest): Promise<RegisterResponse> {
    return this.unary(this.client.register.bind(this.client), req);
  }
  renew(req: RenewRequest): Promise<RenewResponse> {
    return this.unary(this.client.renew.bind(this.client), req);
  }
  cancel(req: CancelRequest): Promise<CancelResponse> {
    return this.unary(this.client.cancel.bind(this.client), req);
  }
  setStatus(req: SetStatusRequest): Promise<SetStatusResponse> {
    return this.unary(this.client.setStatus.bind(this.client), req);
  }
  deleteStatusOverride(req: DeleteStatusOverrideRequest): Promise<DeleteStatusOverrideResponse> {
    return this.unary(this.client.deleteStatusOverride.bind(this.client), req);
  }
  updateService(req: UpdateServiceRequest): Promise<UpdateServiceResponse> {
    return this.unary(this.client.updateService.bind(this.client), req);
  }
  getInstance(req: GetInstanceRequest): Promise<GetInstanceResponse> {
    return this.unary(this.client.getInstance.bind(this.client), req);
  }
  getService(req: GetServiceRequest): Promise<GetServiceResponse> {
    return this.unary(this.client.getService.bind(this.client), req);
  }
  listServices(req: ListServicesRequest): Promise<ListServicesResponse> {
    return this.unary(this.client.listServices.bind(this.client), req);
  }
  fetchRegistry(req: FetchRegistryRequest): Promise<FetchRegistryResponse> {
    return this.unary(this.client.fetchRegistry.bind(this.client), req);
  }
  fetchDelta(req: FetchDeltaRequest): Promise<FetchDeltaResponse> {
    return this.unary(this.client.fetchDelta.bind(this.client), req);
  }

  /**
   * Subscribe as a cold Observable: each subscription opens one stream; values are ServiceInfo
   * snapshots (the first is the current state); it errors with the call's ServiceError (e.g.
   * UNAVAILABLE when the server shuts down) and completes if the server ends the stream with OK.
   */
  subscribe(req: SubscribeRequest): Observable<ServiceInfo> {
    return new Observable<ServiceInfo>((subscriber) => {
      const call = this.client.subscribe(req);
      let ended = false;
      call.on('data', (msg: { serviceInfo?: ServiceInfo }) => {
        if (msg.serviceInfo !== undefined) subscriber.next(msg.serviceInfo);
      });
      call.on('error', (e: ServiceError) => {
        ended = true;
        subscriber.error(e);
      });
      call.on('end', () => {
        // 'error' follows 'end' for non-OK statuses; complete only after a clean status.
        setImmediate(() => {
          if (!ended) subscriber.complete();
        });
      });
      return () => {
        ended = true;
        call.cancel();
      };
    });
  }

  /**
   * Subscribe with deltas: the same states as `subscribe`, each rebuilt here from the previous one
   * and the delta (DeltaFollower). `resumeFrom`, a state held from an earlier stream, makes the first
   * message a delta from it (or nothing new) when the server still knows it. Errors with DeltaGap
   * or ChecksumMismatch when the stream cannot be followed (subscribe again without resuming).
   */
  subscribeDeltas(req: SubscribeRequest, resumeFrom?: ServiceInfo): Observable<ServiceInfo> {
    const follower = new DeltaFollower(resumeFrom);
    const withDeltas: SubscribeRequest = {
      ...req,
      deltas: true,
      resumeRevision: resumeFrom?.revision ?? 0,
      resumeChecksum: resumeFrom?.checksum ?? '',
    };
    return new Observable<ServiceInfo>((subscriber) => {
      const call = this.client.subscribe(withDeltas);
      let ended = false;
      call.on('data', (msg: SubscribeResponse) => {
        let info: ServiceInfo;
        try {
          info = follower.accept(msg);
        } catch (e) {
          ended = true;
          call.cancel();
          subscriber.error(e);
          return;
        }
        subscriber.next(info);
      });
      call.on('error', (e: ServiceError) => {
        if (ended) return;
        ended = true;
        subscriber.error(e);
      });
      call.on('end', () => {
        setImmediate(() => {
          if (!ended) subscriber.complete();
        });
      });
      return () => {
        ended = true;
        call.cancel();
      };
    });
  }

  /**
   * Follows a service over this server's shared Watch stream (one stream for every followed
   * service). A server older than Watch (UNIMPLEMENTED) is followed with Subscribe instead, with
   * deltas if it has them, from then on.
   */
  follow(req: FollowRequest): Observable<ServiceInfo> {
    const bySubscribe = (): Observable<ServiceInfo> =>
      this.subscribeDeltas({
        namespace: req.namespace,
        group: req.group,
        service: req.service,
        clusters: [...req.clusters],
        healthyOnly: req.healthyOnly,
        deltas: true,
        resumeRevision: 0,
        resumeChecksum: '',
        view: req.view ?? InstanceView.INSTANCE_VIEW_UNSPECIFIED,
      });
    if (this.watchUnsupported) return bySubscribe();
    this.watchMux ??= new WatchMux(() => this.client.watch());
    return this.watchMux.follow(req).pipe(
      catchError((e: unknown) => {
        if (!isUnimplemented(e)) return throwError(() => e);
        this.watchUnsupported = true;
        return bySubscribe();
      }),
    );
  }

  /**
   * Renews over this server's shared KeepAlive stream; rejects like `renew` (NOT_FOUND: register
   * again). A server older than KeepAlive (UNIMPLEMENTED) is renewed with unary Renew from then on.
   */
  async keepAlive(req: RenewRequest): Promise<RenewResponse> {
    if (this.keepAliveUnsupported) return this.renew(req);
    this.keepAliveStream ??= new KeepAliveStream(() => this.client.keepAlive(), this.deadlineMs);
    try {
      return await this.keepAliveStream.renew(req);
    } catch (e) {
      if (!isUnimplemented(e)) throw e;
      this.keepAliveUnsupported = true;
      return this.renew(req);
    }
  }

  /** The Watch stream's counters (zeros before the first follow). */
  watchStats(): { open: number; resyncs: number; resumes: number } {
    return this.watchMux?.stats() ?? { open: 0, resyncs: 0, resumes: 0 };
  }

  /** Closes the channel; pending calls fail with CANCELLED. Idempotent. */
  close(): void {
    this.watchMux?.close();
    this.keepAliveStream?.close();
    this.client.close();
    this.callCredentials?.close();
  }

  private unary<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(req, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  }
}
