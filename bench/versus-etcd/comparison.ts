/**
 * The comparison from the runs: for each phase, the median of each figure per system and the
 * median over rounds of herald's figure divided by etcd's in the same round; the table of issue
 * #13 (one line per row asked for) and its targets, met or missed.
 */
import { formatNumber } from '../lib/report.js';
import { median } from '../lib/stats.js';
import type { Figures, Phase } from './phases.js';
import type { SystemName } from './systems.js';

/** One phase in one round: both systems, back to back (`first` ran first). */
export interface PairRun {
  readonly phase: string;
  readonly run: number;
  readonly first: SystemName;
  readonly herald: Figures;
  readonly etcd: Figures;
  /** The more disturbed of the two: CPU other processes used, % of one core. */
  readonly otherCpuPercent: number;
}

export class Comparison {
  constructor(private readonly runs: readonly PairRun[]) {}

  private of(phase: string): readonly PairRun[] {
    return this.runs.filter((r) => r.phase === phase);
  }

  /** Median over the phase's rounds of `figure` on `system`. */
  value(phase: string, system: SystemName, figure: string): number {
    return median(this.of(phase).map((r) => r[system][figure] ?? Number.NaN));
  }

  /** Median over rounds of herald's `figure` ÷ etcd's in the same round. */
  ratio(phase: string, figure: string): number {
    return median(this.of(phase).map((r) => (r.herald[figure] ?? Number.NaN) / (r.etcd[figure] ?? Number.NaN)));
  }

  /** Every figure of every phase: medians per system and ratios, for the JSON. */
  summary(phases: readonly Phase[]): Record<string, { herald: Record<string, number>; etcd: Record<string, number>; ratio: Record<string, number> }> {
    const out: Record<string, { herald: Record<string, number>; etcd: Record<string, number>; ratio: Record<string, number> }> = {};
    for (const p of phases) {
      const figures = Object.keys(this.of(p.id)[0]?.herald ?? {});
      const pick = (f: (figure: string) => number): Record<string, number> => Object.fromEntries(figures.map((k) => [k, f(k)]));
      out[p.id] = { herald: pick((k) => this.value(p.id, 'herald', k)), etcd: pick((k) => this.value(p.id, 'etcd', k)), ratio: pick((k) => this.ratio(p.id, k)) };
    }
    return out;
  }
}

/** A line of the table: a cell per system and the ratio column. */
export interface TableLine {
  readonly label: string;
  readonly herald: string;
  readonly etcd: string;
  readonly ratio: string;
}

/** A target of issue #13: a ratio (herald/etcd) or herald's own value, at most or at least `bound`. */
export interface Target {
  readonly metric: string;
  readonly value: number;
  readonly text: string;
  readonly kind: 'max' | 'min';
  readonly bound: number;
  readonly boundText: string;
}

export const met = (t: Target): boolean => (t.kind === 'max' ? t.value <= t.bound : t.value >= t.bound);

const n = (x: number): string => formatNumber(x);
const r2 = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(2));
const bytes = (x: number): string => (Number.isNaN(x) ? '-' : `${n(x)} B`);

/** The table's lines and the targets, for the phases that ran. */
export function comparisonTable(c: Comparison, phases: readonly Phase[], inFlight: number): { lines: TableLine[]; targets: Target[] } {
  const lines: TableLine[] = [];
  const targets: Target[] = [];
  const ratioTarget = (metric: string, phase: string, figure: string, kind: 'max' | 'min', bound: number): void => {
    const value = c.ratio(phase, figure);
    targets.push({ metric, value, text: r2(value), kind, bound, boundText: `${kind === 'max' ? '≤' : '≥'} ${bound}` });
  };
  const pushes = phases.filter((p) => p.kind === 'push');
  for (const p of pushes) {
    const s = p.scenario;
    const label = `push p99, ${n(s?.subscribers ?? 0)} subscribers, ${s?.ratePerSecond ?? 0} changes/s`;
    const cell = (sys: 'herald' | 'etcd'): string => `${n(c.value(p.id, sys, 'p99Ms'))} ms (received ${n(c.value(p.id, sys, 'receivedPercent'))} %)`;
    lines.push({ label, herald: cell('herald'), etcd: cell('etcd'), ratio: r2(c.ratio(p.id, 'p99Ms')) });
    ratioTarget(`${label} (herald/etcd)`, p.id, 'p99Ms', 'max', 0.5);
  }
  for (const p of phases.filter((x) => x.kind === 'freshness')) {
    const s = p.scenario;
    const label = `freshness p99, ${n(s?.subscribers ?? 0)} subscribers, ${s?.ratePerSecond ?? 0} changes/s; server RSS before → after`;
    const cell = (sys: 'herald' | 'etcd'): string =>
      `${n(c.value(p.id, sys, 'freshnessP99Ms'))} ms; RSS ${n(c.value(p.id, sys, 'serverRssBeforeMiB'))} → ${n(c.value(p.id, sys, 'serverRssAfterMiB'))} MiB`;
    lines.push({ label, herald: cell('herald'), etcd: cell('etcd'), ratio: r2(c.ratio(p.id, 'freshnessP99Ms')) });
    ratioTarget('freshness p99 (herald/etcd)', p.id, 'freshnessP99Ms', 'max', 0.2);
  }
  // Subscriber CPU where every change reaches every subscriber of both: the largest push scenario.
  const cpuPhase = [...pushes].sort((a, b) => (b.scenario?.subscribers ?? 0) - (a.scenario?.subscribers ?? 0))[0];
  if (cpuPhase !== undefined) {
    const s = cpuPhase.scenario;
    const cell = (sys: 'herald' | 'etcd'): string =>
      `${n(c.value(cpuPhase.id, sys, 'subscriberCpuPerMessageUs'))} µs/msg (${n(c.value(cpuPhase.id, sys, 'subscriberCpuPercent'))} % of a core)`;
    lines.push({
      label: `subscriber CPU per received message, ${n(s?.subscribers ?? 0)} subscribers, ${s?.ratePerSecond ?? 0} changes/s`,
      herald: cell('herald'),
      etcd: cell('etcd'),
      ratio: r2(c.ratio(cpuPhase.id, 'subscriberCpuPerMessageUs')),
    });
  }
  if (phases.some((p) => p.kind === 'unary')) {
    const renew = (sys: 'herald' | 'etcd'): string => `${n(c.value('unary', sys, 'renewsPerSecond'))}/s (client ${n(c.value('unary', sys, 'clientCpuPerRenewUs'))} µs/renew)`;
    lines.push({
      label: `renews/s, ${inFlight} in flight (client CPU per renew)`,
      herald: renew('herald'),
      etcd: renew('etcd'),
      ratio: `${r2(c.ratio('unary', 'renewsPerSecond'))} (CPU ${r2(c.ratio('unary', 'clientCpuPerRenewUs'))})`,
    });
    ratioTarget('renews/s (herald/etcd)', 'unary', 'renewsPerSecond', 'min', 1.5);
    ratioTarget('client CPU per renew (herald/etcd)', 'unary', 'clientCpuPerRenewUs', 'max', 1.0);
    const register = (sys: 'herald' | 'etcd'): string =>
      `${n(c.value('unary', sys, 'registrationsPerSecond'))}/s (client ${n(c.value('unary', sys, 'clientCpuPerRegisterUs'))} µs each)`;
    lines.push({ label: `registrations/s, ${inFlight} in flight`, herald: register('herald'), etcd: register('etcd'), ratio: r2(c.ratio('unary', 'registrationsPerSecond')) });
    ratioTarget('registrations/s (herald/etcd)', 'unary', 'registrationsPerSecond', 'min', 2);
  }
  const detail = (kind: string): string => phases.find((p) => p.kind === kind)?.detail ?? '';
  if (phases.some((p) => p.kind === 'memory')) {
    const rss = (sys: 'herald' | 'etcd'): string => bytes(c.value('memory', sys, 'rssPerInstanceBytes'));
    lines.push({
      label: `RSS per instance at ${detail('memory')}, no forced GC, settled (herald: + heapUsed; etcd: + anonymous RSS)`,
      herald: `${rss('herald')} (heap ${bytes(c.value('memory', 'herald', 'heapUsedPerInstanceBytes'))})`,
      etcd: `${rss('etcd')} (anon ${bytes(c.value('memory', 'etcd', 'anonPerInstanceBytes'))})`,
      ratio: r2(c.ratio('memory', 'rssPerInstanceBytes')),
    });
    const atLoadEnd = (sys: 'herald' | 'etcd'): string => bytes(c.value('memory', sys, 'rssAtLoadEndPerInstanceBytes'));
    lines.push({
      label: "RSS per instance at load end (before either runtime has collected the burst's garbage)",
      herald: atLoadEnd('herald'),
      etcd: atLoadEnd('etcd'),
      ratio: r2(c.ratio('memory', 'rssAtLoadEndPerInstanceBytes')),
    });
    const value = c.value('memory', 'herald', 'rssPerInstanceBytes');
    targets.push({ metric: 'herald RSS per instance', value, text: bytes(value), kind: 'max', bound: 1024, boundText: '≤ 1,024 B' });
  }
  if (phases.some((p) => p.kind === 'get-service')) {
    const get = (sys: 'herald' | 'etcd'): string => `${n(c.value('get-service', sys, 'p99Ms'))} ms (client ${n(c.value('get-service', sys, 'clientCpuPerCallUs'))} µs/call)`;
    lines.push({
      label: `GetService of ${detail('get-service')}, p99 (client CPU per call)`,
      herald: get('herald'),
      etcd: get('etcd'),
      ratio: `${r2(c.ratio('get-service', 'p99Ms'))} (CPU ${r2(c.ratio('get-service', 'clientCpuPerCallUs'))})`,
    });
    const gc = (sys: 'herald' | 'etcd'): string =>
      `${n(c.value('get-service', sys, 'p99WithoutGcMs'))} ms (GC in ${n(c.value('get-service', sys, 'tailCallsWithGcPercent'))} % of the slowest 10 %)`;
    lines.push({
      label: "GetService p99 without the client's GC pauses (calls ≥ p90 that a client GC paused)",
      herald: gc('herald'),
      etcd: gc('etcd'),
      ratio: r2(c.ratio('get-service', 'p99WithoutGcMs')),
    });
    ratioTarget('GetService p99 (herald/etcd)', 'get-service', 'p99Ms', 'max', 0.5);
  }
  return { lines, targets };
}
