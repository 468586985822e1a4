/**
 * A model check of the cluster's merge rules on pure registries sharing one manual clock: clients
 * register and cancel through random nodes; replication messages (and the answers to them) are
 * delivered late, out of order, duplicated or lost; a node is restarted from nothing and syncs from
 * a peer while messages queued for it are still on their way; at the end anti-entropy runs. Every
 * node must then equal the history of acknowledged writes: no acknowledged registration lost, no
 * acknowledged cancel resurrected. Hundreds of seeded random runs.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { RegistryError } from '../../src/core/errors.js';
import type { InstanceRef } from '../../src/core/model.js';
import { Registry, type InstanceState, type ReplicaEntry, type WriteEvent } from '../../src/core/registry.js';
import type { Tombstone } from '../../src/core/tombstones.js';

function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Msg =
  | { readonly to: number; readonly from: number; readonly kind: 'put'; readonly ref: InstanceRef; readonly state: InstanceState; readonly lastRenewalMs: number }
  | { readonly to: number; readonly from: number; readonly kind: 'tomb'; readonly tombstone: Tombstone }
  | { readonly to: number; readonly from: number; readonly kind: 'beat'; readonly ref: InstanceRef; readonly version: number; readonly at: number };

function stateOf(e: { record: InstanceState & { instanceId: string } }): InstanceState {
  const { instanceId: _i, registrationTimestamp: _r, serviceUpTimestamp: _s, evictionTimestamp: _e, ...state } = e.record as never as Record<string, unknown>;
  return state as unknown as InstanceState;
}

function addressOf(e: ReplicaEntry): InstanceRef {
  return { namespace: e.namespace, group: e.group, service: e.service, instanceId: e.record.instanceId };
}

class Sim {
  readonly clock = new ManualClock(1_700_000_000_000);
  nodes: Registry[] = [];
  net: Msg[] = [];
  /** Messages to a node that is down or cut off, held until it is back. */
  held: Msg[] = [];
  down = new Set<number>();
  /**
   * Per node, the newest cancel of each instance it has learned of (or, after a restart, that the
   * peer it synced from had): it must never again hold an older copy. Checked after every step.
   */
  knownCancels: Map<string, number>[] = [];
  transient: string[] = [];
  constructor(
    readonly n: number,
    readonly random: () => number,
  ) {
    for (let i = 0; i < n; i++) {
      this.nodes.push(this.fresh(i));
      this.knownCancels.push(new Map());
    }
  }

  learnCancel(node: number, t: Tombstone): void {
    const known = this.knownCancels[node] as Map<string, number>;
    const k = `${t.service}/${t.instanceId}`;
    known.set(k, Math.max(known.get(k) ?? 0, t.version));
  }

  /** No node holds a copy older than a cancel it has learned of. */
  checkNoResurrection(when: string): void {
    this.nodes.forEach((r, n) => {
      const known = this.knownCancels[n] as Map<string, number>;
      for (const e of r.replicaEntries()) {
        const cancel = known.get(`${e.service}/${e.record.instanceId}`) ?? 0;
        if (e.record.version < cancel) this.transient.push(`${when}: node ${n} holds ${e.record.instanceId} at ${e.record.version} after learning of its cancel at ${cancel}`);
      }
    });
  }

  fresh(i: number): Registry {
    const r = new Registry({ clock: this.clock, random: this.random, options: { selfPreservation: false } });
    r.onWrite((e) => {
      this.onWrite(i, e);
    });
    return r;
  }

  private send(m: Msg): void {
    (this.down.has(m.to) || this.down.has(m.from) ? this.held : this.net).push(m);
  }

  private onWrite(from: number, e: WriteEvent): void {
    if (e.kind === 'cancel') this.learnCancel(from, e.tombstone);
    if (e.replication) return; // never replicated again
    for (let to = 0; to < this.n; to++) {
      if (to === from) continue;
      switch (e.kind) {
        case 'register':
        case 'status':
        case 'delete-override':
          this.send({ to, from, kind: 'put', ref: e.ref, state: stateOf({ record: e.record }), lastRenewalMs: this.clock.nowMs() });
          break;
        case 'renew':
          this.send({ to, from, kind: 'beat', ref: e.ref, version: e.record.version, at: e.lastRenewalMs });
          break;
        case 'cancel':
          this.send({ to, from, kind: 'tomb', tombstone: e.tombstone });
          break;
      }
    }
  }

  /** Applies one message at its receiver; the answer goes back as a message too. */
  deliver(m: Msg): void {
    const r = this.nodes[m.to] as Registry;
    const back = (answer: { kind: string; record?: unknown; lastRenewalMs?: number; tombstone?: Tombstone }, ref: InstanceRef): void => {
      if (answer.kind === 'newer-here' && answer.record !== undefined) {
        this.send({ to: m.from, from: m.to, kind: 'put', ref, state: stateOf({ record: answer.record as never }), lastRenewalMs: answer.lastRenewalMs ?? 0 });
      } else if (answer.kind === 'deleted' && answer.tombstone !== undefined) {
        this.send({ to: m.from, from: m.to, kind: 'tomb', tombstone: answer.tombstone });
      } else if (answer.kind === 'unknown') {
        // The receiver asks for the record: the sender sends what it holds now, if anything.
        const sender = this.nodes[m.from] as Registry;
        const e = sender.replicaOf(ref).entries.find((x) => x.record.instanceId === ref.instanceId);
        if (e !== undefined) this.send({ to: m.to, from: m.from, kind: 'put', ref, state: stateOf(e), lastRenewalMs: e.lastRenewalMs });
      }
    };
    switch (m.kind) {
      case 'put':
        back(r.applyReplica(m.ref, m.state, m.lastRenewalMs), m.ref);
        break;
      case 'tomb':
        this.learnCancel(m.to, m.tombstone);
        back(r.applyTombstone(m.tombstone), m.tombstone);
        break;
      case 'beat':
        back(r.renewReplica(m.ref, m.version, m.at), m.ref);
        break;
    }
  }

  /** A node restarts with nothing and syncs from a peer: tombstones first, then instances. */
  restart(i: number, from: number): void {
    this.nodes[i] = this.fresh(i);
    this.knownCancels[i] = new Map(this.knownCancels[from]);
    const src = this.nodes[from] as Registry;
    const dst = this.nodes[i];
    for (const t of src.tombstoneList()) dst.applyTombstone(t);
    for (const e of src.replicaEntries()) dst.applyReplica(addressOf(e), stateOf(e), e.lastRenewalMs);
  }

  /** Anti-entropy: each node merges each peer's state of the services whose digests differ. */
  antiEntropy(): void {
    for (let i = 0; i < this.n; i++) {
      for (let j = 0; j < this.n; j++) {
        if (i === j) continue;
        const mine = new Map((this.nodes[i] as Registry).replicaDigests().map((d) => [`${d.group}/${d.service}`, d.digest]));
        const theirs = (this.nodes[j] as Registry).replicaDigests();
        const differing = new Set<string>();
        for (const d of theirs) if (mine.get(`${d.group}/${d.service}`) !== d.digest) differing.add(d.service);
        for (const [k] of mine) if (!theirs.some((d) => `${d.group}/${d.service}` === k)) differing.add(k.split('/')[1] ?? '');
        for (const service of differing) {
          const state = (this.nodes[j] as Registry).replicaOf({ service });
          for (const t of state.tombstones) {
            this.learnCancel(i, t);
            (this.nodes[i] as Registry).applyTombstone(t);
          }
          for (const e of state.entries) (this.nodes[i] as Registry).applyReplica(addressOf(e), stateOf(e), e.lastRenewalMs);
        }
      }
    }
  }
}

interface Acked {
  readonly op: 'register' | 'cancel';
  readonly payload: string;
}

function run(seed: number): { violations: string[]; acked: number; refused: number } {
  const random = prng(seed);
  const pick = (k: number): number => Math.floor(random() * k);
  const sim = new Sim(3, random);
  const keys = Array.from({ length: 12 }, (_, i) => `i-${i}`);
  const last = new Map<string, Acked>();
  let acked = 0;
  let refused = 0;
  const services = ['s0', 's1'];
  const serviceOf = (id: string): string => services[Number(id.slice(2)) % 2] as string;

  const clientOp = (node: number): void => {
    const id = keys[pick(keys.length)] as string;
    const r = sim.nodes[node] as Registry;
    const payload = `${seed}-${acked + refused}`;
    try {
      if (random() < 0.6) {
        r.register({ service: serviceOf(id), instance: { instanceId: id, ip: '10.0.0.1', port: 80, metadata: { p: payload }, leaseDurationMs: 86_400_000, renewalIntervalMs: 30_000 } });
        last.set(id, { op: 'register', payload });
      } else {
        r.cancel({ service: serviceOf(id), instanceId: id });
        last.set(id, { op: 'cancel', payload });
      }
      acked++;
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      refused++;
    }
  };
  const step = (writers: number[]): void => {
    sim.clock.advance(1 + pick(5));
    const x = random();
    if (x < 0.35) clientOp(writers[pick(writers.length)] as number);
    else if (sim.net.length > 0) {
      const m = sim.net.splice(pick(sim.net.length), 1)[0] as Msg;
      const y = random();
      if (y < 0.05) return; // lost
      sim.deliver(m);
      if (y > 0.95) sim.net.push(m); // duplicated, delivered again later
    }
    sim.checkNoResurrection('step');
  };

  // Normal operation, then node 2 dies (after its own writes have gone out), the others go on.
  for (let i = 0; i < 150; i++) step([0, 1, 2]);
  while (sim.net.some((m) => m.from === 2)) sim.deliver(sim.net.splice(sim.net.findIndex((m) => m.from === 2), 1)[0] as Msg);
  sim.down.add(2);
  sim.held.push(...sim.net.filter((m) => m.to === 2));
  sim.net = sim.net.filter((m) => m.to !== 2);
  for (let i = 0; i < 150; i++) step([0, 1]);
  // Node 2 restarts with nothing and syncs from one peer; what was queued for it arrives later, in
  // any order, some of it expired (dropped), while writes go on everywhere.
  sim.down.delete(2);
  sim.restart(2, pick(2));
  sim.checkNoResurrection('restart');
  for (const m of sim.held) if (random() > 0.2) sim.net.push(m);
  sim.held = [];
  for (let i = 0; i < 150; i++) step([0, 1, 2]);
  while (sim.net.length > 0) {
    const m = sim.net.splice(pick(sim.net.length), 1)[0] as Msg;
    if (random() > 0.05) sim.deliver(m);
  }
  sim.antiEntropy();
  while (sim.net.length > 0) sim.deliver(sim.net.shift() as Msg);
  sim.antiEntropy();

  sim.checkNoResurrection('end');
  const violations: string[] = [...new Set(sim.transient)].slice(0, 10);
  sim.nodes.forEach((r, n) => {
    for (const id of keys) {
      const want = last.get(id);
      const held = r.replicaOf({ service: serviceOf(id) }).entries.find((e) => e.record.instanceId === id);
      if (want?.op === 'register' && held?.record.metadata.p !== want.payload) {
        violations.push(`node ${n}: ${id} lost (want ${want.payload}, holds ${held?.record.metadata.p ?? 'nothing'})`);
      }
      if (want?.op === 'cancel' && held !== undefined) violations.push(`node ${n}: ${id} resurrected (${held.record.metadata.p ?? ''})`);
      if (want === undefined && held !== undefined) violations.push(`node ${n}: ${id} never acknowledged`);
    }
    for (const e of r.replicaEntries()) if (!keys.includes(e.record.instanceId)) violations.push(`node ${n}: unknown instance ${e.record.instanceId}`);
  });
  return { violations, acked, refused };
}

describe('cluster merge rules (model check)', () => {
  it('every node equals the acknowledged history after late, lost, duplicated and reordered replication and a restart', () => {
    let totalAcked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { violations, acked } = run(seed);
      totalAcked += acked;
      expect(violations, `seed ${seed}`).toEqual([]);
    }
    expect(totalAcked).toBeGreaterThan(10_000);
  });
});
