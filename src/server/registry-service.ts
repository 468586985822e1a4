/**
 * herald.v1.RegistryService handlers: decode with the codec, call the registry or the push hub,
 * encode, and map errors through the one table. No registry rules live here.
 */
import {
  status as GrpcStatus,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { RegistryError } from '../core/errors.js';
import type { Registry } from '../core/registry.js';
import type { ServiceView } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { PushHub } from '../push/push-hub.js';
import { LatestWinsSink } from '../push/latest-wins-sink.js';
import { SnapshotTarget } from '../push/snapshot-target.js';
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
  snapshotFrame,
  summaryToWire,
} from './grpc-codec.js';
import { statusFromWire } from '../common/wire-status.js';
import { grpcError, toGrpcError } from './grpc-errors.js';

/** A pull that asked for UDP pushes (GetService with udp_port): the hook of the UDP push mode. */
export type PullListener = (view: ServiceView, peer: string, udpPort: number) => void;

export interface RegistryServiceDeps {
  readonly registry: Registry;
  readonly hub: PushHub;
  readonly logger: Logger;
  /** Messages a subscriber may have unflushed before newer snapshots replace pending ones. */
  readonly maxPushesInFlight: number;
  /** Open Subscribe streams and their sinks; the server ends them with UNAVAILABLE on shutdown. */
  readonly streams: Map<ServerWritableStream<SubscribeRequest, Buffer>, LatestWinsSink<Buffer>>;
  /** Most open Subscribe streams, in all and on one connection; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxSubscribeStreams: number;
  readonly maxSubscribeStreamsPerConnection: number;
  /** Told of each refused Subscribe (which limit it hit). */
  readonly onSubscribeRefused?: (limit: 'server' | 'connection') => void;
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

export function registryServiceHandlers(deps: RegistryServiceDeps): UntypedServiceImplementation {
  const { registry } = deps;

  /** Open Subscribe streams per connection (grpc-js names a connection by its peer, `ip:port`). */
  const perConnection = new Map<string, number>();

  /** Why a new Subscribe on `peer` must be refused, or undefined if it fits within the limits. */
  const refusal = (peer: string): { limit: 'server' | 'connection'; message: string } | undefined => {
    if (deps.streams.size >= deps.maxSubscribeStreams) {
      return { limit: 'server', message: `the server already has ${deps.streams.size} Subscribe streams open, its limit; try another server or later` };
    }
    const n = perConnection.get(peer) ?? 0;
    if (n >= deps.maxSubscribeStreamsPerConnection) {
      return { limit: 'connection', message: `this connection already has ${n} Subscribe streams open, the limit per connection` };
    }
    return undefined;
  };

  const subscribe: handleServerStreamingCall<SubscribeRequest, Buffer> = (call) => {
    const req = call.request;
    const peer = call.getPeer();
    const refused = refusal(peer);
    if (refused !== undefined) {
      deps.onSubscribeRefused?.(refused.limit);
      call.emit('error', grpcError(GrpcStatus.RESOURCE_EXHAUSTED, refused.message));
      return;
    }
    const sink = new LatestWinsSink<Buffer>((frame, done) => call.write(frame, done), deps.maxPushesInFlight);
    const target = new SnapshotTarget({ clusters: req.clusters, healthyOnly: req.healthyOnly }, (view) => {
      sink.offer(snapshotFrame(view));
    });
    let unsubscribe: () => void;
    try {
      unsubscribe = deps.hub.subscribe(req, target);
    } catch (e) {
      call.emit('error', toGrpcError(e, deps.logger, 'Subscribe'));
      return;
    }
    deps.streams.set(call, sink);
    perConnection.set(peer, (perConnection.get(peer) ?? 0) + 1);
    let cleaned = false;
    const cleanup = (): void => {
      if (cleaned) return;
      cleaned = true;
      unsubscribe();
      sink.close();
      deps.streams.delete(call);
      const left = (perConnection.get(peer) ?? 1) - 1;
      if (left > 0) perConnection.set(peer, left);
      else perConnection.delete(peer);
    };
    call.on('cancelled', cleanup);
    call.on('close', cleanup);
    call.on('finish', cleanup);
    call.on('error', cleanup);
  };

  const handlers = {
    register: unary(deps, 'Register', (req: RegisterRequest): RegisterResponse => {
      const { record, lastRenewalMs } = registry.register(registerRequestToInput(req));
      return { instance: instanceToWire(record, lastRenewalMs) };
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
      return { instance: instanceToWire(record, lastRenewalMs) };
    }),
    getService: unary(deps, 'GetService', (req: GetServiceRequest, peer: string): Buffer => {
      if (req.udpPort > 65_535) {
        throw RegistryError.invalid([{ field: 'udp_port', description: `udp_port must be between 0 and 65535 (got ${req.udpPort})` }]);
      }
      const view = registry.query(req, { clusters: req.clusters, healthyOnly: req.healthyOnly });
      if (req.udpPort !== 0) deps.onPull?.(view, peer, req.udpPort);
      return snapshotFrame(view);
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
