/**
 * Push latency: N subscribers, each on its own connection, subscribed to one service; a driver
 * re-registers one of its instances at a fixed rate with a change number and the issue time in its
 * metadata (lib/push/changes.ts). Every subscriber timestamps each snapshot on arrival: latency =
 * arrival − issue. A change a subscriber never saw because a newer snapshot replaced it counts as
 * skipped, not timed. Freshness times every change, received or skipped, until the subscriber holds
 * it or a newer one; both are also broken down by place in the fan-out (lib/push/receipts.ts).
 *
 *   npx tsx bench/push-latency.ts --help
 *   npx tsx bench/push-latency.ts --scenarios 1000@100 --runs 1 --profile   # server CPU profile
 *   npx tsx bench/push-latency.ts --scenarios 1000@100 --fan-out-slice-size 1000000   # one slice
 *   npx tsx bench/push-latency.ts --client stream --push-workers 2   # the fan-out from 2 worker threads (push-latency/push-workers.ts)
 */
import { DEFAULT_SERVER_CONFIG } from '../src/server/config.js';
import { CLIENT_KINDS } from './lib/bench-client.js';
import { bool, choice, int, optionalInt, parseFlags, type Scenario } from './lib/flags.js';
import type { MachineInfo } from './lib/machine.js';
import { changeWindow } from './lib/push/changes.js';
import { ChangeRun, SUBSCRIBER_MAIN } from './lib/push/change-run.js';
import {
  fanOutFlags,
  fanOutMedians,
  fanOutRun,
  loadCpu,
  medianColumns,
  runLatencyColumns,
  scenarioLabel,
  serverColumns,
  spreadColumns,
  tenthColumns,
  type FanOutRun,
} from './lib/push/fan-out.js';
import type { SubscriberLoadConfig, SubscriberLoadResult } from './lib/push/load-protocol.js';
import { freshness, positionHeaders, positionText, type Freshness } from './lib/push/receipts.js';
import { printChecks, printHeader, printRows, profileDir, writeResults, type Column, type TargetCheck } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from './lib/server-process.js';
import { medianOf, percent } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';
import type { PushWorkerSample } from './push-latency/push-worker-protocol.js';

const SERVICE = 'push-bench';

const { flags } = parseFlags(
  {
    script: 'bench/push-latency.ts',
    about: `Change → push receipt at N subscribers of one service (light gRPC subscribers by default, in
--load-procs processes; the server in its own). Prints latency, freshness, CPU and a table per
scenario, medians of --runs runs, and writes bench/results/push-latency.json
(push-latency-transport.json with --client transport, push-latency-slice-<n>.json with
--fan-out-slice-size, push-latency-workers-<n>.json with --push-workers).`,
    quick: 'one short run of each scenario',
  },
  {
    ...fanOutFlags('subscribers', 'subscriber processes'),
    fanOutSliceSize: optionalInt("the server's fan-out slice size (1000000 = one slice)", "the server's, 64"),
    client: choice(
      'subscriber client: light (node:http2, tag read from the bytes), transport (RegistryTransport, Subscribe snapshots) or stream (RegistryTransport over a Watch stream of deltas)',
      CLIENT_KINDS,
      'light',
    ),
    pushWorkers: int(
      'experiment: worker threads in the server process that serve Subscribe on ports of their own, fed frames encoded once by the main thread; subscribers split over them (0 = the server itself)',
      0,
      undefined,
      { zero: true },
    ),
    profile: bool('CPU-profile the server (node --cpu-prof into bench/results/profiles/)'),
    profileLoad: bool('CPU-profile the subscriber processes instead'),
  },
);

const { quick: _quick, profile, ...chosen } = flags;
const settings = { ...chosen, profileDir: await profileDir(profile || chosen.profileLoad) };

type PushScenario = Scenario<'subscribers'>;

interface RunResult extends FanOutRun {
  readonly subscribers: number;
  readonly streamErrors: number;
  /** Time until each subscriber holds each measured change or a newer one (received or skipped). */
  readonly freshness: Freshness;
  /** Snapshots the server handed to subscribers during the measured phase. */
  readonly pushes: number;
  /** Server CPU time per push during the measured phase, µs (includes the driver's Register calls). */
  readonly serverCpuPerPushUs: number;
  /** With --push-workers: the busiest worker's event-loop utilisation and run delay (share of wall time); NaN without. */
  readonly workerEluMax: number;
  readonly workerRunDelayShareMax: number;
}

/** The busiest worker's ELU and run delay between two samples (NaN without workers). */
function workerFigures(before: readonly PushWorkerSample[], after: readonly PushWorkerSample[], wallMs: number): { workerEluMax: number; workerRunDelayShareMax: number } {
  if (after.length === 0) return { workerEluMax: Number.NaN, workerRunDelayShareMax: Number.NaN };
  const pairs = after.map((a, i) => [before[i] ?? a, a] as const);
  return {
    workerEluMax: Math.max(...pairs.map(([b, a]) => (a.eluActiveMs - b.eluActiveMs) / (a.eluActiveMs - b.eluActiveMs + a.eluIdleMs - b.eluIdleMs))),
    workerRunDelayShareMax: Math.max(...pairs.map(([b, a]) => (a.runDelayUs - b.runDelayUs) / 1000 / wallMs)),
  };
}

const sumDelivered = (samples: readonly PushWorkerSample[]): number => samples.reduce((n, w) => n + w.delivered, 0);

async function runOnce(machine: MachineInfo, scenario: PushScenario, run: number): Promise<RunResult> {
  const window = changeWindow(settings.warmupS, settings.measureS, scenario.ratePerSecond);
  const profiled = settings.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`];
  const server = await ServerProcess.start({
    config: quietServerConfig({ mergeWindowMs: settings.mergeWindowMs, ...(settings.fanOutSliceSize === undefined ? {} : { fanOutSliceSize: settings.fanOutSliceSize }) }),
    ...(settings.profileDir === undefined || settings.profileLoad ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const workerPorts =
    settings.pushWorkers === 0
      ? []
      : await server.pushWorkers({
          count: settings.pushWorkers,
          service: SERVICE,
          sliceSize: settings.fanOutSliceSize ?? DEFAULT_SERVER_CONFIG.fanOutSliceSize,
          maxPushesInFlight: 1,
        });
  const changes = await ChangeRun.start({ nodes: [server], writeTo: server, service: SERVICE, hosts: settings.hosts, ratePerSecond: scenario.ratePerSecond, window });
  try {
    const { handles, openMs } = await changes.openLoads<SubscriberLoadConfig, SubscriberLoadResult>({
      procs: Math.min(settings.loadProcs, scenario.subscribers),
      subscribers: scenario.subscribers,
      script: SUBSCRIBER_MAIN,
      name: (p) => `subscribers-${p}`,
      nodeArgs: settings.profileLoad ? profiled : [],
      at: server,
      ...(workerPorts.length === 0 ? {} : { addressOf: (p: number) => `127.0.0.1:${String(workerPorts[p % workerPorts.length])}` }),
      extra: { kind: settings.client },
      openBatch: 50,
    });
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    await changes.warmUp();
    const statsBefore = await server.stats();
    const workersBefore = await server.pushWorkerStats();
    const measured = await changes.measure(machine.cores);
    const statsAfter = await server.stats();
    const workersAfter = await server.pushWorkerStats();
    const results = await changes.collect(handles, 3_000);
    const firstStreamError = results.find((r) => r.firstError !== undefined)?.firstError;
    if (firstStreamError !== undefined) console.error(`stream error: ${firstStreamError}`);
    const common = fanOutRun({ changes, measured, results, ratePerSecond: scenario.ratePerSecond, run, maxClockOffsetMs, openMs });
    // With workers the hub delivers one view per change to the workers' target; they hand it to each subscriber.
    const pushes = statsAfter.delivered - statsBefore.delivered + sumDelivered(workersAfter) - sumDelivered(workersBefore);
    return {
      subscribers: scenario.subscribers,
      ...common,
      streamErrors: results.reduce((n, r) => n + r.streamErrors, 0),
      freshness: freshness(results, (seq) => changes.issuedAtMs(seq), window.firstMeasured, window.lastMeasured),
      pushes,
      serverCpuPerPushUs: pushes > 0 ? common.server.cpuUs / pushes : Number.NaN,
      ...workerFigures(workersBefore, workersAfter, common.server.wallMs),
    };
  } finally {
    await changes.close();
  }
}

const label = (s: PushScenario): string => scenarioLabel(s, 'subscribers');
const maxOf = (r: RunResult, pick: (u: RunResult['server']) => number): number => Math.max(...r.loads.map(pick));

function runLine(r: RunResult): string {
  return (
    `p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, ` +
    `received ${percent(r.received, r.expected).toFixed(1)} %, skipped ${r.skipped}, missing ${r.missing}, ` +
    `first receipt p50 ${r.perChange.firstMs.p50.toFixed(1)} ms, fan-out p50 ${r.perChange.fanOutMs.p50.toFixed(1)} / max ${r.perChange.fanOutMs.max.toFixed(1)} ms, ` +
    `p50 by subscriber position ${positionText(r.byPosition)}, ` +
    `holds it or newer p50 ${r.freshness.allMs.p50.toFixed(1)} / p99 ${r.freshness.allMs.p99.toFixed(1)} / max ${r.freshness.allMs.max.toFixed(0)} ms, ` +
    `received by position ${r.freshness.receivedByPositionPercent.map((x) => x.toFixed(0)).join('/')} %, ` +
    `server CPU ${r.server.cpuPercent.toFixed(0)} % (${r.serverCpuPerPushUs.toFixed(1)} µs/push, ELU ${r.server.eventLoopUtilization.toFixed(2)}, waits for a core ${(r.server.runDelayShare * 100).toFixed(0)} %, ` +
    (Number.isNaN(r.workerEluMax) ? '' : `push workers' ELU max ${r.workerEluMax.toFixed(2)}, waits for a core max ${(r.workerRunDelayShareMax * 100).toFixed(0)} %, `) +
    `kernel ${(r.server.systemShare * 100).toFixed(0)} %, loop stall max ${r.server.loopDelayMaxMs.toFixed(0)} ms, GC max ${r.server.gcMaxPauseMs.toFixed(0)} ms), ` +
    `load CPU ${loadCpu(r).toFixed(0)} % (loop stall max ${maxOf(r, (l) => l.loopDelayMaxMs).toFixed(0)} ms, GC max ${maxOf(r, (l) => l.gcMaxPauseMs).toFixed(0)} ms), ` +
    `driver ack p99 ${r.driverAckP99Ms.toFixed(1)} ms, lateness p99 ${r.driverLatenessP99Ms.toFixed(1)} ms, other CPU ${r.otherCpuPercent.toFixed(0)} %`
  );
}

function summarise(s: PushScenario, rs: readonly RunResult[]) {
  const tenths = positionHeaders().map((_, i) => i);
  return {
    scenario: label(s),
    subscribers: s.subscribers,
    ratePerSecond: s.ratePerSecond,
    runs: rs.length,
    expectedPerRun: rs[0]?.expected ?? 0,
    ...fanOutMedians(rs),
    ...medians(rs, {
      freshP50Ms: (r) => r.freshness.allMs.p50,
      freshP90Ms: (r) => r.freshness.allMs.p90,
      freshP99Ms: (r) => r.freshness.allMs.p99,
      freshMaxMs: (r) => r.freshness.allMs.max,
      serverCpuPerPushUs: (r) => r.serverCpuPerPushUs,
      workerEluMax: (r) => r.workerEluMax,
      workerRunDelayShareMax: (r) => r.workerRunDelayShareMax,
    }),
    freshP99ByPositionMs: tenths.map((i) => medianOf(rs, (r) => r.freshness.byPositionMs[i]?.p99 ?? Number.NaN)),
    receivedByPositionPercent: tenths.map((i) => medianOf(rs, (r) => r.freshness.receivedByPositionPercent[i] ?? Number.NaN)),
  };
}

armWatchdog(15 * 60_000);
const machine = printHeader('herald push latency (change issued → snapshot received)', {
  scenarios: settings.scenarios.map(label),
  runs: settings.runs,
  warmupS: settings.warmupS,
  measureS: settings.measureS,
  loadProcs: settings.loadProcs,
  subscriberClient: settings.client,
  hostsInService: settings.hosts,
  mergeWindowMs: settings.mergeWindowMs,
  fanOutSliceSize: settings.fanOutSliceSize ?? 'server default (64)',
  pushWorkers: settings.pushWorkers === 0 ? 'none (the server itself)' : settings.pushWorkers,
  maxPushesInFlight: 1,
  evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
  connections: 'one per subscriber',
});
const runs = await repeatRuns({ scenarios: settings.scenarios, runs: settings.runs, label, once: (s, run) => runOnce(machine, s, run), line: runLine });

printRows('Every run (latency in ms; CPU in % of one core over the measured phase):', runs, [
  ['scenario', label],
  ...runLatencyColumns,
  ['server CPU %', (r) => r.server.cpuPercent],
  ['µs/push', (r) => r.serverCpuPerPushUs],
  ['load CPU %', loadCpu],
  ['other CPU %', (r) => r.otherCpuPercent],
  ['clock offset ms', (r) => r.maxClockOffsetMs],
]);

const summary = settings.scenarios.map((s) =>
  summarise(
    s,
    runs.filter((r) => r.subscribers === s.subscribers && r.ratePerSecond === s.ratePerSecond),
  ),
);
printRows(`Medians of ${settings.runs} run(s) (latency in ms; server and load CPU in % of one core, ELU = event-loop utilisation):`, summary, medianColumns);
printRows('Where the time goes (medians; per change: first receipt = issue to the first subscriber, fan-out = first to last subscriber):', summary, [
  ...spreadColumns,
  ['server µs/push', (s) => s.serverCpuPerPushUs],
  ...serverColumns,
  ...(settings.pushWorkers === 0
    ? []
    : ([
        ['push workers ELU (max)', (s) => s.workerEluMax],
        ['push workers wait for a core % (max)', (s) => s.workerRunDelayShareMax * 100],
      ] satisfies Column<(typeof summary)[number]>[])),
  ['other CPU %', (s) => s.otherCpuPercent],
]);
printRows(
  "p50 latency (ms) by place in the fan-out: each load process's subscribers in tenths of their subscription order (medians of runs):",
  summary,
  tenthColumns((s) => s.p50ByPositionMs),
);
printRows('Freshness (medians): time from a change until a subscriber holds it or a newer one, over every subscriber and change, received or skipped (ms):', summary, [
  ['scenario', (s) => s.scenario],
  ['p50', (s) => s.freshP50Ms],
  ['p90', (s) => s.freshP90Ms],
  ['p99', (s) => s.freshP99Ms],
  ['max', (s) => s.freshMaxMs],
]);
printRows(
  'Share of the measured changes received, by place in the fan-out (%, medians of runs):',
  summary,
  tenthColumns((s) => s.receivedByPositionPercent),
);
printRows(
  'Freshness p99 by place in the fan-out (ms, medians of runs):',
  summary,
  tenthColumns((s) => s.freshP99ByPositionMs),
);

const checks: TargetCheck[] = [];
const at10 = summary.find((s) => s.subscribers === 1000 && s.ratePerSecond === 10);
const at100 = summary.find((s) => s.subscribers === 1000 && s.ratePerSecond === 100);
if (at10 !== undefined) checks.push({ metric: 'p99, N=1000, 10 changes/s', value: at10.p99Ms, unit: 'ms', bound: 25, kind: 'max' });
if (at100 !== undefined) checks.push({ metric: 'p99, N=1000, 100 changes/s', value: at100.p99Ms, unit: 'ms', bound: 100, kind: 'max' });
if (checks.length > 0) printChecks(checks);

const anomalies = runs.filter((r) => r.regressions > 0 || r.streamErrors > 0 || r.driverErrors > 0);
if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had regressions, stream errors or driver errors (see JSON)`);
const name = `push-latency${settings.client === 'light' ? '' : `-${settings.client}`}${settings.fanOutSliceSize === undefined ? '' : `-slice-${settings.fanOutSliceSize}`}${settings.pushWorkers === 0 ? '' : `-workers-${settings.pushWorkers}`}`;
console.log(`wrote ${await writeResults(name, { machine, settings, summary, checks, runs })}`);
if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
