/**
 * Freshness: for every subscriber and every measured change k, the time from k's issue until the
 * subscriber holds k *or a newer change*. For a change it received this is its latency; for a
 * change it skipped it is measured at the newer snapshot that replaced it. So a subscriber that is
 * updated rarely shows up here, while its latency (received changes only) can look good. Also the
 * share of the measured changes each part of the subscriber list received (see position-spread.ts
 * for the parts).
 */
import { summarize, type LatencySummary } from '../lib/stats.js';

export interface FreshnessSample {
  readonly subscribers: number;
  /** Latency, change number and subscriber of every received measured change (tally order). */
  readonly latenciesMs: Float64Array;
  readonly latencySeqs: Int32Array;
  readonly latencySubs: Int32Array;
}

export interface Freshness {
  /** Over every (subscriber, measured change) pair that was eventually covered. */
  readonly allMs: LatencySummary;
  /** The same per part of each process's subscriber list, first part first. */
  readonly byPositionMs: readonly LatencySummary[];
  /** Received changes ÷ (subscribers × measured changes) per part, %. */
  readonly receivedByPositionPercent: readonly number[];
}

/**
 * `issuedAtMs(seq)` is the driver's issue time of change `seq` (the time in its tag); changes
 * firstMeasured..lastMeasured are the measured ones.
 */
export function freshness(samples: readonly FreshnessSample[], issuedAtMs: (seq: number) => number, firstMeasured: number, lastMeasured: number, groups = 10): Freshness {
  const all: number[] = [];
  const parts: number[][] = Array.from({ length: groups }, () => []);
  const received = new Array<number>(groups).fill(0);
  const members = new Array<number>(groups).fill(0);
  const measured = lastMeasured - firstMeasured + 1;
  for (const { subscribers, latenciesMs, latencySeqs, latencySubs } of samples) {
    // Receipts per subscriber, in arrival order (change numbers only increase per subscriber).
    const receipts: { seq: number; atMs: number }[][] = Array.from({ length: subscribers }, () => []);
    for (let i = 0; i < latenciesMs.length; i++) {
      const seq = latencySeqs[i] ?? -1;
      receipts[latencySubs[i] ?? 0]?.push({ seq, atMs: issuedAtMs(seq) + (latenciesMs[i] ?? Number.NaN) });
    }
    for (let sub = 0; sub < subscribers; sub++) {
      const part = Math.min(groups - 1, Math.floor((sub * groups) / Math.max(1, subscribers)));
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
