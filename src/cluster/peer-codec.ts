/** The peer transport's codec: replicated instances and tombstones between the wire and the core. */
import type { InstanceAddress, InstanceState, ReplicaEntry, TombstoneInput } from '../core/registry.js';
import type { InstanceRecord, InstanceStatus, ServiceRef } from '../core/model.js';
import type { Tombstone } from '../core/tombstones.js';
import { statusNameFromWire, statusToWire } from '../common/wire-status.js';
import { instanceToWire } from '../server/grpc-codec.js';
import type { InstanceTombstone, ReplicatedInstance, Tombstone as WireTombstone } from '../gen/herald/v1/peer_service.js';

/** A record as peers exchange it, with its lease's last renewal (0 = not known) and its version. */
export function replicatedToWire(ref: ServiceRef, record: InstanceRecord, lastRenewalMs = 0): ReplicatedInstance {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: instanceToWire(record, lastRenewalMs),
    registeredStatus: statusToWire(record.registeredStatus),
    reportedHealthy: record.reportedHealthy,
    version: record.version,
  };
}

export function replicaEntryToWire(e: ReplicaEntry): ReplicatedInstance {
  return replicatedToWire(e, e.record, e.lastRenewalMs);
}

/** A peer's instance as the core's address and state, with its last renewal; undefined without an instance. */
export function replicatedFromWire(r: ReplicatedInstance): { address: InstanceAddress; state: InstanceState; lastRenewalMs: number } | undefined {
  const i = r.instance;
  if (i === undefined) return undefined;
  const status: InstanceStatus = statusNameFromWire(i.status) ?? 'UP';
  return {
    address: { namespace: r.namespace, group: r.group, service: r.service, instanceId: i.instanceId },
    lastRenewalMs: i.lease?.lastRenewalTimestamp ?? 0,
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
      version: r.version,
    },
  };
}

export function tombstoneToWire(t: Tombstone): WireTombstone {
  return { instanceId: t.instanceId, deletedAt: t.deletedAt, version: t.version, expiresAt: t.expiresAt };
}

export function instanceTombstoneToWire(t: Tombstone): InstanceTombstone {
  return { namespace: t.namespace, group: t.group, service: t.service, tombstone: tombstoneToWire(t) };
}

/** A peer's tombstone of an instance of `ref` as the core's input. */
export function tombstoneFromWire(ref: ServiceRef, t: WireTombstone): TombstoneInput {
  return { namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: t.instanceId, version: t.version, deletedAt: t.deletedAt, expiresAt: t.expiresAt };
}
