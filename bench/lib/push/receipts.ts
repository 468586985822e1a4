/**
 * How the receipts of one run are summarised. Every load process tallies its subscribers (or UDP
 * targets; subscriber-tally.ts) and returns the latency of each received measured change with the
 * change's number and the subscriber's index. From those samples:
 *
 * - totals: received, skipped, missing (received + skipped + missing = changes × subscribers) and
 *   the latency of received changes;
 * - per change: when the first and the last subscriber received it. The first receipt is the
 *   server's reaction (RPC, merge window, first write); last − first is the fan-out time;
 * - by place in the fan-out: each load process opens its subscribers in index order, so within a
 *   process a lower index is an earlier place in the server's subscriber list, which a fan-out
 *   walks in order. Each process's subscribers are split into tenths by index; if a fan-out's
 *   duration is the limit, latency grows tenth by tenth;
 * - freshness: for every subscriber and measured change k, the time from k's issue until the
 *   subscriber holds k *or a newer change*. For a received change this is its latency; for a
 *   skipped one it is measured at the newer snapshot that replaced it. A subscriber that is updated
 *   rarely shows up here, while its latency (received changes only) can look good.
 */
import { summarize, type LatencySummary } from '../stats.js';
import type { TallyResult } from './subscriber-tally.js';

const GROUPS = 10;

export interface ReceiptTotals {
  /** Measured changes × subscribers. */
  readonly expected: number;
  readonly received: number;
  readonly skipped: number;
  readonly missing: number;
  /** Snapshots whose change number went backwards (should never happen). */
  readonly regressions: number;
  readonly latencyMs: LatencySummary;
}

function sum(results: readonly TallyResult[], pick: (r: TallyResult) => number): number {
  return results.reduce((n, r) => n + pick(r), 0);
}

/** Totals over the load processes' tallies. */
export function receiptTotals(results: readonly TallyResult[], measuredChanges: number): ReceiptTotals {
  const latencies = new Float64Array(sum(results, (r) => r.latenciesMs.length));
  let at = 0;
  for (const r of results) {
    latencies.set(r.latenciesMs, at);
    at += r.latenciesMs.length;
  }
  return {
    expected: measuredChanges * sum(results, (r) => r.subscribers),
    received: sum(results, (r) => r.received),
    skipped: sum(results, (r) => r.skipped),
    missing: sum(results, (r) => r.missing),
    regressions: sum(results, (r) => r.regressions),
    latencyMs: summarize(latencies),
  };
}

export interface ChangeSpread {
  /** Latency of the first receipt of each change, summarised over changes. */
  readonly firstMs: LatencySummary;
  /** Latency of the last receipt of each change, summarised over changes. */
  readonly lastMs: LatencySummary;
  /** Last minus first receipt of each change, summarised over changes. */
  readonly fanOutMs: LatencySummary;
}

/** Earliest and latest receipt of each change (by change number), across these tallies. */
export function receiptsByChange(results: readonly TallyResult[]): { first: Map<number, number>; last: Map<number, number> } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const { latenciesMs, latencySeqs } of results) {
    for (let i = 0; i < latenciesMs.length; i++) {
      const seq = latencySeqs[i] ?? -1;
      const ms = latenciesMs[i] ?? Number.NaN;
      first.set(seq, Math.min(first.get(seq) ?? Number.POSITIVE_INFINITY, ms));
      last.set(seq, Math.max(last.get(seq) ?? Number.NEGATIVE_INFINITY, ms));
    }
  }
  return { first, last };
}

export function changeSpread(results: readonly TallyResult[]): ChangeSpread {
  const { first, last } = receiptsByChange(results);
  const seqs = [...first.keys()];
  const firsts = seqs.map((s) => first.get(s) ?? Number.NaN);
  const lasts = seqs.map((s) => last.get(s) ?? Number.NaN);
  return { firstMs: summarize(firsts), lastMs: summarize(lasts), fanOutMs: summarize(lasts.map((l, i) => l - (firsts[i] ?? Number.NaN))) };
}

/** Which tenth of its process's list subscriber `sub` of `subscribers` is in. */
function groupOf(sub: number, subscribers: number): number {
  return Math.min(GROUPS - 1, Math.floor((sub * GROUPS) / Math.max(1, subscribers)));
}

/** Latency of each tenth of the subscribers, first tenth first. */
export function positionSpread(results: readonly TallyResult[]): LatencySummary[] {
  const parts: number[][] = Array.from({ length: GROUPS }, () => []);
  for (const { subscribers, latenciesMs, latencySubs } of results) {
    for (let i = 0; i < latenciesMs.length; i++) parts[groupOf(latencySubs[i] ?? 0, subscribers)]?.push(latenciesMs[i] ?? Number.NaN);
  }
  return parts.map((p) => summarize(p));
}

/** `9.1 / 12.0 / … ms` (p50 of each tenth). */
export function positionText(parts: readonly LatencySummary[]): string {
  return `${parts.map((p) => p.p50.toFixed(1)).join(' / ')} ms`;
}

/** Column headers of the tenths: `0–10 %`, `10–20 %`, … */
export function positionHeaders(): string[] {
  return Array.from({ length: GROUPS }, (_, i) => `${Math.round((i * 100) / GROUPS)}–${Math.round(((i + 1) * 100) / GROUPS)} %`);
}

export interface Freshness {
  /** Over every (subscriber, measured change) pair that was eventually covered. */
  readonly allMs: LatencySummary;
  /** The same per tenth of each process's subscriber list, first tenth first. */
  readonly byPositionMs: readonly LatencySummary[];
  /** Received changes ÷ (subscribers × measured changes) per tenth, %. */
  readonly receivedByPositionPercent: readonly number[];
}

/**
 * `issuedAtMs(seq)` is the driver's issue time of change `seq` (the time in its tag); changes
 * firstMeasured..lastMeasured are the measured ones.
 */
export function freshness(results: readonly TallyResult[], issuedAtMs: (seq: number) => number, firstMeasured: number, lastMeasured: number): Freshness {
  const all: number[] = [];
  const parts: number[][] = Array.from({ length: GROUPS }, () => []);
  const received = new Array<number>(GROUPS).fill(0);
  const members = new Array<number>(GROUPS).fill(0);
  const measured = lastMeasured - firstMeasured + 1;
  for (const { subscribers, latenciesMs, latencySeqs, latencySubs } of results) {
    // Receipts per subscriber, in arrival order (change numbers only increase per subscriber).
    const receipts: { seq: number; atMs: number }[][] = Array.from({ length: subscribers }, () => []);
    for (let i = 0; i < latenciesMs.length; i++) {
      const seq = latencySeqs[i] ?? -1;
      receipts[latencySubs[i] ?? 0]?.push({ seq, atMs: issuedAtMs(seq) + (latenciesMs[i] ?? Number.NaN) });
    }
    for (let sub = 0; sub < subscribers; sub++) {
      const part = groupOf(sub, subscribers);
      const mine = receipts[sub] ?? [];
      members[part] = (members[part] ?? 0) + 1;
      received[part] = (received[part] ?? 0) + mine.length;
      let next = 0;
      for (let k = firstMeasured; k <= lastMeasured; k++) {
        while (next < mine.length && (mine[next]?.seq ?? Number.POSITIVE_INFINITY) < k) next++;
        const r = mine[next];
        if (r === undefined) break; // never covered: counted as missing by the tally
        const ms = r.atMs - issuedAtMs(k);
        all.push(ms);
        parts[part]?.push(ms);
      }
    }
  }
  return {
    allMs: summarize(all),
    byPositionMs: parts.map((p) => summarize(p)),
    receivedByPositionPercent: received.map((n, i) => ((members[i] ?? 0) === 0 ? Number.NaN : (n / ((members[i] ?? 1) * measured)) * 100)),
  };
}
