/**
 * Status overrides waiting for their instance (Eureka's overriddenInstanceStatusMap, which outlives
 * a registration): an operator's override of an ephemeral instance that is not registered here now,
 * because its lease expired or because this node restarted (the store gives the override back, not
 * the instance). When that instance registers again it takes the override. Bounded in time (each
 * waits at most its retention) and in count (beyond `maxCount` the oldest go).
 */
import type { InstanceRef, InstanceStatus } from './model.js';

export interface PendingOverride extends InstanceRef {
  readonly status: InstanceStatus;
  /** The write version of the record that carried the override. */
  readonly version: number;
  /** When it is forgotten if its instance has not registered again (ms since epoch). */
  readonly expiresAt: number;
}

const keyOf = (r: InstanceRef): string => `${r.namespace}\u0000${r.group}\u0000${r.service}\u0000${r.instanceId}`;

export class PendingOverrides {
  private readonly all = new Map<string, PendingOverride>();

  constructor(private readonly maxCount: number) {}

  get size(): number {
    return this.all.size;
  }

  put(p: PendingOverride): void {
    const key = keyOf(p);
    this.all.delete(key);
    this.all.set(
      key,
      Object.freeze({ namespace: p.namespace, group: p.group, service: p.service, instanceId: p.instanceId, status: p.status, version: p.version, expiresAt: p.expiresAt }),
    );
    while (this.all.size > this.maxCount) {
      const oldest = this.all.keys().next();
      if (oldest.done === true) break;
      this.all.delete(oldest.value);
    }
  }

  /** Takes the override waiting for an instance, if any (it is no longer pending). */
  take(ref: InstanceRef, nowMs: number): PendingOverride | undefined {
    if (this.all.size === 0) return undefined;
    const key = keyOf(ref);
    const p = this.all.get(key);
    if (p === undefined) return undefined;
    this.all.delete(key);
    return p.expiresAt > nowMs ? p : undefined;
  }

  get(ref: InstanceRef): PendingOverride | undefined {
    return this.all.size === 0 ? undefined : this.all.get(keyOf(ref));
  }

  /** Forgets overrides whose time is over; returns how many. */
  prune(nowMs: number): number {
    let n = 0;
    for (const [key, p] of this.all) {
      if (p.expiresAt <= nowMs) {
        this.all.delete(key);
        n++;
      }
    }
    return n;
  }
}
