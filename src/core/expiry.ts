/**
 * Expiry: what runs out and what to do about it. Eureka's eviction (expired leases, a bounded random
 * sample across services, nothing under self-preservation), Nacos's beat timeouts, pauses of the
 * server that are not held against leases, and housekeeping of empty services, tombstones and
 * pauses. The core decides (`planEviction`), the shell acts (`expire` per victim). An eviction
 * leaves no tombstone and is never replicated: it is this node's opinion.
 */
import { pickForEviction } from './eviction.js';
import { changeRecord } from './instance-record.js';
import { isLeaseExpired } from './lease.js';
import type { InstanceEntry, InstanceRecord, InstanceRef } from './model.js';
import type { RegistryState } from './registry-state.js';
import { evictionLimit, type SelfPreservationState } from './self-preservation.js';

/** Which instances an eviction pass considers: all, or only heartbeat-checked (Nacos-style) ones. */
export type EvictionScope = 'all' | 'heartbeat';

export interface EvictionPlan {
  readonly selfPreservation: SelfPreservationState;
  /** Expired lease-bound instances found (all of them, also under self-preservation). */
  readonly expiredCount: number;
  /** The bounded random sample to evict now; empty under self-preservation. */
  readonly toEvict: readonly InstanceRef[];
}

function expired(s: RegistryState, entry: InstanceEntry, now: number): boolean {
  return isLeaseExpired(entry, now, s.pauses.pausedBetween(entry.lastRenewalMs, now));
}

function heartbeatOverdue(s: RegistryState, e: InstanceEntry, now: number): boolean {
  const r = e.record;
  return r.unhealthyAfterMs > 0 && r.healthy && now - s.pauses.pausedBetween(e.lastRenewalMs, now) > e.lastRenewalMs + r.unhealthyAfterMs;
}

export function planEviction(s: RegistryState, scope: EvictionScope): EvictionPlan {
  const now = s.clock.nowMs();
  const found: InstanceRef[] = [];
  const walk = scope === 'all' || s.heartbeatChecked > 0;
  for (const ns of walk ? s.namespaces.values() : []) {
    for (const svc of ns.services.values()) {
      for (const entry of svc.instances.values()) {
        if ((scope === 'all' || entry.record.unhealthyAfterMs > 0) && expired(s, entry, now)) {
          found.push({ namespace: ns.name, group: svc.group, service: svc.name, instanceId: entry.record.instanceId });
        }
      }
    }
  }
  const selfPreservation = s.selfPreservation(now);
  if (selfPreservation.active) return { selfPreservation, expiredCount: found.length, toEvict: [] };
  const limit = evictionLimit(s.leaseBound, s.options.renewalPercentThreshold);
  return { selfPreservation, expiredCount: found.length, toEvict: pickForEviction(found, limit, s.random) };
}

export function expire(s: RegistryState, ref: InstanceRef): InstanceRecord | undefined {
  const found = s.find(ref);
  const now = s.clock.nowMs();
  if (found === undefined || !expired(s, found.entry, now)) return undefined;
  const rec = found.entry.record;
  if (rec.ephemeral && rec.overriddenStatus !== undefined) {
    // The operator's override outlives the lease: the instance takes it again when it registers.
    s.pendingOverrides.put({ ...ref, status: rec.overriddenStatus, version: rec.version, expiresAt: now + s.options.persistentTombstoneRetentionMs });
  }
  return s.remove(found, now);
}

export function planHeartbeatTimeouts(s: RegistryState): InstanceRef[] {
  if (s.heartbeatChecked === 0) return [];
  const now = s.clock.nowMs();
  const overdue: InstanceRef[] = [];
  for (const ns of s.namespaces.values()) {
    for (const svc of ns.services.values()) {
      for (const e of svc.instances.values()) {
        if (heartbeatOverdue(s, e, now)) overdue.push({ namespace: ns.name, group: svc.group, service: svc.name, instanceId: e.record.instanceId });
      }
    }
  }
  return overdue;
}

export function markHeartbeatTimeout(s: RegistryState, ref: InstanceRef): InstanceRecord | undefined {
  const found = s.find(ref);
  const now = s.clock.nowMs();
  if (found === undefined || !heartbeatOverdue(s, found.entry, now)) return undefined;
  const next = changeRecord(found.entry.record, { healthy: false, lastUpdatedTimestamp: now });
  s.replace(found, next, now);
  return next;
}

export function sweep(s: RegistryState): { services: number; tombstones: number } {
  const now = s.clock.nowMs();
  const tombstones = s.tombstones.prune(now);
  s.pendingOverrides.prune(now);
  s.pauses.prune(now - s.options.maxLeaseDurationMs);
  let services = 0;
  for (const ns of s.namespaces.values()) {
    for (const [key, svc] of ns.services) {
      if (!svc.explicit && svc.emptySince !== undefined && now - svc.emptySince >= s.options.emptyServiceRetentionMs) {
        ns.services.delete(key);
        ns.removedRevisionFloor = Math.max(ns.removedRevisionFloor, svc.revision);
        ns.version++;
        services++;
      }
    }
  }
  return { services, tombstones };
}
