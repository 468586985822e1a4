/**
 * Register / cancel workloads for fault scenarios, recorded in a WriteHistory. Every op goes to one
 * node picked at random among the targets; each instance id is touched by one op at a time (a
 * worker takes it out of the pool while its op is in flight), so the history is unambiguous. An id
 * whose op was uncertain is never used again.
 *
 * Ops: registers of new instances; cancels of registered ones (random ones from the pool, or
 * "fresh" ones: the newest registration of the same phase at least `minAgeMs` old, a register on
 * one node often followed by a cancel on the other); and re-registers of ids cancelled earlier (so a fix that lets a deletion win over a
 * later registration shows up as lost instances).
 */
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { FaultNode } from './fault-node.js';
import { keyOf, type WriteHistory } from './write-history.js';

export const GROUP = 'DEFAULT_GROUP';

/** Seeded PRNG (mulberry32): the same seed picks the same ops (timing still differs run to run). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PooledInstance {
  /** Service name (group DEFAULT_GROUP). */
  readonly service: string;
  readonly instanceId: string;
  /** Date.now() when its last op was acknowledged. */
  readonly sinceMs: number;
  /** The phase whose op put it here. */
  readonly phase: string;
}

/** A set with O(1) add, remove and random pick. */
class Bag {
  private readonly items: PooledInstance[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** Removes the item with this key; returns whether it was there. */
  remove(key: string): boolean {
    const i = this.index.get(key);
    if (i === undefined) return false;
    this.removeAt(i);
    return true;
  }

  add(p: PooledInstance): void {
    const k = keyOf(p.service, p.instanceId);
    if (this.index.has(k)) return;
    this.index.set(k, this.items.length);
    this.items.push(p);
  }

  /** Removes and returns a random item accepted by `eligible` (a few tries; undefined if none found). */
  take(random: () => number, eligible: (p: PooledInstance) => boolean): PooledInstance | undefined {
    for (let tries = 0; tries < 8 && this.items.length > 0; tries++) {
      const i = Math.floor(random() * this.items.length);
      const p = this.items[i];
      if (p !== undefined && eligible(p)) {
        this.removeAt(i);
        return p;
      }
    }
    return undefined;
  }

  private removeAt(i: number): void {
    const last = this.items.pop();
    const removed = this.items[i];
    if (last === undefined) return;
    if (removed === undefined) {
      // i was the last slot
      this.index.delete(keyOf(last.service, last.instanceId));
      return;
    }
    this.index.delete(keyOf(removed.service, removed.instanceId));
    this.items[i] = last;
    this.index.set(keyOf(last.service, last.instanceId), i);
  }
}

/** The instances a workload may cancel (registered) or register again (cancelled). */
export class InstancePool {
  readonly registered = new Bag();
  readonly cancelled = new Bag();
  /** Registrations in acknowledgement order (may hold ids taken or cancelled since; skipped). */
  private readonly recent: PooledInstance[] = [];
  private nextId = 0;

  /** Adds an acknowledged registration. */
  addRegistered(p: PooledInstance): void {
    this.registered.add(p);
    this.recent.push(p);
  }

  /**
   * Takes the most recent registration of `phase` acknowledged at least `minAgeMs` ago, if it is
   * still registered: churn, an instance cancelled soon after it registered (typically on the other
   * node), so that both its register and its cancel are still queued for a dead peer.
   */
  takeRecent(phase: string, nowMs: number, minAgeMs: number): PooledInstance | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const p = this.recent[i];
      if (p === undefined || nowMs - p.sinceMs < minAgeMs) continue;
      if (p.phase !== phase) return undefined;
      const key = keyOf(p.service, p.instanceId);
      if (!this.registered.has(key)) {
        this.recent.splice(i, 1);
        continue;
      }
      this.recent.splice(i, 1);
      this.registered.remove(key);
      return p;
    }
    return undefined;
  }

  /** A new, never used instance id. */
  newId(prefix: string): string {
    return `${prefix}-${String(this.nextId++).padStart(6, '0')}`;
  }

  /** Ordinal of an id made by newId (for a distinct ip/port per instance). */
  get issued(): number {
    return this.nextId;
  }
}

export interface Lease {
  readonly durationMs: number;
  readonly renewalIntervalMs: number;
}

/** Long leases: nothing expires during a run (the point is replication, not eviction). */
export const LONG_LEASE: Lease = { durationMs: 600_000, renewalIntervalMs: 300_000 };

export interface WorkloadSettings {
  readonly history: WriteHistory;
  readonly pool: InstancePool;
  /** Recorded with each op. */
  readonly phase: string;
  /** Nodes to send ops to (one picked at random per op). */
  readonly targets: readonly FaultNode[];
  /** Service names (group DEFAULT_GROUP); one is picked at random per new instance. */
  readonly services: readonly string[];
  /** Ops in flight (independent workers). */
  readonly concurrency: number;
  /** Share of ops that cancel (when something is eligible). 0 = registers only. */
  readonly cancelShare: number;
  /** Of the cancels, the share aimed at the most recent registration of this phase old enough (churn). */
  readonly freshCancelShare: number;
  /** Share of ops that register again an id cancelled earlier. */
  readonly reregisterShare: number;
  /** An instance is cancelled (or re-registered) only this long after its last op was acknowledged. */
  readonly minAgeMs: number;
  readonly lease: Lease;
  readonly random: () => number;
  /** Prefix of new instance ids. */
  readonly idPrefix: string;
}

export interface WorkloadResult {
  readonly ops: number;
  readonly durationMs: number;
}

function registerRequest(service: string, instanceId: string, ordinal: number, lease: Lease): RegisterRequest {
  return RegisterRequest.fromPartial({
    service,
    instance: {
      instanceId,
      ip: `10.${(ordinal >> 16) & 255}.${(ordinal >> 8) & 255}.${ordinal & 255}`,
      port: 8000 + (ordinal % 1000),
      lease: { durationMs: lease.durationMs, renewalIntervalMs: lease.renewalIntervalMs },
    },
  });
}

const serviceKey = (service: string): string => `${GROUP}@@${service}`;
const serviceName = (key: string): string => key.slice(key.indexOf('@@') + 2);

/** One register of a new instance; acknowledged ones join the pool. */
async function registerNew(s: WorkloadSettings, node: FaultNode): Promise<void> {
  const service = s.services[Math.floor(s.random() * s.services.length)] ?? 'fault';
  const ordinal = s.pool.issued;
  const id = s.pool.newId(s.idPrefix);
  const rec = await s.history.run('register', serviceKey(service), id, node.name, s.phase, () => node.client().register(registerRequest(service, id, ordinal, s.lease)));
  if (rec.outcome === 'ok') s.pool.addRegistered({ service: serviceKey(service), instanceId: id, sinceMs: Date.now(), phase: s.phase });
}

/** One op chosen by the settings' shares. */
async function oneOp(s: WorkloadSettings): Promise<void> {
  const node = s.targets[Math.floor(s.random() * s.targets.length)];
  if (node === undefined) throw new Error('no target nodes');
  const r = s.random();
  const now = Date.now();
  const oldEnough = (p: PooledInstance): boolean => now - p.sinceMs >= s.minAgeMs;
  if (r < s.cancelShare) {
    const victim = s.random() < s.freshCancelShare ? s.pool.takeRecent(s.phase, now, s.minAgeMs) : s.pool.registered.take(s.random, oldEnough);
    if (victim !== undefined) {
      const rec = await s.history.run('cancel', victim.service, victim.instanceId, node.name, s.phase, () =>
        node.client().cancel({ namespace: '', group: GROUP, service: serviceName(victim.service), instanceId: victim.instanceId }),
      );
      // ok: cancelled (may come back later); refused (not there on that node yet): still registered.
      if (rec.outcome === 'ok') s.pool.cancelled.add({ ...victim, sinceMs: Date.now(), phase: s.phase });
      else if (rec.outcome === 'refused') s.pool.registered.add(victim);
      return;
    }
  } else if (r < s.cancelShare + s.reregisterShare) {
    const again = s.pool.cancelled.take(s.random, oldEnough);
    if (again !== undefined) {
      const ordinal = Number(again.instanceId.slice(again.instanceId.lastIndexOf('-') + 1)) || 0;
      const rec = await s.history.run('register', again.service, again.instanceId, node.name, s.phase, () =>
        node.client().register(registerRequest(serviceName(again.service), again.instanceId, ordinal, s.lease)),
      );
      if (rec.outcome === 'ok') s.pool.addRegistered({ ...again, sinceMs: Date.now(), phase: s.phase });
      else if (rec.outcome === 'refused') s.pool.cancelled.add(again);
      return;
    }
  }
  await registerNew(s, node);
}

/**
 * Runs `concurrency` workers issuing ops until `done(opsSoFar)` returns true (checked before each
 * op); resolves once every op in flight has been answered.
 */
export async function runWorkload(s: WorkloadSettings, done: (ops: number) => boolean): Promise<WorkloadResult> {
  const started = performance.now();
  let ops = 0;
  const worker = async (): Promise<void> => {
    while (!done(ops)) {
      ops++;
      await oneOp(s);
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, worker));
  return { ops, durationMs: performance.now() - started };
}

/**
 * Instances with a short lease kept alive by renewals at the node that registered them (half at
 * each target), for "a node frozen past the lease evicts nothing of the live instances".
 */
export class Keepalive {
  private timer: NodeJS.Timeout | undefined;
  private readonly failures: { instanceId: string; node: string; message: string }[] = [];
  private renewals = 0;
  private readonly entries: { service: string; instanceId: string; node: FaultNode }[] = [];

  private constructor(private readonly lease: Lease) {}

  /** Registers `count` instances of `service` (recorded in the history, phase `live`) and starts renewing them. */
  static async start(history: WriteHistory, pool: InstancePool, targets: readonly FaultNode[], service: string, count: number, lease: Lease): Promise<Keepalive> {
    const k = new Keepalive(lease);
    for (let i = 0; i < count; i++) {
      const node = targets[i % targets.length];
      if (node === undefined) throw new Error('no target nodes');
      const ordinal = pool.issued;
      const id = pool.newId('live');
      const rec = await history.run('register', serviceKey(service), id, node.name, 'live', () => node.client().register(registerRequest(service, id, ordinal, lease)));
      if (rec.outcome !== 'ok') throw new Error(`could not register live instance ${id} at ${node.name}: ${rec.message}`);
      k.entries.push({ service, instanceId: id, node });
    }
    k.schedule();
    return k;
  }

  /** Keys (`group@@service/id`) of the live instances. */
  get keys(): string[] {
    return this.entries.map((e) => keyOf(serviceKey(e.service), e.instanceId));
  }

  get ids(): string[] {
    return this.entries.map((e) => e.instanceId);
  }

  /** Renewals answered OK so far. */
  get renewed(): number {
    return this.renewals;
  }

  /** Renewals that failed (NOT_FOUND means the node lost the instance). */
  get failed(): readonly { instanceId: string; node: string; message: string }[] {
    return this.failures;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.renewAll().finally(() => {
        if (this.timer !== undefined) this.schedule();
      });
    }, this.lease.renewalIntervalMs);
  }

  private async renewAll(): Promise<void> {
    await Promise.all(
      this.entries.map(async (e) => {
        try {
          await e.node.client().renew({ namespace: '', group: GROUP, service: e.service, instanceId: e.instanceId, lastDirtyTimestamp: 0 });
          this.renewals++;
        } catch (err) {
          this.failures.push({ instanceId: e.instanceId, node: e.node.name, message: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
  }
}
