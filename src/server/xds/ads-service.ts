/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService, state of the world (groundwork for issue
 * #17). One AdsStream per call keeps, per type URL, the names the client subscribed to and the
 * nonce of the last response. Listeners and clusters are answered when asked (they follow from the
 * name alone); endpoints come from the push hub, so a registry change re-sends the cluster's
 * ClusterLoadAssignment within the hub's merge window. A client that does not read keeps at most the
 * newest assignment per cluster waiting (latest wins), never a queue.
 *
 * Access: the caller is authenticated from its `authorization` metadata when the stream opens, and
 * every resource name it asks for needs read on the namespace the name stands for (the one decision
 * in src/auth); a refusal ends the stream (SotW has no per-resource error).
 *
 * Not yet: incremental xDS, RDS (routes are inline), following auth-file reloads on open streams.
 */
import { status as GrpcStatus, type ServerDuplexStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type { AccessControl } from '../../auth/access-control.js';
import type { Principal } from '../../auth/permissions.js';
import type { Logger } from '../../common/logger.js';
import type { ServiceView } from '../../core/model.js';
import type { PushHub } from '../../push/push-hub.js';
import { AggregatedDiscoveryServiceService, type AggregatedDiscoveryServiceServer } from '../../gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryResponse, type DiscoveryRequest } from '../../gen/xds/envoy/service/discovery/v3/discovery.js';
import type { Any } from '../../gen/xds/google/protobuf/any.js';
import { credentialsOf } from '../grpc-auth.js';
import { grpcError } from '../grpc-errors.js';
import { serviceOfXdsName } from '../../core/service-name.js';
import { clusterResource, endpointsResource, listenerResource, TYPE_URL } from './xds-codec.js';

export interface AdsDeps {
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly access: Pick<AccessControl, 'authenticate' | 'decide'>;
  readonly logger: Logger;
  /** Told of each NACK (a client rejected a response). */
  readonly onNack?: (typeUrl: string) => void;
}

/** Per type URL: what the client asked for and what it was last sent. */
interface TypeState {
  names: ReadonlySet<string>;
  version: number;
  /** Nonce of the last response of this type; '' before the first. */
  nonce: string;
}

type AdsCall = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

class AdsStream {
  private readonly types = new Map<string, TypeState>();
  /** EDS subscriptions to the hub, by cluster name. */
  private readonly subscriptions = new Map<string, () => void>();
  /** Assignments waiting for the stream to drain, newest per cluster. */
  private readonly pending = new Map<string, ServiceView>();
  private writable = true;
  private nonces = 0;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly call: AdsCall,
    private readonly deps: AdsDeps,
    private readonly principal: Principal,
    private readonly onClosed: () => void,
  ) {
    this.logger = deps.logger.child({ transport: 'xds', peer: call.getPeer() });
    call.on('data', (req: DiscoveryRequest) => {
      this.onRequest(req);
    });
    call.on('drain', () => {
      this.onDrain();
    });
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('cancelled', () => {
      this.close();
    });
    call.on('error', () => {
      this.close();
    });
  }

  private state(typeUrl: string): TypeState {
    let s = this.types.get(typeUrl);
    if (s === undefined) this.types.set(typeUrl, (s = { names: new Set(), version: 0, nonce: '' }));
    return s;
  }

  private onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    const typeUrl = req.typeUrl;
    const s = this.state(typeUrl);
    const nonce = req.responseNonce;
    // A request answering an older response than the last one sent is stale: the newer one is on its way.
    if (nonce !== '' && nonce !== s.nonce) return;
    if (req.errorDetail !== undefined) {
      this.deps.onNack?.(typeUrl);
      this.logger.warn({ typeUrl, version: req.versionInfo, node: req.node?.id, error: req.errorDetail.message }, 'xds: client rejected a response (NACK)');
    }
    const names = new Set(req.resourceNames);
    for (const name of names) {
      // A name that is no herald service is answered as a resource that does not exist: nothing to admit.
      const ref = serviceOfXdsName(name);
      if (ref === undefined) continue;
      const d = this.deps.access.decide(this.principal, 'read', ref.namespace);
      if (!d.allowed) {
        this.close();
        this.call.emit('error', grpcError(d.authenticated ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED, d.message));
        return;
      }
    }
    // An ACK or NACK of the current subscription: nothing new to send.
    if (s.nonce !== '' && sameSet(names, s.names)) return;
    s.names = names;
    switch (typeUrl) {
      case TYPE_URL.listener:
        // SotW: a listener or cluster left out of the response does not exist (the client fails its calls with that).
        this.send(typeUrl, [...names].filter(isServiceName).map(listenerResource));
        break;
      case TYPE_URL.cluster:
        this.send(typeUrl, [...names].filter(isServiceName).map(clusterResource));
        break;
      case TYPE_URL.endpoints:
        this.resubscribe(names);
        break;
      default:
        // Types not served (RDS: routes are inline) get an empty answer, so the client stops waiting.
        this.send(typeUrl, []);
    }
  }

  /** Follows the hub for exactly `names`; each new subscription delivers (and sends) its first view. */
  private resubscribe(names: ReadonlySet<string>): void {
    for (const [name, unsubscribe] of this.subscriptions) {
      if (names.has(name)) continue;
      unsubscribe();
      this.subscriptions.delete(name);
      this.pending.delete(name);
    }
    for (const name of names) {
      if (this.subscriptions.has(name)) continue;
      const ref = serviceOfXdsName(name);
      try {
        if (ref === undefined) throw new Error(`"${name}" is not service, group@@service or namespace@@group@@service`);
        const unsubscribe = this.deps.hub.subscribe(ref, {
          filter: { healthyOnly: true },
          deliver: (view) => {
            this.sendEndpoints(name, view);
          },
        });
        this.subscriptions.set(name, unsubscribe);
      } catch (e) {
        // A name the registry rejects: the client is told there is no such cluster (no endpoints).
        this.logger.warn({ err: e, cluster: name }, 'xds: cannot follow cluster');
        this.send(TYPE_URL.endpoints, [endpointsResource(name, [])]);
      }
    }
  }

  private sendEndpoints(name: string, view: ServiceView): void {
    if (this.closed) return;
    if (!this.writable) {
      this.pending.set(name, view);
      return;
    }
    this.send(TYPE_URL.endpoints, [endpointsResource(name, view.hosts)]);
  }

  private onDrain(): void {
    this.writable = true;
    // Once the stream fills again, sendEndpoints puts the rest back (still the newest per cluster).
    for (const [name, view] of [...this.pending]) {
      this.pending.delete(name);
      this.sendEndpoints(name, view);
    }
  }

  private send(typeUrl: string, resources: Any[]): void {
    const s = this.state(typeUrl);
    s.version++;
    s.nonce = String(++this.nonces);
    this.writable = this.call.write(DiscoveryResponse.fromPartial({ versionInfo: String(s.version), resources, typeUrl, nonce: s.nonce }));
  }

  /** Ends the call with `status` (shutdown) and releases the stream. */
  end(status: Partial<ServiceError>): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', status);
  }

  /** Releases the hub subscriptions. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
    this.pending.clear();
  }
}

function isServiceName(name: string): boolean {
  return serviceOfXdsName(name) !== undefined;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** envoy.service.discovery.v3.AggregatedDiscoveryService, as generated from Envoy's protos. */
export function adsDefinition(): ServiceDefinition {
  return AggregatedDiscoveryServiceService;
}

export interface AdsServer {
  /** SotW streams; the incremental (delta) protocol is UNIMPLEMENTED. */
  readonly handlers: AggregatedDiscoveryServiceServer;
  /** Ends every open stream with UNAVAILABLE, so a graceful shutdown need not wait for them. Idempotent. */
  endAll(): void;
}

const SHUTTING_DOWN = grpcError(GrpcStatus.UNAVAILABLE, 'server is shutting down');

/** The ADS service over `deps`, and the owner of its open streams. */
export function createAdsServer(deps: AdsDeps): AdsServer {
  const open = new Set<AdsStream>();
  const handlers: AggregatedDiscoveryServiceServer = {
    streamAggregatedResources: (call) => {
      // Requests that arrive meanwhile wait in the stream (no 'data' listener yet).
      deps.access.authenticate(credentialsOf(call.metadata)).then(
        (who) => {
          if (who.ok) {
            const stream: AdsStream = new AdsStream(call, deps, who.principal, () => open.delete(stream));
            open.add(stream);
          } else {
            call.emit('error', grpcError(GrpcStatus.UNAUTHENTICATED, who.message));
          }
        },
        (e: unknown) => {
          call.emit('error', grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`));
        },
      );
    },
    deltaAggregatedResources: (call) => {
      call.emit('error', grpcError(GrpcStatus.UNIMPLEMENTED, 'incremental xDS is not served; use the state-of-the-world stream'));
    },
  };
  return {
    handlers,
    endAll: () => {
      for (const stream of [...open]) stream.end(SHUTTING_DOWN);
    },
  };
}
