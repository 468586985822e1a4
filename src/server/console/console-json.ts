/**
 * The console's codec: domain values (records, views, summaries, node status, peers) to the JSON
 * the page reads (src/console/protocol.ts), and the delta between two views of a service. Wire
 * types stop here. Pure.
 */
import type { PeerView } from '../../cluster/cluster.js';
import type { InstanceRecord, ServiceSummary, ServiceView } from '../../core/model.js';
import type { InstanceJson, NodeJson, PeerJson, ServiceDeltaJson, ServiceJson, ServiceRowJson } from '../../console/protocol.js';
import type { NodeStatus } from '../node-status.js';

export function instanceJson(r: InstanceRecord): InstanceJson {
  return {
    id: r.instanceId,
    ip: r.ip,
    port: r.port,
    cluster: r.cluster,
    weight: r.weight,
    healthy: r.healthy,
    enabled: r.enabled,
    ephemeral: r.ephemeral,
    status: r.status,
    overriddenStatus: r.overriddenStatus ?? null,
    metadata: r.metadata,
    registeredAt: r.registrationTimestamp,
    updatedAt: r.lastUpdatedTimestamp,
    leaseDurationMs: r.leaseDurationMs,
    renewalIntervalMs: r.renewalIntervalMs,
    registrant: r.registrant,
    transport: r.transport,
  };
}

export function serviceRowJson(s: ServiceSummary): ServiceRowJson {
  return { group: s.group, name: s.name, instances: s.instanceCount, healthy: s.healthyInstanceCount, clusters: s.clusters, revision: s.revision };
}

/** A view (unfiltered) in full. */
export function serviceJson(view: ServiceView, now: number): ServiceJson {
  return {
    namespace: view.namespace,
    group: view.group,
    name: view.name,
    revision: view.revision,
    protectThreshold: view.protectThreshold,
    now,
    instances: view.hosts.map(instanceJson),
  };
}

/**
 * What changed from `before` to `after` (two views of one service through one filter): records are
 * immutable and replaced on change, so identity tells a changed instance from an unchanged one.
 * Both host lists are sorted by instance id; one merge pass, O(n).
 */
export function serviceDeltaJson(before: ServiceView, after: ServiceView, now: number): ServiceDeltaJson {
  const upserts: InstanceJson[] = [];
  const removed: string[] = [];
  const a = before.hosts;
  const b = after.hosts;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.instanceId < y.instanceId)) {
      if (x !== undefined) removed.push(x.instanceId);
      i++;
    } else if (x === undefined || y.instanceId < x.instanceId) {
      upserts.push(instanceJson(y));
      j++;
    } else {
      if (x !== y) upserts.push(instanceJson(y));
      i++;
      j++;
    }
  }
  return { revision: after.revision, now, upserts, removed };
}

export function peerJson(p: PeerView): PeerJson {
  return {
    address: p.address,
    nodeId: p.nodeId,
    state: p.state,
    queueDepth: p.queueDepth + p.inFlight,
    failures: p.failures,
    dropped: p.dropped,
    lastSuccessAt: p.lastSuccessAt,
    // As `herald cluster status` shows it: the error of a peer that is down now.
    lastError: p.state === 'down' ? p.lastError : '',
  };
}

export function nodeJson(s: NodeStatus, synced: boolean, peers: readonly PeerView[]): NodeJson {
  const e = s.lastEviction;
  return {
    nodeId: s.nodeId,
    now: s.now,
    namespaces: s.namespaces,
    services: s.services,
    instances: s.instances,
    subscribers: s.subscribers,
    selfPreservation: {
      enabled: s.selfPreservation.enabled,
      active: s.selfPreservation.active,
      renewsLastMinute: s.selfPreservation.renewsLastMinute,
      renewsThreshold: s.selfPreservation.renewsThreshold,
      expectedRenewsPerMinute: s.selfPreservation.expectedRenewsPerMinute,
    },
    eviction: {
      intervalMs: s.evictionIntervalMs,
      evictedTotal: s.evictedTotal,
      last: e === undefined ? null : { at: e.at, expired: e.expired, evicted: e.evicted, outcome: e.outcome, reason: e.reason },
    },
    synced,
    peers: peers.map(peerJson),
  };
}
