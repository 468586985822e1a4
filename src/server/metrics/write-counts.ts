/**
 * Registrations, renews and cancels counted by transport and outcome: plain integers in one typed
 * array, bumped on the write path (a few nanoseconds: no labels hashed, no allocation), read by the
 * metrics at scrape time. `counted()` gives a transport its view of the registry with the counting
 * built in, so no handler has to remember to count. Bounded: 3 kinds × 4 transports × 7 outcomes.
 */
import { RegistryError, type RegistryErrorCode } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';

export const WRITE_KINDS = ['register', 'renew', 'cancel'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/** Where a write came from: a client over gRPC, Nacos HTTP or Eureka REST, or a peer replicating one. */
export const WRITE_TRANSPORTS = ['grpc', 'nacos', 'eureka', 'peer'] as const;
export type WriteTransport = (typeof WRITE_TRANSPORTS)[number];

/** What the registry answered: done, or the refusal's kind (`error`: anything unexpected). */
export const WRITE_OUTCOMES = ['ok', 'invalid', 'not_found', 'conflict', 'limit', 'denied', 'error'] as const;
export type WriteOutcome = (typeof WRITE_OUTCOMES)[number];

const OUTCOME_OF_CODE: Readonly<Record<RegistryErrorCode, WriteOutcome>> = {
  INVALID_ARGUMENT: 'invalid',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  LIMIT_EXCEEDED: 'limit',
  PERMISSION_DENIED: 'denied',
};

const K = WRITE_KINDS.length;
const T = WRITE_TRANSPORTS.length;
const O = WRITE_OUTCOMES.length;
const KIND_INDEX: Readonly<Record<WriteKind, number>> = { register: 0, renew: 1, cancel: 2 };
const TRANSPORT_INDEX: Readonly<Record<WriteTransport, number>> = { grpc: 0, nacos: 1, eureka: 2, peer: 3 };
const OK = 0;
const CONFLICT = WRITE_OUTCOMES.indexOf('conflict');
const NOT_FOUND = WRITE_OUTCOMES.indexOf('not_found');
const ERROR = WRITE_OUTCOMES.indexOf('error');

function outcomeIndexOf(e: unknown): number {
  return e instanceof RegistryError ? WRITE_OUTCOMES.indexOf(OUTCOME_OF_CODE[e.code]) : ERROR;
}

/** How a peer's write was merged, as an outcome: newer here is a conflict, unknown here is not found. */
function replicaOutcome(r: { readonly kind: string }): number {
  if (r.kind === 'newer-here' || r.kind === 'deleted') return CONFLICT;
  if (r.kind === 'unknown') return NOT_FOUND;
  return OK;
}

function bump(counts: Float64Array, i: number): void {
  counts[i] = (counts[i] ?? 0) + 1;
}

/** One count per kind, transport and outcome. */
export interface WriteCount {
  readonly kind: WriteKind;
  readonly transport: WriteTransport;
  readonly outcome: WriteOutcome;
  readonly count: number;
}

type Wrapped = Pick<Registry, 'register' | 'renew' | 'cancel' | 'applyReplica' | 'renewReplica' | 'applyTombstone'>;

export class WriteCounts {
  private readonly counts = new Float64Array(K * T * O);

  /** Counts one write. */
  add(kind: WriteKind, transport: WriteTransport, outcome: WriteOutcome): void {
    bump(this.counts, (KIND_INDEX[kind] * T + TRANSPORT_INDEX[transport]) * O + WRITE_OUTCOMES.indexOf(outcome));
  }

  /** Every count above zero. */
  snapshot(): WriteCount[] {
    const out: WriteCount[] = [];
    for (let k = 0; k < K; k++)
      for (let t = 0; t < T; t++)
        for (let o = 0; o < O; o++) {
          const count = this.counts[(k * T + t) * O + o] ?? 0;
          if (count > 0) out.push({ kind: WRITE_KINDS[k] ?? 'register', transport: WRITE_TRANSPORTS[t] ?? 'grpc', outcome: WRITE_OUTCOMES[o] ?? 'error', count });
        }
    return out;
  }

  /**
   * `registry` as `transport` sees it: the same object in every respect, except that its writes are
   * counted (as `peer` when the write context says it is a replication, as Eureka's peers send).
   */
  counted<R extends object>(registry: R & Wrapped, transport: WriteTransport): R {
    const counts = this.counts;
    const base = TRANSPORT_INDEX[transport];
    const peer = TRANSPORT_INDEX.peer;
    const at = (kind: number, replication: boolean | undefined): number => (kind * T + (replication === true ? peer : base)) * O;
    const count = <A extends unknown[], Res>(kind: number, fn: (...args: A) => Res, replicationOf: (args: A) => boolean | undefined, outcome?: (r: Res) => number) => {
      return (...args: A): Res => {
        const i = at(kind, replicationOf(args));
        let r: Res;
        try {
          r = fn.apply(registry, args);
        } catch (e) {
          bump(counts, i + outcomeIndexOf(e));
          throw e;
        }
        bump(counts, i + (outcome === undefined ? OK : outcome(r)));
        return r;
      };
    };
    const viaContext = (args: readonly unknown[]): boolean | undefined => (args[1] as { replication?: boolean } | undefined)?.replication;
    const asPeer = (): boolean => true;
    const own: Record<PropertyKey, unknown> = {
      register: count(0, registry.register, viaContext),
      renew: count(1, registry.renew, viaContext),
      cancel: count(2, registry.cancel, viaContext),
      applyReplica: count(0, registry.applyReplica, asPeer, replicaOutcome),
      renewReplica: count(1, registry.renewReplica, asPeer, replicaOutcome),
      applyTombstone: count(2, registry.applyTombstone, asPeer, replicaOutcome),
    };
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(registry, {
      get(target, prop) {
        if (Object.prototype.hasOwnProperty.call(own, prop)) return own[prop];
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        let b = bound.get(prop);
        if (b === undefined) {
          b = (v as (...a: unknown[]) => unknown).bind(target);
          bound.set(prop, b);
        }
        return b;
      },
    });
  }
}
