/**
 * One ADS stream (state of the world): per type URL, the names the client subscribed to, the version
 * and nonce of the last response. Listeners and clusters are answered when asked (they follow from
 * the name alone); endpoints come from the push hub, so a registry change re-sends the cluster's
 * ClusterLoadAssignment within the hub's merge window. A client that does not read keeps at most the
 * newest assignment per cluster waiting (latest wins), never a queue.
 *
 * Access: the caller is authenticated from its `authorization` call metadata or, for xDS clients
 * that cannot send call credentials (their bootstrap has no place for them), from the `authorization`
 * field of the node metadata in its first request; again after every reload of the auth file. Every
 * resource name it asks for needs read on the namespace the name stands for (the one decision in
 * src/auth), re-decided after each reload; a refusal ends the stream (SotW has no per-resource error).
 */
import { status as GrpcStatus, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { AccessControl } from '../../auth/access-control.js';
import type { Credentials } from '../../auth/authenticator.js';
import type { Principal } from '../../auth/permissions.js';
import type { Logger } from '../../common/logger.js';
import type { ServiceView } from '../../core/model.js';
import { serviceOfXdsName } from '../../core/service-name.js';
import type { PushHub } from '../../push/push-hub.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../gen/xds/envoy/service/discovery/v3/discovery.js';
import { credentialsFromAuthorization, credentialsOf } from '../grpc-auth.js';
import { grpcError } from '../grpc-errors.js';
import { clusterResource, endpointsBodyOfView, endpointsResource, listenerResource, responseBody, responseFrame, TYPE_URL } from './xds-codec.js';

export interface AdsStreamDeps {
  readonly hub: Pick<PushHub, 'subscribe'>;
  /**
   * Settles once the node serves (its start-up sync from a peer is over). Until then nothing is
   * answered: a node still pulling the registry would send empty assignments, and gRPC clients,
   * unlike herald's SDK, have no empty-push protection; they keep what they had while they wait.
   */
  readonly ready: Promise<void>;
  readonly access: Pick<AccessControl, 'authenticate' | 'decide' | 'onReload'>;
  readonly logger: Logger;
  /** Most resource names one stream may follow per type (each EDS name is a push-hub subscription); more end it with RESOURCE_EXHAUSTED. */
  readonly maxNamesPerType: number;
}

/** The counters behind XdsStats, shared by a server's streams. */
export class XdsCounters {
  readonly responses = new Map<string, number>();
  readonly nacks = new Map<string, number>();
  skipped = 0;
  refused = 0;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Per type URL: what the client asked for and what it was last sent. */
interface TypeState {
  names: ReadonlySet<string>;
  version: number;
  /** Nonce of the last response of this type; '' before the first. */
  nonce: string;
}

export type AdsCall = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class AdsStream {
  private readonly types = new Map<string, TypeState>();
  /** EDS subscriptions to the hub, by cluster name. */
  private readonly subscriptions = new Map<string, () => void>();
  /** Assignments waiting for the stream to drain, newest per cluster. */
  private readonly pending = new Map<string, ServiceView>();
  private writable = true;
  private nonces = 0;
  private closed = false;
  private readonly logger: Logger;
  /** Who the caller is, once authenticated; until then requests wait in `waiting`. */
  private principal: Principal | undefined;
  private waiting: DiscoveryRequest[] | undefined = [];
  private ready = false;
  /** Stops following auth-file reloads. */
  private stopFollowing: (() => void) | undefined;

  constructor(
    private readonly call: AdsCall,
    private readonly deps: AdsStreamDeps,
    private readonly counters: XdsCounters,
    private readonly onClosed: () => void,
  ) {
    this.logger = deps.logger.child({ transport: 'xds', peer: call.getPeer() });
    // Call credentials when the client sends them; otherwise those of the first request's node metadata.
    const fromCall = credentialsOf(call.metadata);
    if (fromCall.kind !== 'none') this.follow(fromCall);
    void deps.ready.then(() => {
      this.ready = true;
      this.answerWaiting();
    });
    call.on('data', (req: DiscoveryRequest) => {
      if (this.waiting === undefined) {
        this.onRequest(req);
        return;
      }
      if (this.stopFollowing === undefined) this.follow(credentialsFromAuthorization(nodeAuthorization(req)));
      this.waiting.push(req);
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

  /** Authenticates `creds` now and after every reload of the auth file. */
  private follow(creds: Credentials): void {
    const check = (): void => {
      this.deps.access.authenticate(creds).then(
        (who) => {
          if (who.ok) this.admitted(who.principal);
          else this.refuse(GrpcStatus.UNAUTHENTICATED, who.message);
        },
        (e: unknown) => {
          this.end(grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`));
        },
      );
    };
    check();
    this.stopFollowing = this.deps.access.onReload(check);
  }

  /** The caller is (still) who it says: re-decide what it follows, then answer what waited (once the node serves). */
  private admitted(principal: Principal): void {
    if (this.closed) return;
    this.principal = principal;
    for (const s of this.types.values()) if (!this.mayRead(s.names)) return;
    this.answerWaiting();
  }

  /** Once the caller is known and the node serves, answers the requests that waited, in order. */
  private answerWaiting(): void {
    if (this.closed || !this.ready || this.principal === undefined || this.waiting === undefined) return;
    const waiting = this.waiting;
    this.waiting = undefined;
    for (const req of waiting) this.onRequest(req);
  }

  /** True when the caller may read every name's namespace; otherwise ends the stream and false. */
  private mayRead(names: Iterable<string>): boolean {
    for (const name of names) {
      // A name that is no herald service is answered as a resource that does not exist: nothing to admit.
      const ref = serviceOfXdsName(name);
      if (ref === undefined || this.principal === undefined) continue;
      const d = this.deps.access.decide(this.principal, 'read', ref.namespace);
      if (!d.allowed) {
        this.refuse(d.authenticated ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED, d.message);
        return false;
      }
    }
    return true;
  }

  private refuse(code: GrpcStatus, message: string): void {
    if (this.closed) return;
    this.counters.refused++;
    this.end(grpcError(code, message));
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
      bump(this.counters.nacks, typeUrl);
      this.logger.warn({ typeUrl, version: req.versionInfo, node: req.node?.id, error: req.errorDetail.message }, 'xds: client rejected a response (NACK)');
    }
    // An ACK or NACK of the current subscription (the common case: every response is ACKed): nothing
    // new to send, and nothing to admit (the names were admitted, and are again after each auth reload).
    if (s.nonce !== '' && sameNames(req.resourceNames, s.names)) return;
    const names = new Set(req.resourceNames);
    if (names.size > this.deps.maxNamesPerType) {
      // Each name followed is a push-hub subscription: bounded, as a Watch stream's watches are.
      this.refuse(GrpcStatus.RESOURCE_EXHAUSTED, `asks for ${names.size} resources of ${typeUrl}, more than the limit of ${this.deps.maxNamesPerType} per stream`);
      return;
    }
    if (!this.mayRead(names)) return;
    s.names = names;
    switch (typeUrl) {
      case TYPE_URL.listener:
        // SotW: a listener or cluster left out of the response does not exist (the client fails its calls with that).
        this.send(typeUrl, responseBody(typeUrl, [...names].filter(isServiceName).map(listenerResource)));
        break;
      case TYPE_URL.cluster:
        this.send(typeUrl, responseBody(typeUrl, [...names].filter(isServiceName).map(clusterResource)));
        break;
      case TYPE_URL.endpoints:
        this.resubscribe(names);
        break;
      default:
        // Types not served (RDS: routes are inline) get an empty answer, so the client stops waiting.
        this.send(typeUrl, responseBody(typeUrl, []));
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
        this.send(TYPE_URL.endpoints, responseBody(TYPE_URL.endpoints, [endpointsResource(name, [])]));
      }
    }
  }

  private sendEndpoints(name: string, view: ServiceView): void {
    if (this.closed) return;
    if (!this.writable) {
      if (this.pending.has(name)) this.counters.skipped++;
      this.pending.set(name, view);
      return;
    }
    this.send(TYPE_URL.endpoints, endpointsBodyOfView(name, view));
  }

  private onDrain(): void {
    this.writable = true;
    // Once the stream fills again, sendEndpoints puts the rest back (still the newest per cluster).
    for (const [name, view] of [...this.pending]) {
      this.pending.delete(name);
      this.sendEndpoints(name, view);
    }
  }

  /** Sends a response of `typeUrl` with `body` (responseBody): this stream's next version and nonce, then the shared bytes. */
  private send(typeUrl: string, body: Buffer): void {
    const s = this.state(typeUrl);
    s.version++;
    s.nonce = String(++this.nonces);
    bump(this.counters.responses, typeUrl);
    // adsDefinition's serializer sends an encoded frame as is.
    this.writable = this.call.write(responseFrame(String(s.version), s.nonce, body) as unknown as DiscoveryResponse);
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
    this.stopFollowing?.();
    this.waiting = undefined;
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
    this.pending.clear();
  }
}

/** The `authorization` field of a request's node metadata (google.protobuf.Struct), if it is a string. */
function nodeAuthorization(req: DiscoveryRequest): string | undefined {
  const v: unknown = req.node?.metadata?.['authorization'];
  return typeof v === 'string' ? v : undefined;
}

function isServiceName(name: string): boolean {
  return serviceOfXdsName(name) !== undefined;
}

/** Whether `names` (a request's list, possibly with repeats) is exactly the set `current`. */
function sameNames(names: readonly string[], current: ReadonlySet<string>): boolean {
  if (names.length < current.size) return false;
  for (const x of names) if (!current.has(x)) return false;
  // Every name is in `current`; with no repeats and equal sizes that is the same set.
  return names.length === current.size || new Set(names).size === current.size;
}
