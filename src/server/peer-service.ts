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
import { registrationOf, type HeartbeatResult, type Registry, type ReplicaResult, type TombstoneResult } from '../core/registry.js';
import type { InstanceRef } from '../core/model.js';
import { configuredServices } from '../core/replica-state.js';
import { normalizeServiceRef } from '../core/validate.js';
import type { Logger } from '../common/logger.js';
import { statusFromWire } from '../common/wire-status.js';
import { grpcError } from './grpc-errors.js';
import { CLUSTER_SECRET_HEADER } from '../cluster/peer-link.js';
import { instanceTombstoneToWire, replicaEntryToWire, replicatedFromWire, replicatedToWire, tombstoneFromWire, tombstoneToWire } from '../cluster/peer-codec.js';
import { taskRef } from '../cluster/replication-tasks.js';
import type { PeerView } from '../cluster/cluster.js';
import type { NodeStatus } from './node-status.js';
import type { EvictionOutcome as EvictionOutcomeName } from './eviction-loop.js';
import {
  ReplicationAction,
  ReplicationOutcome,
  PeerState,
  type FetchServicesRequest,
  type FetchServicesResponse,
  type GetClusterStatusResponse,
  type GetNodeStatusResponse,
  EvictionOutcome,
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
  readonly nodeStatus: () => NodeStatus;
  /** A peer with this node id called (it is reachable again). */
  readonly onPeerContact?: (nodeId: string) => void;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the call carries the configured secret (or none is configured). */
function authorized(secret: string | undefined, md: Metadata): boolean {
  if (secret === undefined) return true;
  const given = md.get(CLUSTER_SECRET_HEADER)[0];
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(secret));
}

const UNAUTHENTICATED = grpcError(GrpcStatus.UNAUTHENTICATED, `missing or wrong cluster secret (${CLUSTER_SECRET_HEADER})`);

const OK: ReplicationResult = { outcome: ReplicationOutcome.REPLICATION_OUTCOME_OK, message: '', serverCopy: undefined, tombstone: undefined };

function result(outcome: ReplicationOutcome, message: string): ReplicationResult {
  return { outcome, message, serverCopy: undefined, tombstone: undefined };
}

/** What a merge decided, as the answer to the sender (see replica-rules.ts). */
function mergeAnswer(ref: InstanceRef, r: ReplicaResult | TombstoneResult | HeartbeatResult): ReplicationResult {
  switch (r.kind) {
    case 'newer-here':
      return { ...result(ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT, 'a newer write is held here'), serverCopy: replicatedToWire(ref, r.record, r.lastRenewalMs) };
    case 'deleted':
      return { ...result(ReplicationOutcome.REPLICATION_OUTCOME_DELETED, 'a newer cancel is held here'), tombstone: tombstoneToWire(r.tombstone) };
    case 'unknown':
      return result(ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND, 'not registered here (or an older write): send the record');
    case 'expired':
      return result(ReplicationOutcome.REPLICATION_OUTCOME_OK, 'ignored: its lease had run out');
    default:
      return OK;
  }
}

/** Applies one task: by write version when it carries one, else as an older node's plain write. */
function apply(registry: Registry, task: ReplicationTask, logger: Logger): ReplicationResult {
  const ref = taskRef(task);
  const ctx = { replication: true };
  try {
    switch (task.action) {
      case ReplicationAction.REPLICATION_ACTION_REGISTER:
      case ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE:
      case ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE: {
        const parsed = task.target === undefined ? undefined : replicatedFromWire(task.target);
        if (parsed !== undefined && parsed.state.version > 0) return mergeAnswer(ref, registry.applyReplica(parsed.address, parsed.state, parsed.lastRenewalMs));
        if (task.action === ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE) {
          registry.setStatus({ ...ref, status: statusFromWire(task.status), lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
          return OK;
        }
        if (task.action === ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE) {
          registry.deleteStatusOverride({ ...ref, status: statusFromWire(task.status) }, ctx);
          return OK;
        }
        if (parsed === undefined) return result(ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, 'target.instance is required');
        registry.register(registrationOf(parsed.address, parsed.state), ctx);
        return OK;
      }
      case ReplicationAction.REPLICATION_ACTION_HEARTBEAT:
        if (task.version > 0) return mergeAnswer(ref, registry.renewReplica(ref, task.version, task.target?.instance?.lease?.lastRenewalTimestamp ?? 0));
        registry.renew({ ...ref, lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
        return OK;
      case ReplicationAction.REPLICATION_ACTION_CANCEL:
        if (task.tombstone !== undefined && task.tombstone.version > 0) {
          return mergeAnswer(ref, registry.applyTombstone(tombstoneFromWire(ref, { ...task.tombstone, instanceId: ref.instanceId })));
        }
        registry.cancel(ref, ctx);
        return OK;
      default:
        return result(ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, `unknown action ${String(task.action)}`);
    }
  } catch (e) {
    if (e instanceof RegistryError) {
      if (e.code === 'NOT_FOUND') return result(ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND, e.message);
      if (e.code === 'CONFLICT' && e.serverCopy !== undefined) {
        return { ...result(ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT, e.message), serverCopy: replicatedToWire(ref, e.serverCopy) };
      }
      return result(ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, e.message);
    }
    logger.error({ err: e, action: task.action }, 'unexpected error applying a replication');
    return result(ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, 'internal error');
  }
}

export function peerServiceHandlers(deps: PeerServiceDeps): UntypedServiceImplementation {
  const { registry, secret, logger } = deps;

  const replicate: handleUnaryCall<ReplicateRequest, ReplicateResponse> = (call, callback) => {
    if (!authorized(secret, call.metadata)) {
      callback(UNAUTHENTICATED);
      return;
    }
    deps.onPeerContact?.(call.request.nodeId);
    callback(null, { nodeId: deps.nodeId(), results: call.request.tasks.map((t) => apply(registry, t, logger)) });
  };

  const syncRegistry: handleServerStreamingCall<SyncRegistryRequest, SyncRegistryResponse> = (call) => {
    if (!authorized(secret, call.metadata)) {
      call.emit('error', UNAUTHENTICATED);
      return;
    }
    const nodeId = deps.nodeId();
    void (async () => {
      // Tombstones first, so the starting node refuses older copies still on their way to it.
      let chunk: SyncRegistryResponse = {
        nodeId,
        instances: [],
        services: configuredServices(registry).map((s) => ({ ...s, metadata: { ...s.metadata } })),
        tombstones: registry.tombstoneList().map(instanceTombstoneToWire),
      };
      for (const e of registry.replicaEntries()) {
        chunk.instances.push(replicaEntryToWire(e));
        if (chunk.instances.length >= SYNC_CHUNK) {
          if (!call.write(chunk)) await once(call, 'drain');
          chunk = { nodeId, instances: [], services: [], tombstones: [] };
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
    deps.onPeerContact?.(call.request.nodeId);
    callback(null, { nodeId: deps.nodeId(), services: registry.replicaDigests().map((d) => ({ namespace: d.namespace, group: d.group, service: d.service, checksum: d.digest })) });
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
          const state = registry.replicaOf(ref);
          return {
            service: { namespace: ref.namespace, group: ref.group, service: ref.service },
            instances: state.entries.map(replicaEntryToWire),
            deleted: state.tombstones.map(tombstoneToWire),
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
  const getNodeStatus: handleUnaryCall<unknown, GetNodeStatusResponse> = (_call, callback) => {
    callback(null, nodeStatusToWire(deps.nodeStatus()));
  };
  return { getClusterStatus, getNodeStatus };
}

const OUTCOME_TO_WIRE: Readonly<Record<EvictionOutcomeName, EvictionOutcome>> = {
  evicted: EvictionOutcome.EVICTION_OUTCOME_EVICTED,
  'nothing-expired': EvictionOutcome.EVICTION_OUTCOME_NOTHING_EXPIRED,
  'self-preservation': EvictionOutcome.EVICTION_OUTCOME_SELF_PRESERVATION,
  capped: EvictionOutcome.EVICTION_OUTCOME_CAPPED,
};

function nodeStatusToWire(s: NodeStatus): GetNodeStatusResponse {
  const e = s.lastEviction;
  return {
    nodeId: s.nodeId,
    now: s.now,
    namespaces: s.namespaces,
    services: s.services,
    instances: s.instances,
    selfPreservation: { ...s.selfPreservation },
    lastEviction:
      e === undefined
        ? { at: 0, expired: 0, evicted: 0, outcome: EvictionOutcome.EVICTION_OUTCOME_UNSPECIFIED, reason: 'not run yet' }
        : { at: e.at, expired: e.expired, evicted: e.evicted, outcome: OUTCOME_TO_WIRE[e.outcome], reason: e.reason },
    evictionIntervalMs: s.evictionIntervalMs,
    evictedTotal: s.evictedTotal,
    tombstones: s.tombstones,
    tombstonesDropped: s.tombstonesDropped,
    subscribers: s.subscribers,
  };
}

