/**
 * Lease arithmetic. A lease expires at `lastRenewal + duration`: herald does not repeat Eureka's
 * double-duration bug (Eureka's renew() stores `now + duration` and isExpired() adds the duration
 * again, so an instance lives up to twice its lease; Eureka documents it as "will not be fixed").
 *
 * `compensationMs` is how late the eviction task ran (e.g. the process was paused): time the server
 * itself was not listening is not held against clients, as Eureka's eviction compensation does.
 */
import type { InstanceEntry } from './model.js';

export function leaseExpiresAt(entry: InstanceEntry): number {
  return entry.lastRenewalMs + entry.record.leaseDurationMs;
}

/** Persistent (non-ephemeral) instances never expire; they stay until cancelled. */
export function isLeaseExpired(entry: InstanceEntry, nowMs: number, compensationMs = 0): boolean {
  if (!entry.record.ephemeral) return false;
  return nowMs > leaseExpiresAt(entry) + Math.max(0, compensationMs);
}

/** Renewals per minute an instance with this renewal interval is expected to send. */
export function expectedRenewsPerMinute(renewalIntervalMs: number): number {
  return 60_000 / renewalIntervalMs;
}
