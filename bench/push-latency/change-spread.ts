/**
 * Per-change view of the latency samples: for each change, when the first and the last subscriber
 * received it (relative to issue). The first receipt is the server's reaction (RPC, merge window,
 * first write); last − first is the fan-out time: how long writing to and reading by every
 * subscriber took for that change.
 */
import { summarize, type LatencySummary } from '../lib/stats.js';

export interface ChangeSpread {
  /** Latency of the first receipt of each change, summarised over changes. */
  readonly firstMs: LatencySummary;
  /** Latency of the last receipt of each change, summarised over changes. */
  readonly lastMs: LatencySummary;
  /** Last minus first receipt of each change, summarised over changes. */
  readonly fanOutMs: LatencySummary;
}

export function changeSpread(samples: readonly { readonly latenciesMs: Float64Array; readonly latencySeqs: Int32Array }[]): ChangeSpread {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const { latenciesMs, latencySeqs } of samples) {
    for (let i = 0; i < latenciesMs.length; i++) {
      const seq = latencySeqs[i] ?? -1;
      const ms = latenciesMs[i] ?? Number.NaN;
      first.set(seq, Math.min(first.get(seq) ?? Number.POSITIVE_INFINITY, ms));
      last.set(seq, Math.max(last.get(seq) ?? Number.NEGATIVE_INFINITY, ms));
    }
  }
  const seqs = [...first.keys()];
  const firsts = seqs.map((s) => first.get(s) ?? Number.NaN);
  const lasts = seqs.map((s) => last.get(s) ?? Number.NaN);
  return { firstMs: summarize(firsts), lastMs: summarize(lasts), fanOutMs: summarize(lasts.map((l, i) => l - (firsts[i] ?? Number.NaN))) };
}
