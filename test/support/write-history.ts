/**
 * The history of the registers and cancels clients issued, with their outcomes, and the check of
 * each node's registry against it (pure: no I/O, no clock).
 *
 * Outcomes:
 * - `ok`: acknowledged; the write happened.
 * - `refused`: a live server answered with an error status (NOT_FOUND, INVALID_ARGUMENT, …); the
 *   write changed nothing.
 * - `uncertain`: no answer (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED, a transport error): it may
 *   or may not have happened.
 *
 * Each instance key (`group@@service/instanceId`) is written by one client at a time, sequentially,
 * so its operations are totally ordered. Its expected final state:
 * - present: the last acknowledged op is a register and no uncertain op follows it;
 * - absent: the last acknowledged op is a cancel (or there is none) and no uncertain op follows it;
 * - either: an uncertain op follows the last acknowledged one.
 *
 * What a node holds is then, per key: `lost` (expected present, missing), `resurrected` (the last
 * acknowledged op was a cancel, yet present), `unexpected` (present, but no register of it was ever
 * acknowledged or uncertain).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export type OpKind = 'register' | 'cancel';
export type Outcome = 'ok' | 'refused' | 'uncertain';
export type Expectation = 'present' | 'absent' | 'either';

/** One node's registry: instance ids per service key (`group@@service`). */
export type RegistrySnapshot = ReadonlyMap<string, ReadonlySet<string>>;

export interface OpRecord {
  /** Issue order across the whole history. */
  readonly seq: number;
  readonly kind: OpKind;
  /** `group@@service`. */
  readonly service: string;
  readonly instanceId: string;
  /** The node the client sent it to. */
  readonly node: string;
  readonly outcome: Outcome;
  /** gRPC status code of a refused or uncertain op (undefined when ok or not a gRPC error). */
  readonly code: number | undefined;
  readonly message: string;
  /** Which phase of a scenario issued it (free text: "seed", "fault", …). */
  readonly phase: string;
}

/** Status codes that mean "no answer from the server": the op may or may not have been applied. */
const UNCERTAIN_CODES: ReadonlySet<number> = new Set([GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.UNAVAILABLE, GrpcStatus.CANCELLED, GrpcStatus.UNKNOWN, GrpcStatus.INTERNAL]);

/** Classifies a failed call: refused (a live server's answer) or uncertain. */
export function classifyError(e: unknown): { outcome: Exclude<Outcome, 'ok'>; code: number | undefined; message: string } {
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  if (code === undefined || UNCERTAIN_CODES.has(code)) return { outcome: 'uncertain', code, message };
  return { outcome: 'refused', code, message };
}

export const keyOf = (service: string, instanceId: string): string => `${service}/${instanceId}`;

export interface KeyState {
  readonly service: string;
  readonly instanceId: string;
  readonly expected: Expectation;
  /** The last acknowledged op, if any. */
  readonly lastAcknowledged: OpKind | undefined;
  /** Whether any register of the key was acknowledged or uncertain (so it may ever have existed). */
  readonly everRegistered: boolean;
}

export interface OutcomeCounts {
  readonly ok: number;
  readonly refused: number;
  readonly uncertain: number;
}

export class WriteHistory {
  private readonly ops: OpRecord[] = [];
  private readonly inFlight = new Set<string>();

  /** Records an op issued and answered elsewhere. */
  record(op: Omit<OpRecord, 'seq'>): OpRecord {
    const rec = { ...op, seq: this.ops.length };
    this.ops.push(rec);
    return rec;
  }

  /**
   * Runs one write and records it with its outcome. Rejects (without recording) when another op
   * on the same key is still in flight: a key's ops must be sequential for the history to be exact.
   */
  async run(kind: OpKind, service: string, instanceId: string, node: string, phase: string, call: () => Promise<unknown>): Promise<OpRecord> {
    const key = keyOf(service, instanceId);
    if (this.inFlight.has(key)) throw new Error(`concurrent ops on ${key}: the history would be ambiguous`);
    this.inFlight.add(key);
    try {
      await call();
      return this.record({ kind, service, instanceId, node, phase, outcome: 'ok', code: undefined, message: '' });
    } catch (e) {
      return this.record({ kind, service, instanceId, node, phase, ...classifyError(e) });
    } finally {
      this.inFlight.delete(key);
    }
  }

  all(): readonly OpRecord[] {
    return this.ops;
  }

  /** Outcome counts, optionally of one phase and/or kind. */
  counts(filter: { phase?: string; kind?: OpKind } = {}): OutcomeCounts {
    let ok = 0;
    let refused = 0;
    let uncertain = 0;
    for (const o of this.ops) {
      if (filter.phase !== undefined && o.phase !== filter.phase) continue;
      if (filter.kind !== undefined && o.kind !== filter.kind) continue;
      if (o.outcome === 'ok') ok++;
      else if (o.outcome === 'refused') refused++;
      else uncertain++;
    }
    return { ok, refused, uncertain };
  }

  /** The expected state of every key ever written, by key. */
  expectations(): Map<string, KeyState> {
    const acc = new Map<string, { service: string; instanceId: string; last: OpKind | undefined; uncertainAfter: boolean; everRegistered: boolean }>();
    for (const o of this.ops) {
      const k = keyOf(o.service, o.instanceId);
      const s = acc.get(k) ?? { service: o.service, instanceId: o.instanceId, last: undefined, uncertainAfter: false, everRegistered: false };
      if (o.outcome === 'ok') {
        s.last = o.kind;
        s.uncertainAfter = false;
      } else if (o.outcome === 'uncertain') {
        s.uncertainAfter = true;
      }
      if (o.kind === 'register' && o.outcome !== 'refused') s.everRegistered = true;
      acc.set(k, s);
    }
    const out = new Map<string, KeyState>();
    for (const [k, s] of acc) {
      const expected: Expectation = s.uncertainAfter ? 'either' : s.last === 'register' ? 'present' : 'absent';
      out.set(k, { service: s.service, instanceId: s.instanceId, expected, lastAcknowledged: s.last, everRegistered: s.everRegistered });
    }
    return out;
  }

  /** The instance ids each service must hold (expected present), by service key. */
  expectedPresent(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const s of this.expectations().values()) {
      if (s.expected !== 'present') continue;
      const ids = out.get(s.service) ?? new Set<string>();
      ids.add(s.instanceId);
      out.set(s.service, ids);
    }
    return out;
  }

  /** The ops of one key, in order (for failure messages). */
  opsOf(service: string, instanceId: string): OpRecord[] {
    return this.ops.filter((o) => o.service === service && o.instanceId === instanceId);
  }
}

/** How one node's registry compares with the history. Keys are `group@@service/instanceId`. */
export interface NodeVerdict {
  readonly node: string;
  /** Expected present, missing. */
  readonly lost: string[];
  /** The last acknowledged op was a cancel (and no uncertain op after it), yet present. */
  readonly resurrected: string[];
  /** Present, but no register of it was ever acknowledged (or left uncertain). */
  readonly unexpected: string[];
  /** Keys whose state is "either way", and whether present here. */
  readonly eitherPresent: number;
  readonly eitherAbsent: number;
  /** Instances held. */
  readonly instances: number;
}

export interface HistoryCheck {
  readonly nodes: NodeVerdict[];
  /** Every node holds exactly the same instances. */
  readonly agree: boolean;
  /** Keys some node holds and another does not (at most 50, for messages). */
  readonly disagreements: string[];
  /** Every node equals the acknowledged history and they agree. */
  readonly ok: boolean;
}

function flatten(snapshot: RegistrySnapshot): Set<string> {
  const out = new Set<string>();
  for (const [service, ids] of snapshot) for (const id of ids) out.add(keyOf(service, id));
  return out;
}

/**
 * Checks every node's snapshot against the history. `scope` limits the check to some services
 * (default: every service of the snapshots and the history).
 */
export function checkHistory(history: WriteHistory, snapshots: ReadonlyMap<string, RegistrySnapshot>, scope?: (service: string) => boolean): HistoryCheck {
  const inScope = scope ?? ((): boolean => true);
  const expectations = [...history.expectations().entries()].filter(([, s]) => inScope(s.service));
  const byKey = new Map(expectations);
  const held = new Map([...snapshots].map(([name, snap]) => [name, new Set([...flatten(snap)].filter((k) => inScope(k.slice(0, k.indexOf('/')))))]));
  const nodes: NodeVerdict[] = [];
  for (const [name, keys] of held) {
    const lost: string[] = [];
    const resurrected: string[] = [];
    const unexpected: string[] = [];
    let eitherPresent = 0;
    let eitherAbsent = 0;
    for (const [k, s] of expectations) {
      const present = keys.has(k);
      if (s.expected === 'present' && !present) lost.push(k);
      else if (s.expected === 'absent' && present) (s.lastAcknowledged === 'cancel' ? resurrected : unexpected).push(k);
      else if (s.expected === 'either') {
        if (present) eitherPresent++;
        else eitherAbsent++;
      }
    }
    for (const k of keys) if (!byKey.has(k)) unexpected.push(k);
    nodes.push({ node: name, lost: lost.sort(), resurrected: resurrected.sort(), unexpected: unexpected.sort(), eitherPresent, eitherAbsent, instances: keys.size });
  }
  const all = [...held.values()];
  const union = new Set(all.flatMap((s) => [...s]));
  const disagreements = [...union].filter((k) => !all.every((s) => s.has(k))).sort();
  const agree = disagreements.length === 0;
  return {
    nodes,
    agree,
    disagreements: disagreements.slice(0, 50),
    ok: agree && nodes.every((n) => n.lost.length + n.resurrected.length + n.unexpected.length === 0),
  };
}

/** Totals over nodes: the worst node's counts (each node is checked on its own). */
export function worstCounts(check: HistoryCheck): { lost: number; resurrected: number; unexpected: number } {
  return {
    lost: Math.max(0, ...check.nodes.map((n) => n.lost.length)),
    resurrected: Math.max(0, ...check.nodes.map((n) => n.resurrected.length)),
    unexpected: Math.max(0, ...check.nodes.map((n) => n.unexpected.length)),
  };
}

/**
 * A failure message: per node the counts and the offending keys (up to `maxIds` of each kind), the
 * history of a few of them, and whether the nodes agree.
 */
export function describeCheck(check: HistoryCheck, history: WriteHistory, maxIds = 25): string {
  const list = (ids: readonly string[]): string => (ids.length === 0 ? '-' : `${ids.slice(0, maxIds).join(', ')}${ids.length > maxIds ? `, … (${ids.length - maxIds} more)` : ''}`);
  const lines: string[] = [];
  for (const n of check.nodes) {
    lines.push(
      `node ${n.node}: ${n.instances} instances; lost ${n.lost.length}, resurrected ${n.resurrected.length}, unexpected ${n.unexpected.length} (either-way keys: ${n.eitherPresent} present, ${n.eitherAbsent} absent)`,
      `  lost:        ${list(n.lost)}`,
      `  resurrected: ${list(n.resurrected)}`,
      `  unexpected:  ${list(n.unexpected)}`,
    );
  }
  lines.push(check.agree ? 'the nodes agree with each other' : `the nodes DISAGREE on ${check.disagreements.length >= 50 ? '50+' : String(check.disagreements.length)} keys: ${list(check.disagreements)}`);
  const examples = [...new Set(check.nodes.flatMap((n) => [...n.resurrected.slice(0, 2), ...n.lost.slice(0, 2)]))].slice(0, 4);
  for (const k of examples) {
    const slash = k.indexOf('/');
    const ops = history.opsOf(k.slice(0, slash), k.slice(slash + 1));
    lines.push(`history of ${k}: ${ops.map((o) => `${o.kind}@${o.node}=${o.outcome}${o.code === undefined ? '' : `(${o.code})`} [${o.phase}]`).join(' → ')}`);
  }
  return lines.join('\n');
}
