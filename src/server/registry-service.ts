/**
 * herald.v1.RegistryService handlers: decode with the codec, call the registry (or open a
 * subscriber stream, which push owns), encode, and map errors through the one table. No registry
 * rules live here.
 */
import {
  status as GrpcStatus,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { RegistryError } from '../core/errors.js';
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
import {
  changeToWire,
  instanceToWire,
  registerRequestToInput,
  serviceInfoToWire,
  summaryToWire,
  type SnapshotFrames,
} from './grpc-codec.js';
import { statusFromWire } from '../common/wire-status.js';
import { grpcError, toGrpcError } from './grpc-errors.js';

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
  /** The server's encode-once snapshot frames (pulls share them with pushes). */
  readonly frames: SnapshotFrames;
  readonly logger: Logger;
  readonly onPull?: PullListener;
}

function unary<Req, Res>(deps: RegistryServiceDeps, method: string, fn: (req: Req, peer: string) => Res): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let res: Res;
    try {
      res = fn(call.request, call.getPeer());
    } catch (e) {
      callback(toGrpcError(e, deps.logger, method));
      return;
    }
    callback(null, res);
  };
}

const SHUTTING_DOWN = grpcError(GrpcStatus.UNAVAILABLE, 'server is shutting down');

export function registryServiceHandlers(deps: RegistryServiceDeps): UntypedServiceImplementation {
  const { registry } = deps;

  /** Adapts a Subscribe call to a subscriber stream: its writes, its end, and an AbortSignal for its end. */
  const subscribe: handleServerStreamingCall<SubscribeRequest, Buffer> = (call) => {
    const req = call.request;
    const ended = new AbortController();
    const abort = (): void => {
      ended.abort();
    };
    for (const event of ['cancelled', 'close', 'finish', 'error']) call.on(event, abort);
    try {
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
      );
      if (refused !== undefined) {
        call.emit('error', grpcError(GrpcStatus.RESOURCE_EXHAUSTED, refused.message));
      }
    } catch (e) {
      call.emit('error', toGrpcError(e, deps.logger, 'Subscribe'));
    }
  };

  const handlers = {
    register: unary(deps, 'Register', (req: RegisterRequest): RegisterResponse => {
      const { record, lastRenewalMs } = registry.register(registerRequestToInput(req));
      return { instance: instanceToWire(record, lastRenewalMs, 'full') };
    }),
    renew: unary(deps, 'Renew', (req: RenewRequest): RenewResponse => {
      const r = registry.renew(req);
      return { leaseExpiresAt: r.leaseExpiresAt, renewalIntervalMs: r.renewalIntervalMs };
    }),
    cancel: unary(deps, 'Cancel', (req: CancelRequest): CancelResponse => ({ instance: instanceToWire(registry.cancel(req)) })),
    setStatus: unary(deps, 'SetStatus', (req: SetStatusRequest): SetStatusResponse => {
      const record = registry.setStatus({ ...req, status: statusFromWire(req.status) });
      return { instance: instanceToWire(record) };
    }),
    deleteStatusOverride: unary(deps, 'DeleteStatusOverride', (req: DeleteStatusOverrideRequest): DeleteStatusOverrideResponse => {
      const record = registry.deleteStatusOverride({ ...req, status: statusFromWire(req.status) });
      return { instance: instanceToWire(record) };
    }),
    updateService: unary(deps, 'UpdateService', (req: UpdateServiceRequest): UpdateServiceResponse => ({
      service: summaryToWire(registry.updateService(req)),
    })),
    getInstance: unary(deps, 'GetInstance', (req: GetInstanceRequest): GetInstanceResponse => {
      const { record, lastRenewalMs } = registry.getInstance(req);
      return { instance: instanceToWire(record, lastRenewalMs, 'full') };
    }),
    getService: unary(deps, 'GetService', (req: GetServiceRequest, peer: string): Buffer => {
      if (req.udpPort > 65_535) {
        throw RegistryError.invalid([{ field: 'udp_port', description: `udp_port must be between 0 and 65535 (got ${req.udpPort})` }]);
      }
      const view = registry.query(req, { clusters: req.clusters, healthyOnly: req.healthyOnly });
      if (req.udpPort !== 0) deps.onPull?.(view, peer, req.udpPort);
      return deps.frames.frame(view);
    }),
    listServices: unary(deps, 'ListServices', (req: ListServicesRequest): ListServicesResponse => {
      const page = registry.listServices(req);
      return { services: page.services.map(summaryToWire), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
    }),
    fetchRegistry: unary(deps, 'FetchRegistry', (req: FetchRegistryRequest): FetchRegistryResponse => {
      const r = registry.fetchRegistry(req.namespace);
      return { services: r.services.map(serviceInfoToWire), reconcileHash: r.reconcileHash };
    }),
    fetchDelta: unary(deps, 'FetchDelta', (req: FetchDeltaRequest): FetchDeltaResponse => {
      const r = registry.fetchDelta(req.namespace);
      return { changes: r.changes.map(changeToWire), reconcileHash: r.reconcileHash, retentionMs: r.retentionMs };
    }),
    subscribe,
  };
  return handlers;
}
