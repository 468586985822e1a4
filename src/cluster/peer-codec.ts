/** The peer transport's codec: replicated instances between the wire and the core's InstanceState. */
import type { InstanceAddress, InstanceState } from '../core/registry.js';
import type { InstanceRecord, InstanceStatus, ServiceRef } from '../core/model.js';
import { statusNameFromWire, statusToWire } from '../common/wire-status.js';
import { instanceToWire } from '../server/grpc-codec.js';
import type { ReplicatedInstance } from '../gen/herald/v1/peer_service.js';

export function replicatedToWire(ref: ServiceRef, record: InstanceRecord): ReplicatedInstance {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: instanceToWire(record),
    registeredStatus: statusToWire(record.registeredStatus),
    reportedHealthy: record.reportedHealthy,
  };
}

/** A replicated instance as the core's address and state; undefined when the instance is missing. */
export function replicatedFromWire(r: ReplicatedInstance): { address: InstanceAddress; state: InstanceState } | undefined {
  const i = r.instance;
  if (i === undefined) return undefined;
  const status: InstanceStatus = statusNameFromWire(i.status) ?? 'UP';
  return {
    address: { namespace: r.namespace, group: r.group, service: r.service, instanceId: i.instanceId },
    state: {
      ip: i.ip,
      port: i.port,
      weight: i.weight,
      healthy: i.healthy,
      reportedHealthy: r.reportedHealthy,
      unhealthyAfterMs: i.lease?.unhealthyAfterMs ?? 0,
      enabled: i.enabled,
      ephemeral: i.ephemeral,
      cluster: i.cluster,
      metadata: i.metadata,
      status,
      overriddenStatus: statusNameFromWire(i.overriddenStatus),
      registeredStatus: statusNameFromWire(r.registeredStatus) ?? status,
      lastDirtyTimestamp: i.lastDirtyTimestamp,
      lastUpdatedTimestamp: i.lastUpdatedTimestamp,
      leaseDurationMs: i.lease?.durationMs ?? 0,
      renewalIntervalMs: i.lease?.renewalIntervalMs ?? 0,
    },
  };
}

