/**
 * herald's replication tasks in Eureka's peer-batch format and back: a write becomes a
 * ReplicationInstance item (`appName`, `id`, `lastDirtyTimestamp`, `status`, `overriddenStatus`,
 * `instanceInfo`, `action`), an item's answer (`statusCode`, `responseEntity`) becomes a peer answer,
 * and a peer's InstanceInfo becomes a copy (without a write version: Eureka has none). Only apps of
 * the Eureka namespace's default group exist for a Eureka server.
 */
import { DEFAULT_GROUP } from '../../core/model.js';
import type { PeerAnswer, PeerCopy, ReplicationTask } from '../../cluster/peer-link.js';
import type { WriteEvent } from '../../core/registry.js';
import { eurekaInstance } from './eureka-json.js';
import { replicaFromEureka } from './eureka-params.js';
import type { EurekaAction, EurekaReplicationItem } from './eureka-replication.js';

const ACTION_NAMES: Readonly<Record<WriteEvent['kind'], EurekaAction>> = {
  register: 'Register',
  renew: 'Heartbeat',
  cancel: 'Cancel',
  status: 'StatusUpdate',
  'delete-override': 'DeleteStatusOverride',
};

/**
 * Whether a Eureka server can hold the task's instance (an app of `namespace`'s default group).
 * Service settings are herald's own: a Eureka server has none.
 */
export function inEurekaScope(task: ReplicationTask, namespace: string): task is WriteEvent {
  return task.kind !== 'service' && task.ref.namespace === namespace && task.ref.group === DEFAULT_GROUP;
}

/** The Eureka item of a task. */
export function taskToEurekaItem(task: WriteEvent): EurekaReplicationItem {
  const action = ACTION_NAMES[task.kind];
  const id = task.ref.instanceId;
  const appName = task.ref.service.toUpperCase();
  switch (task.kind) {
    case 'register': {
      const info = eurekaInstance(task.ref.service, task.record, task.lastRenewalMs);
      return { appName, id, action, lastDirtyTimestamp: task.record.lastDirtyTimestamp, status: info.status, overriddenStatus: info.overriddenStatus, instanceInfo: info };
    }
    case 'renew':
      return { appName, id, action, lastDirtyTimestamp: task.record.lastDirtyTimestamp, status: null, overriddenStatus: null };
    case 'cancel':
      return { appName, id, action, lastDirtyTimestamp: null, status: null, overriddenStatus: null };
    case 'status':
      // Eureka's handlers read lastDirtyTimestamp unconditionally: always send one.
      return { appName, id, action, lastDirtyTimestamp: task.lastDirtyTimestamp ?? 0, status: task.status, overriddenStatus: null };
    case 'delete-override':
      return { appName, id, action, lastDirtyTimestamp: 0, status: task.status ?? null, overriddenStatus: null };
  }
}

/** A peer's InstanceInfo as a copy (version 0: this node issues one); undefined when it is not a valid registration. */
export function copyFromEureka(info: unknown, namespace: string, service?: string): PeerCopy | undefined {
  try {
    const { address, state } = replicaFromEureka(info, namespace);
    // A 409's copy is of the task's own instance; Eureka upper-cases the app name, herald may not.
    return { address: service === undefined ? address : { ...address, service }, state, lastRenewalMs: 0 };
  } catch {
    return undefined;
  }
}

/** One item's answer (Eureka's ReplicationInstanceResponse) as a peer answer. */
export function answerFromEureka(answer: unknown, namespace: string, service: string): PeerAnswer {
  const a = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {};
  const code = Number(a.statusCode);
  if (code >= 200 && code < 300) return { kind: 'ok' };
  if (code === 404) return { kind: 'not-found' };
  if (code === 409) return { kind: 'newer-here', copy: a.responseEntity === undefined ? undefined : copyFromEureka(a.responseEntity, namespace, service) };
  return { kind: 'rejected', message: `the Eureka peer answered ${Number.isFinite(code) ? code : 'no status'}` };
}
