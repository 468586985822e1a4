/**
 * Replication tasks from the registry's write events, and their merge keys
 * (`action/namespace/group/service/instance`, as Eureka's task ids).
 */
import type { WriteEvent } from '../core/registry.js';
import type { InstanceRef } from '../core/model.js';
import { statusToWire } from '../common/wire-status.js';
import { Instance, InstanceStatus } from '../gen/herald/v1/model.js';
import { ReplicationAction, type ReplicatedInstance, type ReplicationTask } from '../gen/herald/v1/peer_service.js';
import { replicatedToWire } from './peer-codec.js';

export function taskKey(action: ReplicationAction, ref: InstanceRef): string {
  return `${action}\u0000${ref.namespace}\u0000${ref.group}\u0000${ref.service}\u0000${ref.instanceId}`;
}

function bare(ref: InstanceRef): ReplicatedInstance {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: Instance.fromPartial({ instanceId: ref.instanceId }),
    registeredStatus: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED,
    reportedHealthy: false,
  };
}

/** The task that repeats a write on a peer. */
export function taskFor(e: WriteEvent): ReplicationTask {
  switch (e.kind) {
    case 'register':
      return { action: ReplicationAction.REPLICATION_ACTION_REGISTER, target: replicatedToWire(e.ref, e.record), lastDirtyTimestamp: 0, status: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED };
    case 'renew':
      return { action: ReplicationAction.REPLICATION_ACTION_HEARTBEAT, target: bare(e.ref), lastDirtyTimestamp: e.record.lastDirtyTimestamp, status: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED };
    case 'cancel':
      return { action: ReplicationAction.REPLICATION_ACTION_CANCEL, target: bare(e.ref), lastDirtyTimestamp: 0, status: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED };
    case 'status':
      return {
        action: ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE,
        target: bare(e.ref),
        lastDirtyTimestamp: e.lastDirtyTimestamp ?? 0,
        status: statusToWire(e.status),
      };
    case 'delete-override':
      return { action: ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE, target: bare(e.ref), lastDirtyTimestamp: 0, status: statusToWire(e.status) };
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
