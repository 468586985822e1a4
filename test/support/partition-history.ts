/**
 * A small model of acknowledged history for register/cancel tests: what each client asked for, in
 * order, per instance id, with the server's answer; and the final states a correct registry may
 * show for each id, to compare with what every node holds.
 *
 * Assumptions (the tests keep them): each id is written by one client, one write at a time; a
 * write is identified by a version the client puts in the instance's metadata (`v`), so a copy
 * shows which register it came from. Answers fall in three kinds: acknowledged (it happened),
 * rejected (a status by which the server says nothing changed, as herald's README promises for a
 * rejected request), or indeterminate (a deadline, a broken connection: it may or may not have
 * happened, but not after the client's next write).
 */

/** One write a client made. */
export type Write = { readonly kind: 'register'; readonly version: number } | { readonly kind: 'cancel' };

export type Outcome = 'acknowledged' | 'rejected' | 'indeterminate';

export interface WriteRecord {
  readonly id: string;
  readonly write: Write;
  readonly outcome: Outcome;
  /** Who wrote it through which node, for reports. */
  readonly via: string;
  readonly detail?: string;
}

/** A final state of one id: absent, or present with the version of the register it comes from. */
export type IdState = { readonly present: false } | { readonly present: true; readonly version: number };

export interface Discrepancy {
  readonly id: string;
  /** The states the history allows. */
  readonly allowed: readonly IdState[];
  readonly observed: IdState;
}

export interface Verdict {
  /** An acknowledged register with no later acknowledged cancel, and the id is absent. */
  readonly lost: readonly Discrepancy[];
  /** The last acknowledged write is a cancel, and the id is present. */
  readonly resurrected: readonly Discrepancy[];
  /** Present, but from a register the history has since superseded. */
  readonly stale: readonly Discrepancy[];
  /** Present, but never written by anyone. */
  readonly unexpected: readonly Discrepancy[];
}

/** gRPC codes by which the server refused a request outright (nothing changed). */
const REJECTED_CODES = new Set([3 /* INVALID_ARGUMENT */, 5 /* NOT_FOUND */, 6 /* ALREADY_EXISTS */, 7 /* PERMISSION_DENIED */, 8 /* RESOURCE_EXHAUSTED */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */, 16 /* UNAUTHENTICATED */]);

/** The kind of outcome a gRPC answer is: OK, a refusal, or anything else (unknown effect). */
export function outcomeOf(reply: { readonly ok: boolean; readonly code?: number }): Outcome {
  if (reply.ok) return 'acknowledged';
  return reply.code !== undefined && REJECTED_CODES.has(reply.code) ? 'rejected' : 'indeterminate';
}

const ABSENT: IdState = { present: false };

function same(a: IdState, b: IdState): boolean {
  return a.present === b.present && (!a.present || (b.present && a.version === b.version));
}

function effect(w: Write): IdState {
  return w.kind === 'register' ? { present: true, version: w.version } : ABSENT;
}

export function formatState(s: IdState): string {
  return s.present ? `v${s.version}` : 'absent';
}

export class WriteHistory {
  private readonly byId = new Map<string, WriteRecord[]>();

  /** Records one write and its outcome (in the order the writing client made them). */
  add(record: WriteRecord): void {
    const list = this.byId.get(record.id) ?? [];
    list.push(record);
    this.byId.set(record.id, list);
  }

  get ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  writes(id: string): readonly WriteRecord[] {
    return this.byId.get(id) ?? [];
  }

  /** Every write, for reports. */
  get all(): WriteRecord[] {
    return [...this.byId.values()].flat();
  }

  /** The states `id` may be in now (absent for an id never written). */
  allowed(id: string): IdState[] {
    let states: IdState[] = [ABSENT];
    for (const r of this.byId.get(id) ?? []) {
      if (r.outcome === 'acknowledged') states = [effect(r.write)];
      else if (r.outcome === 'indeterminate') states = [...states.filter((s) => !same(s, effect(r.write))), effect(r.write)];
    }
    return states;
  }

  /** The ids that must be present (their only allowed state is a present one), with the version. */
  mustHold(): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.ids) {
      const a = this.allowed(id);
      const only = a[0];
      if (a.length === 1 && only?.present === true) out.set(id, only.version);
    }
    return out;
  }

  /**
   * Compares a node's holdings (id → version from metadata `v`, for every instance of the service)
   * with the history.
   */
  check(observed: ReadonlyMap<string, number>): Verdict {
    const lost: Discrepancy[] = [];
    const resurrected: Discrepancy[] = [];
    const stale: Discrepancy[] = [];
    const unexpected: Discrepancy[] = [];
    for (const id of this.ids) {
      const allowed = this.allowed(id);
      const v = observed.get(id);
      const obs: IdState = v === undefined ? ABSENT : { present: true, version: v };
      if (allowed.some((s) => same(s, obs))) continue;
      const d = { id, allowed, observed: obs };
      if (!obs.present) lost.push(d);
      else if (allowed.every((s) => !s.present)) resurrected.push(d);
      else if (this.writes(id).some((r) => r.write.kind === 'register' && r.write.version === obs.version)) stale.push(d);
      else unexpected.push(d);
    }
    for (const [id, version] of observed) {
      if (!this.byId.has(id)) unexpected.push({ id, allowed: [ABSENT], observed: { present: true, version } });
    }
    return { lost, resurrected, stale, unexpected };
  }
}

/** True when a verdict found nothing wrong. */
export function clean(v: Verdict): boolean {
  return v.lost.length + v.resurrected.length + v.stale.length + v.unexpected.length === 0;
}

/** One line per discrepancy kind, e.g. `lost 2 [a-1 (want v1, saw absent), …]`. */
export function describeVerdict(v: Verdict): string {
  const part = (name: string, ds: readonly Discrepancy[]): string =>
    `${name} ${ds.length}${ds.length === 0 ? '' : ` [${ds.map((d) => `${d.id} (want ${d.allowed.map(formatState).join('|')}, saw ${formatState(d.observed)})`).join(', ')}]`}`;
  return [part('lost', v.lost), part('resurrected', v.resurrected), part('stale', v.stale), part('unexpected', v.unexpected)].join('; ');
}
