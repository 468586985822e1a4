/**
 * herald.v1.PeerService and herald.v1.ClusterService handlers: a peer's batches applied as
 * replications (so they are never replicated again), the registry dump for a starting peer, and
 * checksums and service state for anti-entropy. PeerService calls must carry the cluster secret
 * when one is configured (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { status as GrpcStatus, type handleServerStreamingCall, type handleUnaryCall, type Metadata, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { RegistryError } from '../core/errors.js';
import { registrationOf, type Registry } from '../core/registry.js';
import { configuredServices, exportInstances, serviceChecksums, serviceState } from '../core/replica-state.js';
import { normalizeServiceRef } from '../core/validate.js';
import type { Logger } from '../common/logger.js';
import { statusFromWire } from '../common/wire-status.js';
import { grpcError } from './grpc-errors.js';
import { CLUSTER_SECRET_HEADER } from '../cluster/peer-link.js';
import { replicatedFromWire, replicatedToWire } from '../cluster/peer-codec.js';
import { taskRef } from '../cluster/replication-tasks.js';
import type { PeerView } from '../cluster/cluster.js';
import {
  ReplicationAction,
  ReplicationOutcome,
  PeerState,
  type FetchServicesRequest,
  type FetchServicesResponse,
  type GetClusterStatusResponse,
  type ListChecksumsRequest,
  type ListChecksumsResponse,
  type ReplicateRequest,
  type ReplicateResponse,
  type ReplicationResult,
  type ReplicationTask,
  type SyncRegistryRequest,
  type SyncRegistryResponse,
} from '../gen/herald/v1/peer_service.js';

const SYNC_CHUNK = 500;
const MAX_FETCH = 1_000;

export interface PeerServiceDeps {
  readonly registry: Registry;
  /** This node's id (read per call: it is known once the cluster starts). */
  readonly nodeId: () => string;
  readonly secret: string | undefined;
  readonly logger: Logger;
  readonly clusterStatus: () => { synced: boolean; peers: readonly PeerView[] };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the call carries the configured secret (or none is configured). */
function authorized(secret: string | undefined, md: Metadata): boolean {
  if (secret === undefined) return true;
  const given = md.get(CLUSTER_SECRET_HEADER)[0];
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(secret));
}

const UNAUTHENTICATED = grpcError(GrpcStatus.UNAUTHENTICATED, `missing or wrong cluster secret (${CLUSTER_SECRET_HEADER})`);

function apply(registry: Registry, task: ReplicationTask, logger: Logger): ReplicationResult {
  const ref = taskRef(task);
  const ok: ReplicationResult = { outcome: ReplicationOutcome.REPLICATION_OUTCOME_OK, message: '', serverCopy: undefined };
  const ctx = { replication: true };
  try {
    switch (task.action) {
      case ReplicationAction.REPLICATION_ACTION_REGISTER: {
        const parsed = task.target === undefined ? undefined : replicatedFromWire(task.target);
        if (parsed === undefined) return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, message: 'target.instance is required', serverCopy: undefined };
        registry.register(registrationOf(parsed.address, parsed.state), ctx);
        return ok;
      }
      case ReplicationAction.REPLICATION_ACTION_HEARTBEAT:
        registry.renew({ ...ref, lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
        return ok;
      case ReplicationAction.REPLICATION_ACTION_CANCEL:
        registry.cancel(ref, ctx);
        return ok;
      case ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE:
        registry.setStatus({ ...ref, status: statusFromWire(task.status), lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
        return ok;
      case ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE:
        registry.deleteStatusOverride({ ...ref, status: statusFromWire(task.status) }, ctx);
        return ok;
      default:
        return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, message: `unknown action ${String(task.action)}`, serverCopy: undefined };
    }
  } catch (e) {
    if (e instanceof RegistryError) {
      if (e.code === 'NOT_FOUND') return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND, message: e.message, serverCopy: undefined };
      if (e.code === 'CONFLICT' && e.serverCopy !== undefined) {
        return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT, message: e.message, serverCopy: replicatedToWire(ref, e.serverCopy) };
      }
      return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, message: e.message, serverCopy: undefined };
    }
    logger.error({ err: e, action: task.action }, 'unexpected error applying a replication');
    return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, message: 'internal error', serverCopy: undefined };
  }
}

export function peerServiceHandlers(deps: PeerServiceDeps): UntypedServiceImplementation {
  const { registry, secret, logger } = deps;

  const replicate: handleUnaryCall<ReplicateRequest, ReplicateResponse> = (call, callback) => {
    if (!authorized(secret, call.metadata)) {
      callback(UNAUTHENTICATED);
      return;
    }
    callback(null, { nodeId: deps.nodeId(), results: call.request.tasks.map((t) => apply(registry, t, logger)) });
  };

  const syncRegistry: handleServerStreamingCall<SyncRegistryRequest, SyncRegistryResponse> = (call) => {
    if (!authorized(secret, call.metadata)) {
      call.emit('error', UNAUTHENTICATED);
      return;
    }
    const nodeId = deps.nodeId();
    void (async () => {
      let chunk: SyncRegistryResponse = { nodeId, instances: [], services: configuredServices(registry).map((s) => ({ ...s, metadata: { ...s.metadata } })) };
      for (const i of exportInstances(registry)) {
        chunk.instances.push(replicatedToWire(i, i.record));
        if (chunk.instances.length >= SYNC_CHUNK) {
          if (!call.write(chunk)) await once(call, 'drain');
          chunk = { nodeId, instances: [], services: [] };
        }
        if (call.cancelled) return;
      }
      call.write(chunk);
      call.end();
    })().catch((e: unknown) => {
      logger.warn({ err: e }, 'sync stream failed');
    });
  };

  const listChecksums: handleUnaryCall<ListChecksumsRequest, ListChecksumsResponse> = (call, callback) => {
    if (!authorized(secret, call.metadata)) {
      callback(UNAUTHENTICATED);
      return;
    }
    callback(null, { nodeId: deps.nodeId(), services: serviceChecksums(registry) });
  };

  const fetchServices: handleUnaryCall<FetchServicesRequest, FetchServicesResponse> = (call, callback) => {
    if (!authorized(secret, call.metadata)) {
      callback(UNAUTHENTICATED);
      return;
    }
    if (call.request.services.length > MAX_FETCH) {
      callback(grpcError(GrpcStatus.INVALID_ARGUMENT, `services: at most ${MAX_FETCH} per call`));
      return;
    }
    try {
      callback(null, {
        nodeId: deps.nodeId(),
        services: call.request.services.map((r) => {
          const ref = normalizeServiceRef(r, registry.options);
          const state = serviceState(registry, ref);
          return {
            service: { namespace: ref.namespace, group: ref.group, service: ref.service },
            instances: state.instances.map((rec) => replicatedToWire(ref, rec)),
            deleted: state.deleted,
          };
        }),
      });
    } catch (e) {
      callback(e instanceof RegistryError ? grpcError(GrpcStatus.INVALID_ARGUMENT, e.message) : grpcError(GrpcStatus.INTERNAL, 'internal error'));
    }
  };

  return { replicate, syncRegistry, listChecksums, fetchServices };
}

export function clusterServiceHandlers(deps: PeerServiceDeps): UntypedServiceImplementation {
  const getClusterStatus: handleUnaryCall<unknown, GetClusterStatusResponse> = (_call, callback) => {
    const { synced, peers } = deps.clusterStatus();
    callback(null, {
      nodeId: deps.nodeId(),
      synced,
      peers: peers.map((p) => ({
        address: p.address,
        nodeId: p.nodeId,
        state: p.state === 'up' ? PeerState.PEER_STATE_UP : p.state === 'down' ? PeerState.PEER_STATE_DOWN : PeerState.PEER_STATE_UNSPECIFIED,
        queueDepth: p.queueDepth + p.inFlight,
        lastSuccessAt: p.lastSuccessAt,
        failures: p.failures,
        replicatedTasks: p.delivered,
        droppedTasks: p.dropped,
        lastError: p.state === 'down' ? p.lastError : '',
      })),
    });
  };
  return { getClusterStatus };
}

