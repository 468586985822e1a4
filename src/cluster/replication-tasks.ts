/**
 * Replication tasks from the registry's write events, and their merge keys
 * (`action/namespace/group/service/instance`, as Eureka's task ids). Every task carries the write
 * version its receiver merges by: REGISTER, STATUS_UPDATE and DELETE_STATUS_OVERRIDE the whole
 * resulting record (a herald peer takes it as is; a Eureka peer gets Eureka's action), HEARTBEAT
 * the version renewed and when, CANCEL its tombstone.
 */
import type { WriteEvent } from '../core/registry.js';
import type { InstanceRef } from '../core/model.js';
import { statusToWire } from '../common/wire-status.js';
import { Instance, InstanceStatus } from '../gen/herald/v1/model.js';
import { ReplicationAction, type ReplicatedInstance, type ReplicationTask } from '../gen/herald/v1/peer_service.js';
import { replicatedToWire, tombstoneToWire } from './peer-codec.js';

export function taskKey(action: ReplicationAction, ref: InstanceRef): string {
  return `${action}\u0000${ref.namespace}\u0000${ref.group}\u0000${ref.service}\u0000${ref.instanceId}`;
}

/** The instance's address only (and, for a renewal, when it was renewed). */
function bare(ref: InstanceRef, lastRenewalMs = 0): ReplicatedInstance {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: Instance.fromPartial({ instanceId: ref.instanceId, ...(lastRenewalMs > 0 ? { lease: { lastRenewalTimestamp: lastRenewalMs } } : {}) }),
    registeredStatus: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED,
    reportedHealthy: false,
    version: 0,
  };
}

const NONE = InstanceStatus.INSTANCE_STATUS_UNSPECIFIED;

/** The task that repeats a write on a peer. */
export function taskFor(e: WriteEvent): ReplicationTask {
  switch (e.kind) {
    case 'register':
      return { action: ReplicationAction.REPLICATION_ACTION_REGISTER, target: replicatedToWire(e.ref, e.record, e.lastRenewalMs), lastDirtyTimestamp: 0, status: NONE, version: e.record.version, tombstone: undefined };
    case 'renew':
      return {
        action: ReplicationAction.REPLICATION_ACTION_HEARTBEAT,
        target: bare(e.ref, e.lastRenewalMs),
        lastDirtyTimestamp: e.record.lastDirtyTimestamp,
        status: NONE,
        version: e.record.version,
        tombstone: undefined,
      };
    case 'cancel':
      return { action: ReplicationAction.REPLICATION_ACTION_CANCEL, target: bare(e.ref), lastDirtyTimestamp: 0, status: NONE, version: e.tombstone.version, tombstone: tombstoneToWire(e.tombstone) };
    case 'status':
      return {
        action: ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE,
        target: replicatedToWire(e.ref, e.record),
        lastDirtyTimestamp: e.lastDirtyTimestamp ?? 0,
        status: statusToWire(e.status),
        version: e.record.version,
        tombstone: undefined,
      };
    case 'delete-override':
      return {
        action: ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE,
        target: replicatedToWire(e.ref, e.record),
        lastDirtyTimestamp: 0,
        status: statusToWire(e.status),
        version: e.record.version,
        tombstone: undefined,
      };
  }
}

export function taskRef(t: ReplicationTask): InstanceRef {
  return {
    namespace: t.target?.namespace ?? '',
    group: t.target?.group ?? '',
    service: t.target?.service ?? '',
    instanceId: t.target?.instance?.instanceId ?? '',
  };
}
