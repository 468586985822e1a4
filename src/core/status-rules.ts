/**
 * Eureka's overridden-status rule chain (first match wins), deciding an instance's effective status:
 *
 * 1. DOWN, STARTING or UNKNOWN reported by the instance itself win: an instance that says it cannot
 *    serve is never shown as serving.
 * 2. An existing override (SetStatus, e.g. OUT_OF_SERVICE) wins over anything else the instance says.
 * 3. For a non-replicated write to an existing lease, an UP or OUT_OF_SERVICE status already held by
 *    the server is kept (the server's copy may carry an override applied elsewhere).
 * 4. Otherwise the instance's own status.
 */
import type { InstanceStatus } from './model.js';

export interface StatusRuleInput {
  /** The status the instance reports (on register) or currently has (on renew). */
  readonly reported: InstanceStatus;
  /** The override held for the instance, if any. */
  readonly overridden: InstanceStatus | undefined;
  /** The status the server held before this write; undefined for a new instance. */
  readonly existing: InstanceStatus | undefined;
  /** Whether the write is a replication from a peer. */
  readonly replication: boolean;
}

/** The rule that decided, for logs and tests. */
export type StatusRule = 'down-or-starting' | 'override-exists' | 'lease-exists' | 'instance-status';

export function resolveStatus(input: StatusRuleInput): { status: InstanceStatus; rule: StatusRule } {
  const { reported, overridden, existing, replication } = input;
  if (reported !== 'UP' && reported !== 'OUT_OF_SERVICE') return { status: reported, rule: 'down-or-starting' };
  if (overridden !== undefined) return { status: overridden, rule: 'override-exists' };
  if (!replication && existing !== undefined && (existing === 'UP' || existing === 'OUT_OF_SERVICE')) {
    return { status: existing, rule: 'lease-exists' };
  }
  return { status: reported, rule: 'instance-status' };
}
