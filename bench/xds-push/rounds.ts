/**
 * xds-push's figures: one sample per round, a run's summary, its line and table columns, and the
 * medians over runs. Times are ms from the Register or Cancel call being sent; NaN = not seen
 * within the round's time limit (counted as missed), or a caller not run (--callers; not missed).
 */
import { fixed, type Column } from '../lib/report.js';
import { medians } from '../lib/runs.js';
import { summarize, type LatencySummary } from '../lib/stats.js';
import type { CallerKind, CallerStats } from './protocol.js';

export interface RoundSample {
  readonly registerAckMs: number;
  /** Register sent → the first call of the xDS client reaching the new echo server. */
  readonly xdsFirstCallMs: number;
  /** Register sent → the Subscribe client receiving a ServiceInfo that holds the instance. */
  readonly subscribeMs: number;
  /** Register sent → the bare ADS stream receiving a ClusterLoadAssignment with the instance's endpoint. */
  readonly edsMs: number;
  readonly cancelAckMs: number;
  /** Cancel sent → the last call reaching the cancelled instance (0 when none reached it after the Cancel was sent). */
  readonly xdsLastCallMs: number;
  readonly callsAfterCancel: number;
  /** Register sent → the first call of the herald:/// client (registerHeraldResolver) reaching the new echo server. */
  readonly resolverFirstCallMs: number;
  /** Cancel sent → the last call of the herald:/// client reaching the cancelled instance (0 as for xDS). */
  readonly resolverLastCallMs: number;
  readonly resolverCallsAfterCancel: number;
  /** Cancel sent → the Subscribe client receiving a ServiceInfo without the instance. */
  readonly subscribeGoneMs: number;
  /** Cancel sent → the bare ADS stream receiving a ClusterLoadAssignment without it. */
  readonly edsGoneMs: number;
}

export type RoundSummary = { readonly [K in keyof RoundSample]: LatencySummary };

/** Each figure over a run's rounds (the rounds where it was seen). */
export function summarizeRounds(samples: readonly RoundSample[]): RoundSummary {
  const over = (pick: (s: RoundSample) => number): LatencySummary => summarize(samples.map(pick).filter((v) => !Number.isNaN(v)));
  return {
    registerAckMs: over((s) => s.registerAckMs),
    xdsFirstCallMs: over((s) => s.xdsFirstCallMs),
    subscribeMs: over((s) => s.subscribeMs),
    edsMs: over((s) => s.edsMs),
    cancelAckMs: over((s) => s.cancelAckMs),
    xdsLastCallMs: over((s) => s.xdsLastCallMs),
    callsAfterCancel: over((s) => s.callsAfterCancel),
    resolverFirstCallMs: over((s) => s.resolverFirstCallMs),
    resolverLastCallMs: over((s) => s.resolverLastCallMs),
    resolverCallsAfterCancel: over((s) => s.resolverCallsAfterCancel),
    subscribeGoneMs: over((s) => s.subscribeGoneMs),
    edsGoneMs: over((s) => s.edsGoneMs),
  };
}

/** Each caller's figures in a sample: NaN there is that caller's not having run. */
const CALLER_FIELDS: { readonly [K in CallerKind]: readonly (keyof RoundSample)[] } = {
  xds: ['xdsFirstCallMs', 'xdsLastCallMs', 'callsAfterCancel'],
  resolver: ['resolverFirstCallMs', 'resolverLastCallMs', 'resolverCallsAfterCancel'],
};

/** A round with a step not seen in time, among the figures of the callers that ran. */
export function missedRound(sample: RoundSample, callers: readonly CallerKind[]): boolean {
  const notRun = new Set<keyof RoundSample>(Object.entries(CALLER_FIELDS).flatMap(([k, fields]) => (callers.includes(k as CallerKind) ? [] : fields)));
  return (Object.keys(sample) as (keyof RoundSample)[]).some((k) => !notRun.has(k) && Number.isNaN(sample[k]));
}

export interface XdsPushRun {
  readonly samples: readonly RoundSample[];
  readonly summary: RoundSummary;
  /** Rounds with a step not seen in time. */
  readonly missed: number;
  /** Per caller that ran, over the measured rounds. */
  readonly callers: { readonly [K in CallerKind]?: CallerStats };
  readonly subscribeErrors: number;
  /** Per caller that ran, the calls each base instance answered over the run (all of them should have kept receiving calls). */
  readonly baseCalls: { readonly [K in CallerKind]?: readonly number[] };
  /** % of one core over the measured rounds (NaN: that caller did not run). */
  readonly cpuPercent: {
    readonly server: number;
    readonly echo: number;
    readonly xdsClient: number;
    readonly resolverClient: number;
    readonly subscribeClient: number;
    readonly driver: number;
  };
  readonly serverLoopStallMaxMs: number;
  /** The xDS client's (NaN: it did not run). */
  readonly callerLoopStallMaxMs: number;
  readonly resolverLoopStallMaxMs: number;
  readonly otherCpuPercent: number;
  readonly maxClockOffsetMs: number;
}

const f = (n: number): string => fixed(n, 1);
const calls = (c: CallerStats | undefined): string => (c === undefined ? 'not run' : `${c.calls} (errors ${c.errors}, skipped ${c.skipped})`);

export function roundLine(r: XdsPushRun): string {
  const s = r.summary;
  return (
    `xDS first call p50 ${f(s.xdsFirstCallMs.p50)} / p99 ${f(s.xdsFirstCallMs.p99)} / max ${f(s.xdsFirstCallMs.max)} ms, ` +
    `herald:/// first call p50 ${f(s.resolverFirstCallMs.p50)} / p99 ${f(s.resolverFirstCallMs.p99)} / max ${f(s.resolverFirstCallMs.max)} ms, ` +
    `Subscribe p50 ${f(s.subscribeMs.p50)} / p99 ${f(s.subscribeMs.p99)} / max ${f(s.subscribeMs.max)} ms, ` +
    `bare ADS p50 ${f(s.edsMs.p50)} / p99 ${f(s.edsMs.p99)} / max ${f(s.edsMs.max)} ms; ` +
    `cancel: xDS last call p50 ${f(s.xdsLastCallMs.p50)} / p99 ${f(s.xdsLastCallMs.p99)} / max ${f(s.xdsLastCallMs.max)} ms, ` +
    `herald:/// last call p50 ${f(s.resolverLastCallMs.p50)} / p99 ${f(s.resolverLastCallMs.p99)} / max ${f(s.resolverLastCallMs.max)} ms, ` +
    `Subscribe gone p50 ${f(s.subscribeGoneMs.p50)} / p99 ${f(s.subscribeGoneMs.p99)} ms, bare ADS gone p50 ${f(s.edsGoneMs.p50)} / p99 ${f(s.edsGoneMs.p99)} ms, ` +
    `calls after the Cancel xDS p50 ${fixed(s.callsAfterCancel.p50, 0)} / max ${fixed(s.callsAfterCancel.max, 0)}, ` +
    `herald:/// p50 ${fixed(s.resolverCallsAfterCancel.p50, 0)} / max ${fixed(s.resolverCallsAfterCancel.max, 0)}; ` +
    `Register ack p50 ${f(s.registerAckMs.p50)} ms, missed ${r.missed}, xDS calls ${calls(r.callers.xds)}, herald:/// calls ${calls(r.callers.resolver)}, ` +
    `CPU server ${fixed(r.cpuPercent.server, 0)} % echo ${fixed(r.cpuPercent.echo, 0)} % xDS client ${fixed(r.cpuPercent.xdsClient, 0)} % ` +
    `herald:/// client ${fixed(r.cpuPercent.resolverClient, 0)} % Subscribe client ${fixed(r.cpuPercent.subscribeClient, 0)} % driver ${fixed(r.cpuPercent.driver, 0)} %, ` +
    `loop stall max server ${fixed(r.serverLoopStallMaxMs, 0)} / xDS client ${fixed(r.callerLoopStallMaxMs, 0)} / herald:/// client ${fixed(r.resolverLoopStallMaxMs, 0)} ms, ` +
    `other CPU ${fixed(r.otherCpuPercent, 0)} %, clock offset ${r.maxClockOffsetMs.toFixed(3)} ms`
  );
}

export const roundColumns: readonly Column<XdsPushRun>[] = [
  ['xDS first call p50', (r) => r.summary.xdsFirstCallMs.p50],
  ['p99', (r) => r.summary.xdsFirstCallMs.p99],
  ['max', (r) => r.summary.xdsFirstCallMs.max],
  ['herald:/// first call p50', (r) => r.summary.resolverFirstCallMs.p50],
  ['p99', (r) => r.summary.resolverFirstCallMs.p99],
  ['max', (r) => r.summary.resolverFirstCallMs.max],
  ['Subscribe p50', (r) => r.summary.subscribeMs.p50],
  ['p99', (r) => r.summary.subscribeMs.p99],
  ['max', (r) => r.summary.subscribeMs.max],
  ['bare ADS p50', (r) => r.summary.edsMs.p50],
  ['p99', (r) => r.summary.edsMs.p99],
  ['xDS last call p50', (r) => r.summary.xdsLastCallMs.p50],
  ['p99', (r) => r.summary.xdsLastCallMs.p99],
  ['max', (r) => r.summary.xdsLastCallMs.max],
  ['herald:/// last call p50', (r) => r.summary.resolverLastCallMs.p50],
  ['p99', (r) => r.summary.resolverLastCallMs.p99],
  ['max', (r) => r.summary.resolverLastCallMs.max],
  ['Subscribe gone p50', (r) => r.summary.subscribeGoneMs.p50],
  ['p99', (r) => r.summary.subscribeGoneMs.p99],
  ['bare ADS gone p50', (r) => r.summary.edsGoneMs.p50],
  ['missed', (r) => r.missed],
  ['server CPU %', (r) => r.cpuPercent.server],
  ['xDS client CPU %', (r) => r.cpuPercent.xdsClient],
  ['herald:/// client CPU %', (r) => r.cpuPercent.resolverClient],
  ['echo CPU %', (r) => r.cpuPercent.echo],
  ['other CPU %', (r) => r.otherCpuPercent],
];

export function roundMedians(runs: readonly XdsPushRun[]) {
  return medians(runs, {
    xdsFirstCallP50Ms: (r) => r.summary.xdsFirstCallMs.p50,
    xdsFirstCallP99Ms: (r) => r.summary.xdsFirstCallMs.p99,
    xdsFirstCallMaxMs: (r) => r.summary.xdsFirstCallMs.max,
    resolverFirstCallP50Ms: (r) => r.summary.resolverFirstCallMs.p50,
    resolverFirstCallP99Ms: (r) => r.summary.resolverFirstCallMs.p99,
    resolverFirstCallMaxMs: (r) => r.summary.resolverFirstCallMs.max,
    subscribeP50Ms: (r) => r.summary.subscribeMs.p50,
    subscribeP99Ms: (r) => r.summary.subscribeMs.p99,
    subscribeMaxMs: (r) => r.summary.subscribeMs.max,
    edsP50Ms: (r) => r.summary.edsMs.p50,
    edsP99Ms: (r) => r.summary.edsMs.p99,
    edsMaxMs: (r) => r.summary.edsMs.max,
    xdsLastCallP50Ms: (r) => r.summary.xdsLastCallMs.p50,
    xdsLastCallP99Ms: (r) => r.summary.xdsLastCallMs.p99,
    xdsLastCallMaxMs: (r) => r.summary.xdsLastCallMs.max,
    resolverLastCallP50Ms: (r) => r.summary.resolverLastCallMs.p50,
    resolverLastCallP99Ms: (r) => r.summary.resolverLastCallMs.p99,
    resolverLastCallMaxMs: (r) => r.summary.resolverLastCallMs.max,
    subscribeGoneP50Ms: (r) => r.summary.subscribeGoneMs.p50,
    subscribeGoneP99Ms: (r) => r.summary.subscribeGoneMs.p99,
    edsGoneP50Ms: (r) => r.summary.edsGoneMs.p50,
    edsGoneP99Ms: (r) => r.summary.edsGoneMs.p99,
    registerAckP50Ms: (r) => r.summary.registerAckMs.p50,
    cancelAckP50Ms: (r) => r.summary.cancelAckMs.p50,
    serverCpuPercent: (r) => r.cpuPercent.server,
    xdsClientCpuPercent: (r) => r.cpuPercent.xdsClient,
    resolverClientCpuPercent: (r) => r.cpuPercent.resolverClient,
    echoCpuPercent: (r) => r.cpuPercent.echo,
    otherCpuPercent: (r) => r.otherCpuPercent,
  });
}
