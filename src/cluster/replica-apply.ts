/**
 * Applying what a peer sends, one task at a time, and the answer for it: by write version when the
 * task carries one (core/replica-rules.ts), else as an older node's plain write (Eureka's rules).
 * Applied as replications: never replicated again.
 */
import { RegistryError } from '../core/errors.js';
import { registrationOf, type HeartbeatResult, type Registry, type ReplicaResult, type TombstoneResult } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import type { InstanceRef } from '../core/model.js';
import type { IncomingTask, PeerAnswer } from './peer-link.js';

/** The part of the registry a replication receiver uses. */
export type ReplicaTarget = Pick<
  Registry,
  'applyReplica' | 'applyTombstone' | 'applyServiceSettings' | 'renewReplica' | 'register' | 'renew' | 'cancel' | 'setStatus' | 'deleteStatusOverride'
>;

/** A merge's result as the answer to the sender. */
export function answerOf(ref: InstanceRef, r: ReplicaResult | TombstoneResult | HeartbeatResult): PeerAnswer {
  switch (r.kind) {
    case 'newer-here':
      return { kind: 'newer-here', copy: { address: ref, state: r.record, lastRenewalMs: r.lastRenewalMs } };
    case 'deleted':
      return { kind: 'deleted', tombstone: r.tombstone };
    case 'unknown':
      return { kind: 'not-found' };
    default:
      return { kind: 'ok' };
  }
}

const OK: PeerAnswer = { kind: 'ok' };

export function applyTask(registry: ReplicaTarget, task: IncomingTask, logger: Logger): PeerAnswer {
  const ctx = { replication: true };
  const { ref } = task;
  try {
    switch (task.kind) {
      case 'register':
      case 'status':
      case 'delete-override': {
        const copy = task.copy;
        if (copy !== undefined && copy.state.version > 0) return answerOf(ref, registry.applyReplica(copy.address, copy.state, copy.lastRenewalMs));
        if (task.kind === 'status') {
          registry.setStatus({ ...ref, status: task.status, lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
          return OK;
        }
        if (task.kind === 'delete-override') {
          registry.deleteStatusOverride({ ...ref, status: task.status }, ctx);
          return OK;
        }
        if (copy === undefined) return { kind: 'rejected', message: 'target.instance is required' };
        registry.register(registrationOf(copy.address, copy.state), { ...ctx, transport: copy.state.transport });
        return OK;
      }
      case 'heartbeat':
        if (task.version > 0) return answerOf(ref, registry.renewReplica(ref, task.version, task.renewedAtMs));
        registry.renew({ ...ref, lastDirtyTimestamp: task.lastDirtyTimestamp }, ctx);
        return OK;
      case 'cancel':
        if (task.tombstone !== undefined && task.tombstone.version > 0) return answerOf(ref, registry.applyTombstone(task.tombstone));
        registry.cancel(ref, ctx);
        return OK;
      case 'service':
        // A newer setting here is not sent back: this node replicates its own, and anti-entropy repairs the rest.
        registry.applyServiceSettings(task.settings);
        return OK;
      case 'unknown':
        return { kind: 'rejected', message: `unknown action ${task.action}` };
    }
  } catch (e) {
    if (e instanceof RegistryError) {
      if (e.code === 'NOT_FOUND') return { kind: 'not-found' };
      if (e.code === 'CONFLICT' && e.serverCopy !== undefined) return { kind: 'newer-here', copy: { address: ref, state: e.serverCopy, lastRenewalMs: 0 } };
      return { kind: 'rejected', message: e.message };
    }
    logger.error({ err: e, action: task.kind }, 'unexpected error applying a replication');
    return { kind: 'rejected', message: 'internal error' };
  }
}
