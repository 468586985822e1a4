/**
 * Eureka's peer batches, received: `POST <base>/peerreplication/batch` carries a ReplicationList
 * (`{"replicationList": [{appName, id, lastDirtyTimestamp, overriddenStatus, status, instanceInfo,
 * action}]}`) from a Eureka server that lists herald as a peer. Each item is applied as a
 * replication (never replicated again) and answered on its own in a ReplicationListResponse
 * (`{"responseList": [{statusCode, responseEntity?}]}`), as Eureka's PeerReplicationResource does:
 * Register 200 (400 when invalid), Heartbeat 200 / 404 / 409 with the newer server copy,
 * Cancel, StatusUpdate and DeleteStatusOverride 200 / 404. A bad item changes nothing and does not
 * stop the others.
 */
import type { InstanceRef } from '../../core/model.js';
import type { Registry } from '../../core/registry.js';
import { eurekaInstance, type EurekaInstance } from './eureka-json.js';
import { eurekaBadRequest, isObject, registrationFromEureka } from './eureka-params.js';
import { eurekaError } from './eureka-errors.js';
import type { Logger } from '../../common/logger.js';

/** Header herald adds to a batch answer: its cluster node id, so a herald peer recognises itself. */
export const HERALD_NODE_HEADER = 'x-herald-node-id';

/** The replication actions of Eureka's batches (PeerAwareInstanceRegistryImpl.Action). */
export const EUREKA_ACTIONS = ['Register', 'Heartbeat', 'Cancel', 'StatusUpdate', 'DeleteStatusOverride'] as const;
export type EurekaAction = (typeof EUREKA_ACTIONS)[number];

/** One item of a ReplicationList. */
/** The part of the registry this API uses. */
export type EurekaReplicaTarget = Pick<Registry, 'register' | 'renew' | 'cancel' | 'setStatus' | 'deleteStatusOverride'>;

export interface EurekaReplicationItem {
  readonly appName: string;
  readonly id: string;
  readonly lastDirtyTimestamp?: number | null;
  readonly overriddenStatus?: string | null;
  readonly status?: string | null;
  readonly instanceInfo?: unknown;
  readonly action: EurekaAction;
}

/** One item of a ReplicationListResponse. */
export interface EurekaReplicationResult {
  readonly statusCode: number;
  readonly responseEntity?: EurekaInstance;
}

export interface EurekaReplicationDeps {
  readonly registry: EurekaReplicaTarget;
  readonly namespace: string;
  /** The instance `id` of app `appName`, or undefined. */
  readonly findInstance: (appName: string, id: string) => InstanceRef | undefined;
  readonly logger: Logger;
}

/** The items of a batch body; a body that is not a ReplicationList is a 400 for the whole batch. */
export function replicationItems(body: unknown): unknown[] {
  if (!isObject(body) || !Array.isArray(body.replicationList)) throw eurekaBadRequest('replicationList', 'Missing replicationList: expected {"replicationList": [...]}');
  return body.replicationList;
}

const isAction = (v: unknown): v is EurekaAction => typeof v === 'string' && (EUREKA_ACTIONS as readonly string[]).includes(v);

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function dirtyOf(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** Applies one item; what Eureka would answer for it. */
export function applyReplicationItem(raw: unknown, deps: EurekaReplicationDeps): EurekaReplicationResult {
  const { registry, namespace } = deps;
  const replication = { replication: true } as const;
  try {
    if (!isObject(raw)) throw eurekaBadRequest('replicationList[]', 'replication item must be an object');
    const action = raw.action;
    const appName = typeof raw.appName === 'string' ? raw.appName : '';
    const id = typeof raw.id === 'string' ? raw.id : '';
    if (!isAction(action)) {
      throw eurekaBadRequest('action', `Unknown action ${String(action)}: expected one of ${EUREKA_ACTIONS.join(', ')}`);
    }
    if (action === 'Register') {
      registry.register(registrationFromEureka(appName, raw.instanceInfo, namespace), { ...replication, transport: 'eureka' });
      return { statusCode: 200 };
    }
    const ref = deps.findInstance(appName, id);
    if (ref === undefined) return { statusCode: 404 };
    const lastDirtyTimestamp = dirtyOf(raw.lastDirtyTimestamp);
    switch (action) {
      case 'Heartbeat':
        registry.renew({ ...ref, lastDirtyTimestamp }, replication);
        return { statusCode: 200 };
      case 'Cancel':
        registry.cancel(ref, replication);
        return { statusCode: 200 };
      case 'StatusUpdate':
        registry.setStatus({ ...ref, status: optionalString(raw.status) ?? '', lastDirtyTimestamp }, replication);
        return { statusCode: 200 };
      case 'DeleteStatusOverride':
        registry.deleteStatusOverride({ ...ref, status: optionalString(raw.status) }, replication);
        return { statusCode: 200 };
    }
  } catch (e) {
    const answer = eurekaError(e, deps.logger, 'peerreplication/batch');
    if (answer.serverCopy !== undefined && isObject(raw)) {
      return { statusCode: 409, responseEntity: eurekaInstance(typeof raw.appName === 'string' ? raw.appName : '', answer.serverCopy) };
    }
    return { statusCode: answer.status };
  }
}

/** Applies a whole batch body in order. */
export function applyReplicationBatch(body: unknown, deps: EurekaReplicationDeps): { responseList: EurekaReplicationResult[] } {
  return { responseList: replicationItems(body).map((item) => applyReplicationItem(item, deps)) };
}
