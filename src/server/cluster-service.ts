/**
 * herald.v1.ClusterService handlers, for operators: the node's view of its peers (`herald
 * cluster`) and of its own registry, self-preservation and last eviction run (`herald status`).
 */
import type { handleUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PeerView } from '../cluster/cluster.js';
import { EvictionOutcome, PeerState, type GetClusterStatusResponse, type GetNodeStatusResponse } from '../gen/herald/v1/peer_service.js';
import type { EvictionOutcome as EvictionOutcomeName } from './eviction-loop.js';
import type { NodeStatus } from './node-status.js';

export interface ClusterServiceDeps {
  /** This node's id (read per call: it is known once the cluster starts). */
  readonly nodeId: () => string;
  readonly clusterStatus: () => { synced: boolean; peers: readonly PeerView[] };
  readonly nodeStatus: () => NodeStatus;
}

const PEER_STATE: Readonly<Record<PeerView['state'], PeerState>> = {
  up: PeerState.PEER_STATE_UP,
  down: PeerState.PEER_STATE_DOWN,
  unknown: PeerState.PEER_STATE_UNSPECIFIED,
};

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

export function clusterServiceHandlers(deps: ClusterServiceDeps): UntypedServiceImplementation {
  const getClusterStatus: handleUnaryCall<unknown, GetClusterStatusResponse> = (_call, callback) => {
    const { synced, peers } = deps.clusterStatus();
    callback(null, {
      nodeId: deps.nodeId(),
      synced,
      peers: peers.map((p) => ({
        address: p.address,
        nodeId: p.nodeId,
        state: PEER_STATE[p.state],
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
