/**
 * Tombstones: the cancels a node knows of, each with the write version it was made at. A replica of
 * the same instance at an older version (a replication still queued somewhere, a peer that was
 * frozen or cut off, a restarted node's start-up sync) is refused while the tombstone lives, so an
 * acknowledged cancel never comes back. Evictions leave no tombstone: they are one node's opinion.
 *
 * A tombstone lives at least the retention window, and for an ephemeral instance at least its lease
 * plus the tolerated clock skew, since a stale copy older than that has an expired lease and is
 * refused for that reason (see replica-rules.ts). Memory is bounded: beyond `maxCount` the oldest
 * are dropped (counted in `dropped`).
 */
import { serviceKey, type InstanceRef, type ServiceRef } from './model.js';

export interface Tombstone extends InstanceRef {
  /** The write version of the cancel. */
  readonly version: number;
  /** When the instance was cancelled (ms since epoch, on the node that cancelled it). */
  readonly deletedAt: number;
  /** When this node forgets the tombstone (ms since epoch). */
  readonly expiresAt: number;
  /** The cancel of a persistent instance: kept in the durable store of every node that learns of it. */
  readonly persistent: boolean;
}

/** A tombstone (frozen), built field by field: one hidden class for all (see instance-record.ts on spreads). */
export function makeTombstone(ref: InstanceRef, version: number, deletedAt: number, expiresAt: number, persistent: boolean): Tombstone {
  return Object.freeze({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId, version, deletedAt, expiresAt, persistent });
}

function serviceId(ref: ServiceRef): string {
  return `${ref.namespace}\u0000${serviceKey(ref.group, ref.service)}`;
}

export class TombstoneStore {
  /** Every tombstone by full key, in the order they were made (oldest first). */
  private readonly all = new Map<string, Tombstone>();
  private readonly byService = new Map<string, Map<string, Tombstone>>();
  /** Tombstones dropped early because the store was full. */
  dropped = 0;

  constructor(private readonly maxCount: number) {}

  get size(): number {
    return this.all.size;
  }

  get(ref: InstanceRef): Tombstone | undefined {
    return this.byService.get(serviceId(ref))?.get(ref.instanceId);
  }

  /** Stores a tombstone, replacing an older one of the same instance. */
  put(t: Tombstone): void {
    const sid = serviceId(t);
    const key = `${sid}\u0000${t.instanceId}`;
    this.all.delete(key);
    this.all.set(key, t);
    let svc = this.byService.get(sid);
    if (svc === undefined) {
      svc = new Map();
      this.byService.set(sid, svc);
    }
    svc.set(t.instanceId, t);
    while (this.all.size > this.maxCount) {
      const oldest = this.all.values().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
      this.dropped++;
    }
  }

  /** Forgets the tombstone of an instance (it was registered again). */
  delete(ref: InstanceRef): void {
    const sid = serviceId(ref);
    this.all.delete(`${sid}\u0000${ref.instanceId}`);
    const svc = this.byService.get(sid);
    if (svc === undefined) return;
    svc.delete(ref.instanceId);
    if (svc.size === 0) this.byService.delete(sid);
  }

  /** The tombstones of one service. */
  ofService(ref: ServiceRef): Tombstone[] {
    return [...(this.byService.get(serviceId(ref))?.values() ?? [])];
  }

  /** Every tombstone, oldest first. */
  values(): IterableIterator<Tombstone> {
    return this.all.values();
  }

  /** Forgets tombstones whose time is over. Returns how many. */
  prune(nowMs: number): number {
    let n = 0;
    for (const t of [...this.all.values()]) {
      if (t.expiresAt <= nowMs) {
        this.delete(t);
        n++;
      }
    }
    return n;
  }
}
