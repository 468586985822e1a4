/**
 * Latency by a subscriber's place in the fan-out. Each load process opens (or registers) its
 * subscribers in index order, so within a process a lower index means an earlier place in the
 * server's subscriber list, which a fan-out walks in order. The subscribers of every process are
 * split into `groups` equal parts by index (the first tenth, the second tenth, …), and each part's
 * latencies are summarised: if a fan-out's duration is the limit, latency grows part by part.
 */
import { summarize, type LatencySummary } from '../lib/stats.js';

export interface PositionSample {
  readonly subscribers: number;
  readonly latenciesMs: Float64Array;
  readonly latencySubs: Int32Array;
}

/** p50 and p99 of each part, first part first. */
export function positionSpread(samples: readonly PositionSample[], groups = 10): LatencySummary[] {
  const parts: number[][] = Array.from({ length: groups }, () => []);
  for (const { subscribers, latenciesMs, latencySubs } of samples) {
    for (let i = 0; i < latenciesMs.length; i++) {
      const sub = latencySubs[i] ?? 0;
      const part = Math.min(groups - 1, Math.floor((sub * groups) / Math.max(1, subscribers)));
      parts[part]?.push(latenciesMs[i] ?? Number.NaN);
    }
  }
  return parts.map((p) => summarize(p));
}

/** `9.1 / 12.0 / … ms` (p50 of each part). */
export function positionText(parts: readonly LatencySummary[]): string {
  return `${parts.map((p) => p.p50.toFixed(1)).join(' / ')} ms`;
}

/** Column headers of the parts: `0–10 %`, `10–20 %`, … */
export function positionHeaders(groups = 10): string[] {
  return Array.from({ length: groups }, (_, i) => `${Math.round((i * 100) / groups)}–${Math.round(((i + 1) * 100) / groups)} %`);
}
