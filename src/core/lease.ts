/**
 * Lease arithmetic. A lease expires at `lastRenewal + duration`: herald does not repeat Eureka's
 * double-duration bug (Eureka's renew() stores `now + duration` and isExpired() adds the duration
 * again, so an instance lives up to twice its lease; Eureka documents it as "will not be fixed").
 *
 * `pausedMs` is how long the server itself was not listening since the last renewal (the process
 * was stopped, or its event loop blocked; see pause-ledger.ts): that time is not held against the
 * client.
 */
import type { InstanceRecord } from './model.js';

/** A lease: the record's duration and when it was last renewed. */
export interface LeaseLike {
  readonly record: Pick<InstanceRecord, 'leaseDurationMs' | 'ephemeral'>;
  readonly lastRenewalMs: number;
}

export function leaseExpiresAt(entry: LeaseLike): number {
  return entry.lastRenewalMs + entry.record.leaseDurationMs;
}

/** Persistent (non-ephemeral) instances never expire; they stay until cancelled. */
export function isLeaseExpired(entry: LeaseLike, nowMs: number, pausedMs = 0): boolean {
  if (!entry.record.ephemeral) return false;
  return nowMs > leaseExpiresAt(entry) + Math.max(0, pausedMs);
}

/** Renewals per minute an instance with this renewal interval is expected to send. */
export function expectedRenewsPerMinute(renewalIntervalMs: number): number {
  return 60_000 / renewalIntervalMs;
}
