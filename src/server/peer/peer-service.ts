/**
 * herald.v1.PeerService handlers: a peer's batches applied as replications (never replicated
 * again), the registry dump for a starting peer (tombstones first), and replica digests and
 * service state for anti-entropy. Who may call is decided where the service is added (the cluster
 * secret; see grpc-auth.ts guardService and AccessControl.admitPeer). Decoding and encoding are the peer codec's; what to apply is the
 * cluster's (replica-apply.ts); errors go through the gRPC table.
 */
import { once } from 'node:events';
import { status as GrpcStatus, type handleServerStreamingCall, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Registry } from '../../core/registry.js';
import { configuredServices } from '../../core/replica-state.js';
import { normalizeServiceRef } from '../../core/validate.js';
import type { Logger } from '../../common/logger.js';
import { applyTask, type ReplicaTarget } from '../../cluster/replica-apply.js';
import {
  type FetchServicesRequest,
  type FetchServicesResponse,
  type ListChecksumsRequest,
  type ListChecksumsResponse,
  type ReplicateRequest,
  type ReplicateResponse,
  type SyncRegistryRequest,
  type SyncRegistryResponse,
} from '../../gen/herald/v1/peer_service.js';
import { NO_BARRIER, whenDurable, type WriteBarrier } from '../../store/write-barrier.js';
import { grpcError, toGrpcError } from '../grpc-errors.js';
import { answerToWire, digestToWire, entryToWire, instanceTombstoneToWire, settingsToWire, taskFromWire, tombstoneToWire } from './peer-codec.js';

/** Instances per SyncRegistry message. */
export const SYNC_CHUNK_INSTANCES = 500;
/** Services one FetchServices call may ask for (the contract's limit). */
export const MAX_FETCH_SERVICES = 1_000;

/** The part of the registry peers read and write. */
export type PeerRegistry = ReplicaTarget & Pick<Registry, 'options' | 'replicaDigests' | 'replicaOf' | 'replicaEntries' | 'tombstoneList' | 'listServices' | 'namespaceNames'>;

export interface PeerServiceDeps {
  readonly registry: PeerRegistry;
  /** This node's id (read per call: it is known once the cluster starts). */
  readonly nodeId: () => string;
  readonly logger: Logger;
  /** A peer with this node id called (it is reachable again). */
  readonly onPeerContact?: (nodeId: string) => void;
  /** A batch is answered once what it stored is durable (so a peer's copy is on disk here too); default: no store. */
  readonly barrier?: WriteBarrier;
}

export function peerServiceHandlers(deps: PeerServiceDeps): UntypedServiceImplementation {
  const { registry, logger } = deps;

  const replicate: handleUnaryCall<ReplicateRequest, ReplicateResponse> = (call, callback) => {
    deps.onPeerContact?.(call.request.nodeId);
    const answer = whenDurable(deps.barrier ?? NO_BARRIER, () => ({
      nodeId: deps.nodeId(),
      results: call.request.tasks.map((t) => answerToWire(applyTask(registry, taskFromWire(t), logger))),
    }));
    if (!(answer instanceof Promise)) {
      callback(null, answer);
      return;
    }
    answer.then(
      (res) => {
        callback(null, res);
      },
      (e: unknown) => {
        callback(toGrpcError(e, logger, 'Replicate'));
      },
    );
  };

  const syncRegistry: handleServerStreamingCall<SyncRegistryRequest, SyncRegistryResponse> = (call) => {
    const nodeId = deps.nodeId();
    void (async () => {
      // Tombstones first, so the starting node refuses older copies still on their way to it.
      let chunk: SyncRegistryResponse = {
        nodeId,
        instances: [],
        services: configuredServices(registry).map(settingsToWire),
        tombstones: registry.tombstoneList().map(instanceTombstoneToWire),
      };
      for (const e of registry.replicaEntries()) {
        chunk.instances.push(entryToWire(e));
        if (chunk.instances.length >= SYNC_CHUNK_INSTANCES) {
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
    deps.onPeerContact?.(call.request.nodeId);
    callback(null, { nodeId: deps.nodeId(), services: registry.replicaDigests().map(digestToWire) });
  };

  const fetchServices: handleUnaryCall<FetchServicesRequest, FetchServicesResponse> = (call, callback) => {
    if (call.request.services.length > MAX_FETCH_SERVICES) {
      callback(grpcError(GrpcStatus.INVALID_ARGUMENT, `services: at most ${MAX_FETCH_SERVICES} per call`));
      return;
    }
    try {
      callback(null, {
        nodeId: deps.nodeId(),
        services: call.request.services.map((r) => {
          const ref = normalizeServiceRef(r, registry.options);
          const state = registry.replicaOf(ref);
          return {
            service: ref,
            instances: state.entries.map(entryToWire),
            deleted: state.tombstones.map(tombstoneToWire),
            settings: state.settings === undefined ? undefined : settingsToWire(state.settings),
          };
        }),
      });
    } catch (e) {
      callback(toGrpcError(e, logger, 'FetchServices'));
    }
  };

  return { replicate, syncRegistry, listChecksums, fetchServices };
}
