/**
 * What the two single-server push benchmarks (push-latency: gRPC subscribers; udp-push-latency:
 * UDP targets) share: their scenario flags, the figures of one run, the medians over runs and the
 * table columns built from them. Each benchmark adds its own figures (freshness; UDP counters).
 */
import { int, num, scenarios, type Scenario } from '../flags.js';
import { maxEventLoopUtilization, totalCpuPercent, type UsageDelta } from '../process-usage.js';
import type { Column } from '../report.js';
import { medians, range } from '../runs.js';
import { medianOf, percent, type LatencySummary } from '../stats.js';
import type { ChangeRun, MeasuredChanges } from './change-run.js';
import { changeSpread, positionHeaders, positionSpread, receiptTotals, type ChangeSpread, type ReceiptTotals } from './receipts.js';
import type { TallyResult } from './subscriber-tally.js';

/** The scenario flags; `member` names what a scenario counts (subscribers, targets). */
export function fanOutFlags<K extends string>(member: K, procs: string) {
  return {
    scenarios: scenarios(`${member.toUpperCase()}@CHANGES-PER-SECOND, comma-separated`, '100@10,1000@10,1000@100', member),
    runs: int('runs of each scenario', 3, 1),
    warmupS: num('seconds of changes before the measured ones', 2, 1),
    measureS: num('seconds of measured changes', 6, 3),
    loadProcs: int(procs, 2),
    hosts: int('instances in the service', 10),
    mergeWindowMs: num("the server's merge window, ms", 5, undefined, { zero: true }),
  };
}

/** `N=1000, 10/s`. */
export function scenarioLabel<K extends string>(s: Scenario<K>, member: K): string {
  return `N=${s[member]}, ${s.ratePerSecond}/s`;
}

export interface FanOutRun extends ReceiptTotals {
  readonly ratePerSecond: number;
  readonly run: number;
  readonly measuredChanges: number;
  /** Per change: first receipt, last receipt, and the spread between them. */
  readonly perChange: ChangeSpread;
  /** Latency of each tenth of the subscribers, in subscription order (the order a fan-out walks). */
  readonly byPosition: readonly LatencySummary[];
  readonly driverLatenessP99Ms: number;
  readonly driverAckP99Ms: number;
  readonly driverErrors: number;
  readonly server: UsageDelta;
  readonly loads: readonly UsageDelta[];
  /** This process (the driver) over the measured phase. */
  readonly driver: UsageDelta;
  /** CPU used by processes other than this benchmark's during the measured phase, % of one core. */
  readonly otherCpuPercent: number;
  /** Largest |clock offset| between this process and a load process, ms (± half the probe RTT). */
  readonly maxClockOffsetMs: number;
  readonly openMs: number;
}

export interface FanOutInputs {
  readonly changes: ChangeRun;
  readonly measured: MeasuredChanges;
  readonly results: readonly TallyResult[];
  readonly ratePerSecond: number;
  readonly run: number;
  readonly maxClockOffsetMs: number;
  readonly openMs: number;
}

/** The figures every fan-out run reports. */
export function fanOutRun({ changes, measured: m, results, ratePerSecond, run, maxClockOffsetMs, openMs }: FanOutInputs): FanOutRun {
  const [server] = m.nodes;
  if (server === undefined) throw new Error('no server usage');
  return {
    ratePerSecond,
    run,
    measuredChanges: changes.window.measuredChanges,
    ...receiptTotals(results, changes.window.measuredChanges),
    perChange: changeSpread(results),
    byPosition: positionSpread(results),
    ...changes.driverFigures(),
    server,
    loads: m.loads,
    driver: m.driver,
    otherCpuPercent: m.otherCpuPercent,
    maxClockOffsetMs,
    openMs,
  };
}

export const loadCpu = (r: FanOutRun): number => totalCpuPercent(r.loads);

/** The medians over a scenario's runs of the figures every fan-out run has. */
export function fanOutMedians(rs: readonly FanOutRun[]) {
  return {
    ...medians(rs, {
      p50Ms: (r) => r.latencyMs.p50,
      p90Ms: (r) => r.latencyMs.p90,
      p99Ms: (r) => r.latencyMs.p99,
      maxMs: (r) => r.latencyMs.max,
    }),
    p99RangeMs: range(rs, (r) => r.latencyMs.p99),
    ...medians(rs, {
      receivedPercent: (r) => percent(r.received, r.expected),
      skipped: (r) => r.skipped,
      missing: (r) => r.missing,
      firstReceiptP50Ms: (r) => r.perChange.firstMs.p50,
      fanOutP50Ms: (r) => r.perChange.fanOutMs.p50,
      fanOutMaxMs: (r) => r.perChange.fanOutMs.max,
    }),
    p50ByPositionMs: positionHeaders().map((_, i) => medianOf(rs, (r) => r.byPosition[i]?.p50 ?? Number.NaN)),
    ...medians(rs, {
      serverCpuPercent: (r) => r.server.cpuPercent,
      serverEventLoopUtilization: (r) => r.server.eventLoopUtilization,
      serverRunDelayShare: (r) => r.server.runDelayShare,
      serverKernelShare: (r) => r.server.systemShare,
      serverLoopStallMaxMs: (r) => r.server.loopDelayMaxMs,
      serverGcMaxPauseMs: (r) => r.server.gcMaxPauseMs,
      loadCpuPercent: loadCpu,
      loadEventLoopUtilizationMax: (r) => maxEventLoopUtilization(r.loads),
      loadRunDelayShareMax: (r) => Math.max(...r.loads.map((l) => l.runDelayShare)),
      driverLatenessP99Ms: (r) => r.driverLatenessP99Ms,
      driverAckP99Ms: (r) => r.driverAckP99Ms,
      otherCpuPercent: (r) => r.otherCpuPercent,
    }),
  };
}

export type FanOutMedians = ReturnType<typeof fanOutMedians> & { readonly scenario: string };

/** "Every run" columns: latency and what was received. */
export const runLatencyColumns: readonly Column<FanOutRun>[] = [
  ['run', (r) => r.run],
  ['p50', (r) => r.latencyMs.p50],
  ['p90', (r) => r.latencyMs.p90],
  ['p99', (r) => r.latencyMs.p99],
  ['max', (r) => r.latencyMs.max],
  ['received %', (r) => percent(r.received, r.expected)],
  ['skipped', (r) => r.skipped],
  ['missing', (r) => r.missing],
];

/** The medians table's columns (the same for both benchmarks). */
export const medianColumns: readonly Column<FanOutMedians>[] = [
  ['scenario', (s) => s.scenario],
  ['p50', (s) => s.p50Ms],
  ['p90', (s) => s.p90Ms],
  ['p99', (s) => s.p99Ms],
  ['max', (s) => s.maxMs],
  ['received %', (s) => s.receivedPercent],
  ['skipped', (s) => s.skipped],
  ['missing', (s) => s.missing],
  ['server CPU %', (s) => s.serverCpuPercent],
  ['server ELU', (s) => s.serverEventLoopUtilization],
  ['load CPU %', (s) => s.loadCpuPercent],
  ['load ELU (max)', (s) => s.loadEventLoopUtilizationMax],
];

/** "Where the time goes": first receipt and fan-out per change. */
export const spreadColumns: readonly Column<FanOutMedians>[] = [
  ['scenario', (s) => s.scenario],
  ['first receipt p50 ms', (s) => s.firstReceiptP50Ms],
  ['fan-out p50 ms', (s) => s.fanOutP50Ms],
  ['fan-out max ms', (s) => s.fanOutMaxMs],
];

/** "Where the time goes": the server's share. */
export const serverColumns: readonly Column<FanOutMedians>[] = [
  ['server waits for a core %', (s) => s.serverRunDelayShare * 100],
  ['load waits for a core % (max)', (s) => s.loadRunDelayShareMax * 100],
  ['server kernel %', (s) => s.serverKernelShare * 100],
  ['server loop stall max ms', (s) => s.serverLoopStallMaxMs],
  ['server GC max ms', (s) => s.serverGcMaxPauseMs],
];

/** A column per tenth of the subscriber list, after the scenario. */
export function tenthColumns<S extends { readonly scenario: string }>(pick: (s: S) => readonly number[]): Column<S>[] {
  return [['scenario', (s) => s.scenario], ...positionHeaders().map((h, i): Column<S> => [h, (s) => pick(s)[i] ?? Number.NaN])];
}
