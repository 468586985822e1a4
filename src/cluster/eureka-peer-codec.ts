/**
 * herald's replication tasks in Eureka's peer-batch format and back: a task becomes a
 * ReplicationInstance item (`appName`, `id`, `lastDirtyTimestamp`, `status`, `overriddenStatus`,
 * `instanceInfo`, `action`), an item's answer (`statusCode`, `responseEntity`) becomes a
 * ReplicationResult, and a peer's InstanceInfo becomes a ReplicatedInstance. Only apps of the
 * Eureka namespace's default group exist for a Eureka server.
 */
import { DEFAULT_GROUP, type InstanceRecord } from '../core/model.js';
import { statusNameFromWire } from '../common/wire-status.js';
import { ReplicationAction, ReplicationOutcome, type ReplicatedInstance, type ReplicationResult, type ReplicationTask } from '../gen/herald/v1/peer_service.js';
import { eurekaInstance } from '../server/eureka/eureka-json.js';
import { replicaFromEureka } from '../server/eureka/eureka-params.js';
import type { EurekaAction, EurekaReplicationItem } from '../server/eureka/eureka-replication.js';
import { replicatedFromWire, replicatedToWire } from './peer-codec.js';

const ACTION_NAMES: Readonly<Partial<Record<ReplicationAction, EurekaAction>>> = {
  [ReplicationAction.REPLICATION_ACTION_REGISTER]: 'Register',
  [ReplicationAction.REPLICATION_ACTION_HEARTBEAT]: 'Heartbeat',
  [ReplicationAction.REPLICATION_ACTION_CANCEL]: 'Cancel',
  [ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE]: 'StatusUpdate',
  [ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE]: 'DeleteStatusOverride',
};

/** Whether a Eureka server can hold the task's instance (an app of `namespace`'s default group). */
export function inEurekaScope(task: ReplicationTask, namespace: string): boolean {
  return task.target?.namespace === namespace && task.target.group === DEFAULT_GROUP;
}

/** The InstanceInfo of a replicated instance, as herald's Eureka API would answer it. */
function instanceInfoOf(target: ReplicatedInstance): ReturnType<typeof eurekaInstance> | undefined {
  const parsed = replicatedFromWire(target);
  if (parsed === undefined) return undefined;
  const record: InstanceRecord = {
    ...parsed.state,
    instanceId: target.instance?.instanceId ?? '',
    registrationTimestamp: target.instance?.lease?.registrationTimestamp ?? 0,
    serviceUpTimestamp: target.instance?.lease?.serviceUpTimestamp ?? 0,
    evictionTimestamp: 0,
  };
  return eurekaInstance(target.service, record);
}

/** The Eureka item of a task; undefined for an action Eureka does not have. */
export function taskToEurekaItem(task: ReplicationTask): EurekaReplicationItem | undefined {
  const action = ACTION_NAMES[task.action];
  const target = task.target;
  if (action === undefined || target === undefined) return undefined;
  const id = target.instance?.instanceId ?? '';
  const appName = target.service.toUpperCase();
  const status = statusNameFromWire(task.status) ?? null;
  switch (action) {
    case 'Register': {
      const info = instanceInfoOf(target);
      if (info === undefined) return undefined;
      return { appName, id, action, lastDirtyTimestamp: Number(info.lastDirtyTimestamp), status: info.status, overriddenStatus: info.overriddenStatus, instanceInfo: info };
    }
    case 'Heartbeat':
      return { appName, id, action, lastDirtyTimestamp: task.lastDirtyTimestamp, status: null, overriddenStatus: null };
    case 'Cancel':
      return { appName, id, action, lastDirtyTimestamp: null, status: null, overriddenStatus: null };
    case 'StatusUpdate':
    case 'DeleteStatusOverride':
      // Eureka's handlers read lastDirtyTimestamp unconditionally: always send one.
      return { appName, id, action, lastDirtyTimestamp: task.lastDirtyTimestamp, status, overriddenStatus: null };
  }
}

/** A peer's InstanceInfo as a replicated instance; undefined when it is not a valid registration. */
export function replicatedFromEureka(info: unknown, namespace: string): ReplicatedInstance | undefined {
  try {
    const { address, state } = replicaFromEureka(info, namespace);
    const record: InstanceRecord = { ...state, instanceId: address.instanceId ?? '', registrationTimestamp: 0, serviceUpTimestamp: 0, evictionTimestamp: 0 };
    return replicatedToWire({ namespace, group: DEFAULT_GROUP, service: address.service ?? '' }, record);
  } catch {
    return undefined;
  }
}

/** One item's answer (Eureka's ReplicationInstanceResponse) as a replication result. */
export function resultFromEureka(answer: unknown, namespace: string): ReplicationResult {
  const a = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {};
  const code = Number(a.statusCode);
  if (code >= 200 && code < 300) return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_OK, message: '', serverCopy: undefined, tombstone: undefined };
  if (code === 404) return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND, message: 'not registered at the Eureka peer', serverCopy: undefined, tombstone: undefined };
  if (code === 409) {
    const copy = a.responseEntity === undefined ? undefined : replicatedFromEureka(a.responseEntity, namespace);
    return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT, message: 'the Eureka peer holds a newer copy', serverCopy: copy, tombstone: undefined };
  }
  return { outcome: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED, message: `the Eureka peer answered ${Number.isFinite(code) ? code : 'no status'}`, serverCopy: undefined, tombstone: undefined };
}
