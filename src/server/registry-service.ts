/**
 * herald.v1.RegistryService handlers: decode with the codec, call the registry (or open a
 * subscriber stream, which push owns), encode, and map errors through the one table. No registry
 * rules live here. Watch and KeepAlive, the two client streams, have their own files.
 */
import { status as GrpcStatus, type handleServerStreamingCall, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { Permission } from '../auth/permissions.js';
import { RegistryError } from '../core/errors.js';
import { InstanceView } from '../gen/herald/v1/model.js';
import type { Actor } from '../core/model.js';
import type { Registry } from '../core/registry.js';
import type { ServiceView } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { SubscriberStreams } from '../push/subscriber-streams.js';
import type {
  CancelRequest,
  CancelResponse,
  DeleteStatusOverrideRequest,
  DeleteStatusOverrideResponse,
  FetchDeltaRequest,
  FetchDeltaResponse,
  FetchRegistryRequest,
  FetchRegistryResponse,
  GetInstanceRequest,
  GetInstanceResponse,
  GetServiceRequest,
  ListServicesRequest,
  ListServicesResponse,
  RegisterRequest,
  RegisterResponse,
  RenewRequest,
  RenewResponse,
  SetStatusRequest,
  SetStatusResponse,
  SubscribeRequest,
  UpdateServiceRequest,
  UpdateServiceResponse,
} from '../gen/herald/v1/registry_service.js';
import { changeToWire, instanceToWire, registerRequestToInput, serviceInfoToWire, summaryToWire, type SnapshotFrames } from './grpc-codec.js';
import { statusFromWire } from '../common/wire-status.js';
import { grpcError, toGrpcError } from './grpc-errors.js';
import { admitted, credentialsOf, namespaceOf, refusal } from './grpc-auth.js';
import { keepAliveHandler } from './keep-alive-call.js';
import type { StreamFrames } from './stream-frames.js';
import { watchHandler } from './watch-call.js';
import { NO_BARRIER, type WriteBarrier } from '../store/write-barrier.js';

/** A pull that asked for UDP pushes (GetService with udp_port): the hook of the UDP push mode. */
export type PullListener = (view: ServiceView, peer: string, udpPort: number) => void;

/** The part of the registry the gRPC API uses. */
export type GrpcRegistry = Pick<
  Registry,
  'register' | 'renew' | 'cancel' | 'setStatus' | 'deleteStatusOverride' | 'updateService' | 'getInstance' | 'query' | 'listServices' | 'fetchRegistry' | 'fetchDelta'
>;

export interface RegistryServiceDeps {
  readonly registry: GrpcRegistry;
  /** The server's subscriber streams (push owns them; this handler only adapts a gRPC stream). */
  readonly streams: SubscriberStreams<Buffer>;
  /** The server's encode-once snapshot frames per instance view (pulls share them with pushes). */
  readonly frames: PerView<SnapshotFrames>;
  /** The frames of delta streams (Subscribe with deltas, Watch) per instance view. */
  readonly streamFrames: PerView<StreamFrames>;
  readonly logger: Logger;
  /** The access decision every call is admitted by. */
  readonly access: AccessControl;
  readonly onPull?: PullListener;
  /** Writes are answered once what they stored is durable; default: no store. */
  readonly barrier?: WriteBarrier;
}

/** One of a thing per InstanceView. */
export interface PerView<T> {
  readonly full: T;
  readonly basic: T;
}

/** The view a request asks for (`field` names it in the error); unset is FULL. */
export function viewOf(view: number, field: string): keyof PerView<unknown> {
  if (view === (InstanceView.INSTANCE_VIEW_BASIC as number)) return 'basic';
  if (view === (InstanceView.INSTANCE_VIEW_FULL as number) || view === (InstanceView.INSTANCE_VIEW_UNSPECIFIED as number)) return 'full';
  throw RegistryError.invalid([{ field, description: `${field} must be INSTANCE_VIEW_FULL or INSTANCE_VIEW_BASIC (got ${view})` }]);
}

/** What a handler knows of its call besides the request. */
interface CallContext {
  readonly peer: string;
  /** Who writes, for the registrant rule (undefined with auth off). */
  readonly actor: Actor | undefined;
}

/** A unary method: admitted by the permission it needs on its request's namespace, then run. */
function unary<Req extends { namespace: string }, Res>(
  deps: RegistryServiceDeps,
  method: string,
  permission: Permission,
  fn: (req: Req, ctx: CallContext) => Res,
): handleUnaryCall<Req, Res> {
  return admitted<Req, Res>(deps.access, { permission, namespace: namespaceOf }, (call, callback, principal) => {
    let res: Res;
    const barrier = deps.barrier ?? NO_BARRIER;
    const before = barrier.issued;
    try {
      const actor = principal === undefined ? undefined : deps.access.actor(principal, namespaceOf(call.request));
      res = fn(call.request, { peer: call.getPeer(), actor });
    } catch (e) {
      callback(toGrpcError(e, deps.logger, method));
      return;
    }
    const issued = barrier.issued;
    if (issued === before) {
      callback(null, res);
      return;
    }
    // The call stored a persistent change: answer once it is on disk.
    barrier.durable(issued).then(
      () => {
        callback(null, res);
      },
      (e: unknown) => {
        callback(toGrpcError(e, deps.logger, method));
      },
    );
  });
}

const SHUTTING_DOWN = grpcError(GrpcStatus.UNAVAILABLE, 'server is shutting down');

export function registryServiceHandlers(deps: RegistryServiceDeps): UntypedServiceImplementation {
  const { registry } = deps;

  /** Adapts a Subscribe call to a subscriber stream: its writes, its end, and an AbortSignal for its end. */
  const open = (call: Parameters<handleServerStreamingCall<SubscribeRequest, Buffer>>[0], ended: AbortController): void => {
    const req = call.request;
    if (req.resumeRevision !== 0 && !req.deltas) {
      call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, 'resume_revision requires deltas'));
      return;
    }
    if (req.resumeRevision !== 0 && req.resumeChecksum === '') {
      call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, 'resume_checksum is required with resume_revision'));
      return;
    }
    try {
      const view = viewOf(req.view, 'view');
      const frames = deps.frames[view];
      const streamFrames = deps.streamFrames[view];
      const refused = deps.streams.subscribe(
        req,
        { clusters: req.clusters, healthyOnly: req.healthyOnly },
        // grpc-js names a client connection by its peer address.
        call.getPeer(),
        {
          write: (frame, done) => call.write(frame, done),
          end: () => call.emit('error', SHUTTING_DOWN),
        },
        ended.signal,
        req.deltas ? { snapshot: (view) => frames.frame(view), delta: (from, to) => streamFrames.subscribeDelta(from, to) } : { snapshot: (view) => frames.frame(view) },
        req.resumeRevision === 0 ? undefined : { revision: req.resumeRevision, checksum: req.resumeChecksum },
      );
      if (refused !== undefined) {
        call.emit('error', grpcError(GrpcStatus.RESOURCE_EXHAUSTED, refused.message));
      }
    } catch (e) {
      call.emit('error', toGrpcError(e, deps.logger, 'Subscribe'));
    }
  };

  /**
   * Subscribe: admitted like a read; with auth on, the caller is checked again whenever the auth
   * file is reloaded, and a stream whose caller lost the right ends with the refusal.
   */
  const subscribe: handleServerStreamingCall<SubscribeRequest, Buffer> = (call) => {
    const ended = new AbortController();
    const abort = (): void => {
      ended.abort();
    };
    for (const event of ['cancelled', 'close', 'finish', 'error']) call.on(event, abort);
    const { access } = deps;
    if (!access.enabled) {
      open(call, ended);
      return;
    }
    const creds = credentialsOf(call.metadata);
    const namespace = namespaceOf(call.request);
    const check = (onAdmitted: () => void): void => {
      access.admit(creds, 'read', namespace).then(
        (a) => {
          if (ended.signal.aborted) return;
          if (a.ok) onAdmitted();
          else call.emit('error', refusal(a));
        },
        (e: unknown) => call.emit('error', toGrpcError(e, deps.logger, 'Subscribe')),
      );
    };
    check(() => {
      const off = access.onReload(() => {
        check(() => undefined);
      });
      ended.signal.addEventListener('abort', off, { once: true });
      open(call, ended);
    });
  };

  const handlers = {
    register: unary(deps, 'Register', 'write', (req: RegisterRequest, { actor }): RegisterResponse => {
      const { record, lastRenewalMs } = registry.register(registerRequestToInput(req), { actor, transport: 'grpc' });
      return { instance: instanceToWire(record, lastRenewalMs, 'full') };
    }),
    renew: unary(deps, 'Renew', 'write', (req: RenewRequest, { actor }): RenewResponse => {
      const r = registry.renew(req, { actor });
      return { leaseExpiresAt: r.leaseExpiresAt, renewalIntervalMs: r.renewalIntervalMs };
    }),
    cancel: unary(deps, 'Cancel', 'write', (req: CancelRequest, { actor }): CancelResponse => ({ instance: instanceToWire(registry.cancel(req, { actor })) })),
    setStatus: unary(deps, 'SetStatus', 'write', (req: SetStatusRequest, { actor }): SetStatusResponse => {
      const record = registry.setStatus({ ...req, status: statusFromWire(req.status) }, { actor });
      return { instance: instanceToWire(record) };
    }),
    deleteStatusOverride: unary(deps, 'DeleteStatusOverride', 'write', (req: DeleteStatusOverrideRequest, { actor }): DeleteStatusOverrideResponse => {
      const record = registry.deleteStatusOverride({ ...req, status: statusFromWire(req.status) }, { actor });
      return { instance: instanceToWire(record) };
    }),
    updateService: unary(deps, 'UpdateService', 'admin', (req: UpdateServiceRequest): UpdateServiceResponse => ({
      service: summaryToWire(registry.updateService(req)),
    })),
    getInstance: unary(deps, 'GetInstance', 'read', (req: GetInstanceRequest): GetInstanceResponse => {
      const { record, lastRenewalMs } = registry.getInstance(req);
      return { instance: instanceToWire(record, lastRenewalMs, 'full') };
    }),
    getService: unary(deps, 'GetService', 'read', (req: GetServiceRequest, { peer }): Buffer => {
      if (req.udpPort > 65_535) {
        throw RegistryError.invalid([{ field: 'udp_port', description: `udp_port must be between 0 and 65535 (got ${req.udpPort})` }]);
      }
      const frames = deps.frames[viewOf(req.view, 'view')];
      const view = registry.query(req, { clusters: req.clusters, healthyOnly: req.healthyOnly });
      if (req.udpPort !== 0) deps.onPull?.(view, peer, req.udpPort);
      return frames.frame(view);
    }),
    listServices: unary(deps, 'ListServices', 'read', (req: ListServicesRequest): ListServicesResponse => {
      const page = registry.listServices(req);
      return { services: page.services.map(summaryToWire), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
    }),
    fetchRegistry: unary(deps, 'FetchRegistry', 'read', (req: FetchRegistryRequest): FetchRegistryResponse => {
      const r = registry.fetchRegistry(req.namespace);
      return { services: r.services.map((v) => serviceInfoToWire(v)), reconcileHash: r.reconcileHash };
    }),
    fetchDelta: unary(deps, 'FetchDelta', 'read', (req: FetchDeltaRequest): FetchDeltaResponse => {
      const r = registry.fetchDelta(req.namespace);
      return { changes: r.changes.map(changeToWire), reconcileHash: r.reconcileHash, retentionMs: r.retentionMs };
    }),
    subscribe,
    watch: watchHandler({ streams: deps.streams, frames: deps.streamFrames, access: deps.access, logger: deps.logger }),
    keepAlive: keepAliveHandler({ registry, access: deps.access, logger: deps.logger }),
  };
  return handlers;
}
