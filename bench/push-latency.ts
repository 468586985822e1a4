/**
 * Push latency: N subscribers, each on its own connection, subscribed to one service; a driver
 * re-registers one of its instances at a fixed rate with a change number and the issue time in its
 * metadata. Every subscriber timestamps each snapshot on arrival: latency = arrival − issue, across
 * processes on one machine clock (checked: the clock offsets are printed). A change a subscriber
 * never saw because a newer snapshot replaced it is counted as skipped, not timed. "Freshness"
 * times every change, received or skipped: until the subscriber holds it or a newer one, which
 * shows subscribers that are updated rarely; it is also broken down by place in the fan-out.
 *
 * Processes: this one (driver and coordinator), the server, and --load-procs subscriber processes.
 * Subscribers are `light` by default (gRPC over node:http2, tag read from the bytes), so the load
 * processes take as little of the 2 cores as possible; `--client transport` uses RegistryTransport
 * (grpc-js + full decode), i.e. what an application pays, with 1000 of them sharing one core here.
 *
 *   npm run build                      # once: generates src/gen
 *   npx tsx bench/push-latency.ts      # 3 runs of each scenario, ~2.5 min
 *   npx tsx bench/push-latency.ts --quick
 *   npx tsx bench/push-latency.ts --scenarios 1000@100 --runs 1 --profile   # server CPU profile
 *   (--profile-load profiles the subscriber processes instead; summarise with bench/profile-summary.ts)
 *   npx tsx bench/push-latency.ts --scenarios 1000@100 --fan-out-slice-size 1000000   # one slice: no yielding
 *
 * Writes bench/results/push-latency.json (push-latency-transport.json with --client transport,
 * push-latency-slice-<n>.json with --fan-out-slice-size).
 */
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { RegistryTransport } from '../src/client/registry-transport.js';
import { parseClientKind } from './lib/bench-client.js';
import { ChildHandle } from './lib/child-handle.js';
import { estimateClockOffset } from './lib/clock-offset.js';
import { separateTransport } from './lib/connections.js';
import { intFlag, numberFlag } from './lib/flags.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import { maxEventLoopUtilization, sampleUsage, totalCpuPercent, usageDelta, type ProcessUsage, type UsageDelta } from './lib/process-usage.js';
import type { MachineInfo } from './lib/machine.js';
import { printChecks, printHeader, printTable, writeResults, type TargetCheck } from './lib/report.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { ServerProcess } from './lib/server-process.js';
import { medianOf, percent, summarize, type LatencySummary } from './lib/stats.js';
import { undisturbed } from './lib/undisturbed.js';
import { armWatchdog } from './lib/watchdog.js';
import { derivedInstanceId, registration } from './lib/workload.js';
import { tagMetadata } from './push-latency/change-tag.js';
import { driveChanges } from './push-latency/change-driver.js';
import { changeSpread, type ChangeSpread } from './push-latency/change-spread.js';
import { freshness, type Freshness } from './push-latency/freshness.js';
import { positionHeaders, positionSpread, positionText } from './push-latency/position-spread.js';
import type { SubscriberCommands, SubscriberLoadResult } from './push-latency/subscriber-commands.js';
import type { SubscriberKind } from './push-latency/subscriber-kinds.js';

const SERVICE = 'push-bench';
const TAGGED_INDEX = 0;

interface Scenario {
  readonly subscribers: number;
  readonly ratePerSecond: number;
}

interface Settings {
  readonly scenarios: readonly Scenario[];
  readonly runs: number;
  readonly warmupS: number;
  readonly measureS: number;
  readonly loadProcs: number;
  readonly hosts: number;
  readonly mergeWindowMs: number;
  /** The server's fanOutSliceSize; undefined = its default (64). */
  readonly fanOutSliceSize: number | undefined;
  readonly profileDir: string | undefined;
  readonly profileLoad: boolean;
  readonly client: SubscriberKind;
}

interface RunResult {
  readonly subscribers: number;
  readonly ratePerSecond: number;
  readonly run: number;
  readonly measuredChanges: number;
  readonly expected: number;
  readonly received: number;
  readonly skipped: number;
  readonly missing: number;
  readonly regressions: number;
  readonly streamErrors: number;
  readonly latencyMs: LatencySummary;
  /** Per change: first receipt, last receipt, and the spread between them. */
  readonly perChange: ChangeSpread;
  /** Latency of each tenth of the subscribers, in subscription order (the order a fan-out walks). */
  readonly byPosition: readonly LatencySummary[];
  /** Time until each subscriber holds each measured change or a newer one (received or skipped). */
  readonly freshness: Freshness;
  readonly driverLatenessP99Ms: number;
  readonly driverAckP99Ms: number;
  readonly driverErrors: number;
  readonly server: UsageDelta;
  /** Snapshots the server handed to subscribers during the measured phase. */
  readonly pushes: number;
  /** Server CPU time per push during the measured phase, µs (includes the driver's Register calls). */
  readonly serverCpuPerPushUs: number;
  readonly loads: readonly UsageDelta[];
  /** This process (the driver) over the measured phase. */
  readonly driver: UsageDelta;
  /** CPU used by processes other than this benchmark's during the measured phase, % of one core. */
  readonly otherCpuPercent: number;
  /** Largest |clock offset| between this process and a load process, ms (± half the probe RTT). */
  readonly maxClockOffsetMs: number;
  readonly openMs: number;
}

function parseScenarios(text: string): Scenario[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (m === null) throw new Error(`--scenarios: "${part}" is not SUBSCRIBERS@RATE (e.g. 1000@10)`);
    return { subscribers: Number(m[1]), ratePerSecond: Number(m[2]) };
  });
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      runs: { type: 'string' },
      'warmup-s': { type: 'string' },
      'measure-s': { type: 'string' },
      'load-procs': { type: 'string' },
      hosts: { type: 'string' },
      'merge-window-ms': { type: 'string' },
      'fan-out-slice-size': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-load': { type: 'boolean', default: false },
      client: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick;
  return {
    client: parseClientKind(values.client, 'light'),
    scenarios: parseScenarios(values.scenarios ?? '100@10,1000@10,1000@100'),
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    warmupS: numberFlag('warmup-s', values['warmup-s'], quick ? 1 : 2),
    measureS: numberFlag('measure-s', values['measure-s'], quick ? 3 : 6),
    loadProcs: intFlag('load-procs', values['load-procs'], 2),
    hosts: intFlag('hosts', values.hosts, 10),
    mergeWindowMs: Number(values['merge-window-ms'] ?? 5),
    fanOutSliceSize: values['fan-out-slice-size'] === undefined ? undefined : intFlag('fan-out-slice-size', values['fan-out-slice-size'], 64),
    profileDir: values.profile || values['profile-load'] ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined,
    profileLoad: values['profile-load'],
  };
}

/** The service: `hosts` instances, the first of which carries the change tag (change 0 to start). */
async function prepareService(transport: RegistryTransport, hosts: number): Promise<void> {
  await transport.register(registration(SERVICE, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 })));
  await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => transport.register(registration(SERVICE, i + 1))));
}

async function runOnce(settings: Settings, machine: MachineInfo, scenario: Scenario, run: number): Promise<RunResult> {
  const warmupChanges = Math.max(1, Math.round(settings.warmupS * scenario.ratePerSecond));
  const measuredChanges = Math.max(1, Math.round(settings.measureS * scenario.ratePerSecond));
  const firstMeasured = warmupChanges + 1;
  const lastMeasured = warmupChanges + measuredChanges;

  const server = await ServerProcess.start({
    config: quietServerConfig({ mergeWindowMs: settings.mergeWindowMs, ...(settings.fanOutSliceSize === undefined ? {} : { fanOutSliceSize: settings.fanOutSliceSize }) }),
    ...(settings.profileDir === undefined || settings.profileLoad ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const driver = separateTransport(server.address);
  const procs = Math.min(settings.loadProcs, scenario.subscribers);
  const loads: ChildHandle<SubscriberCommands>[] = [];
  try {
    await prepareService(driver, settings.hosts);
    loads.push(
      ...(await Promise.all(
        Array.from({ length: procs }, (_, p) =>
          ChildHandle.spawn<SubscriberCommands>({
            name: `subscribers-${p}`,
            script: new URL('./push-latency/subscriber-main.ts', import.meta.url),
            nodeArgs: settings.profileLoad && settings.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`] : [],
          }),
        ),
      )),
    );
    const opened = await Promise.all(
      loads.map((load, p) =>
        load.request('open', {
          address: server.address,
          service: SERVICE,
          subscribers: Math.floor(scenario.subscribers / procs) + (p < scenario.subscribers % procs ? 1 : 0),
          kind: settings.client,
          taggedInstanceId: derivedInstanceId(SERVICE, TAGGED_INDEX),
          firstMeasured,
          lastMeasured,
          openBatch: 50,
        }),
      ),
    );
    const offsets = [];
    for (const load of loads) offsets.push(await estimateClockOffset(async () => (await load.request('usage', undefined)).atMs));

    const warm = await driveChanges({ transport: driver, service: SERVICE, taggedIndex: TAGGED_INDEX, ratePerSecond: scenario.ratePerSecond, fromSeq: 1, toSeq: warmupChanges });
    const sample = (): Promise<[ProcessUsage, ...ProcessUsage[]]> =>
      Promise.all([server.usage(), ...loads.map((l) => l.request('usage', undefined))] as const).then(([s, ...l]) => [s, ...l]);
    const statsBefore = await server.stats();
    const machineBefore = sampleMachineCpu();
    const driverBefore = sampleUsage();
    const before = await sample();
    const measured = await driveChanges({
      transport: driver,
      service: SERVICE,
      taggedIndex: TAGGED_INDEX,
      ratePerSecond: scenario.ratePerSecond,
      fromSeq: firstMeasured,
      toSeq: lastMeasured,
    });
    const after = await sample();
    const driverAfter = sampleUsage();
    const machineAfter = sampleMachineCpu();
    const statsAfter = await server.stats();
    const pushes = statsAfter.delivered - statsBefore.delivered;
    const serverUsage = usageDelta(before[0], after[0]);
    const loadUsage = loads.map((_, i) => usageDelta(before[i + 1] ?? before[0], after[i + 1] ?? after[0]));
    const driverUsage = usageDelta(driverBefore, driverAfter);
    const ours = serverUsage.cpuPercent + driverUsage.cpuPercent + loadUsage.reduce((n, l) => n + l.cpuPercent, 0);
    const results: SubscriberLoadResult[] = await Promise.all(loads.map((l) => l.request('collect', { untilSeq: lastMeasured, timeoutMs: 3_000 })));

    const latencies = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
    let at = 0;
    for (const r of results) {
      latencies.set(r.latenciesMs, at);
      at += r.latenciesMs.length;
    }
    const sum = (pick: (r: SubscriberLoadResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
    const firstStreamError = results.find((r) => r.firstError !== undefined)?.firstError;
    if (firstStreamError !== undefined) console.error(`stream error: ${firstStreamError}`);
    if (warm.firstError !== undefined || measured.firstError !== undefined) console.error(`driver error: ${warm.firstError ?? measured.firstError ?? ''}`);
    return {
      subscribers: scenario.subscribers,
      ratePerSecond: scenario.ratePerSecond,
      run,
      measuredChanges,
      expected: measuredChanges * scenario.subscribers,
      received: sum((r) => r.received),
      skipped: sum((r) => r.skipped),
      missing: sum((r) => r.missing),
      regressions: sum((r) => r.regressions),
      streamErrors: sum((r) => r.streamErrors),
      latencyMs: summarize(latencies),
      perChange: changeSpread(results),
      byPosition: positionSpread(results),
      freshness: freshness(results, (seq) => measured.issuedAtMs[seq - firstMeasured] ?? Number.NaN, firstMeasured, lastMeasured),
      driverLatenessP99Ms: summarize(measured.latenessMs).p99,
      driverAckP99Ms: summarize(measured.ackMs).p99,
      driverErrors: warm.errors + measured.errors,
      server: serverUsage,
      pushes,
      serverCpuPerPushUs: pushes > 0 ? serverUsage.cpuUs / pushes : Number.NaN,
      loads: loadUsage,
      driver: driverUsage,
      otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, machine.cores) - ours),
      maxClockOffsetMs: Math.max(...offsets.map((o) => Math.abs(o.offsetMs))),
      openMs: Math.max(...opened.map((o) => o.openMs)),
    };
  } finally {
    await Promise.all(loads.map((l) => l.exit()));
    driver.close();
    await server.stop();
  }
}

function label(s: Scenario): string {
  return `N=${s.subscribers}, ${s.ratePerSecond}/s`;
}

const loadCpu = (r: RunResult): number => totalCpuPercent(r.loads);
const loadElu = (r: RunResult): number => maxEventLoopUtilization(r.loads);

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(15 * 60_000);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });
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
    maxPushesInFlight: 1,
    evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    connections: 'one per subscriber',
  });

  const runs: RunResult[] = [];
  for (const scenario of settings.scenarios) {
    for (let run = 1; run <= settings.runs; run++) {
      const r = await undisturbed(`${label(scenario)} run ${run}`, () => runOnce(settings, machine, scenario, run));
      runs.push(r);
      console.log(
        `${label(scenario)} run ${run}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, ` +
          `received ${percent(r.received, r.expected).toFixed(1)} %, skipped ${r.skipped}, missing ${r.missing}, ` +
          `first receipt p50 ${r.perChange.firstMs.p50.toFixed(1)} ms, fan-out p50 ${r.perChange.fanOutMs.p50.toFixed(1)} / max ${r.perChange.fanOutMs.max.toFixed(1)} ms, ` +
          `p50 by subscriber position ${positionText(r.byPosition)}, ` +
          `holds it or newer p50 ${r.freshness.allMs.p50.toFixed(1)} / p99 ${r.freshness.allMs.p99.toFixed(1)} / max ${r.freshness.allMs.max.toFixed(0)} ms, ` +
          `received by position ${r.freshness.receivedByPositionPercent.map((x) => x.toFixed(0)).join('/')} %, ` +
          `server CPU ${r.server.cpuPercent.toFixed(0)} % (${r.serverCpuPerPushUs.toFixed(1)} µs/push, kernel ${(r.server.systemShare * 100).toFixed(0)} %, loop stall max ${r.server.loopDelayMaxMs.toFixed(0)} ms, GC max ${r.server.gcMaxPauseMs.toFixed(0)} ms), ` +
          `load CPU ${loadCpu(r).toFixed(0)} % (loop stall max ${Math.max(...r.loads.map((l) => l.loopDelayMaxMs)).toFixed(0)} ms, GC max ${Math.max(...r.loads.map((l) => l.gcMaxPauseMs)).toFixed(0)} ms), ` +
          `driver ack p99 ${r.driverAckP99Ms.toFixed(1)} ms, lateness p99 ${r.driverLatenessP99Ms.toFixed(1)} ms, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
      );
    }
  }
  console.log('');

  printTable(
    'Every run (latency in ms; CPU in % of one core over the measured phase):',
    ['scenario', 'run', 'p50', 'p90', 'p99', 'max', 'received %', 'skipped', 'missing', 'server CPU %', 'µs/push', 'load CPU %', 'other CPU %', 'clock offset ms'],
    runs.map((r) => [
      label(r),
      r.run,
      r.latencyMs.p50,
      r.latencyMs.p90,
      r.latencyMs.p99,
      r.latencyMs.max,
      percent(r.received, r.expected),
      r.skipped,
      r.missing,
      r.server.cpuPercent,
      r.serverCpuPerPushUs,
      loadCpu(r),
      r.otherCpuPercent,
      r.maxClockOffsetMs,
    ]),
  );

  const summary = settings.scenarios.map((s) => {
    const rs = runs.filter((r) => r.subscribers === s.subscribers && r.ratePerSecond === s.ratePerSecond);
    return {
      scenario: label(s),
      subscribers: s.subscribers,
      ratePerSecond: s.ratePerSecond,
      runs: rs.length,
      expectedPerRun: rs[0]?.expected ?? 0,
      p50Ms: medianOf(rs, (r) => r.latencyMs.p50),
      p90Ms: medianOf(rs, (r) => r.latencyMs.p90),
      p99Ms: medianOf(rs, (r) => r.latencyMs.p99),
      maxMs: medianOf(rs, (r) => r.latencyMs.max),
      receivedPercent: medianOf(rs, (r) => percent(r.received, r.expected)),
      skipped: medianOf(rs, (r) => r.skipped),
      missing: medianOf(rs, (r) => r.missing),
      firstReceiptP50Ms: medianOf(rs, (r) => r.perChange.firstMs.p50),
      fanOutP50Ms: medianOf(rs, (r) => r.perChange.fanOutMs.p50),
      fanOutMaxMs: medianOf(rs, (r) => r.perChange.fanOutMs.max),
      p50ByPositionMs: positionHeaders().map((_, i) => medianOf(rs, (r) => r.byPosition[i]?.p50 ?? Number.NaN)),
      freshP50Ms: medianOf(rs, (r) => r.freshness.allMs.p50),
      freshP90Ms: medianOf(rs, (r) => r.freshness.allMs.p90),
      freshP99Ms: medianOf(rs, (r) => r.freshness.allMs.p99),
      freshMaxMs: medianOf(rs, (r) => r.freshness.allMs.max),
      freshP99ByPositionMs: positionHeaders().map((_, i) => medianOf(rs, (r) => r.freshness.byPositionMs[i]?.p99 ?? Number.NaN)),
      receivedByPositionPercent: positionHeaders().map((_, i) => medianOf(rs, (r) => r.freshness.receivedByPositionPercent[i] ?? Number.NaN)),
      serverCpuPercent: medianOf(rs, (r) => r.server.cpuPercent),
      serverCpuPerPushUs: medianOf(rs, (r) => r.serverCpuPerPushUs),
      serverKernelShare: medianOf(rs, (r) => r.server.systemShare),
      serverLoopStallMaxMs: medianOf(rs, (r) => r.server.loopDelayMaxMs),
      serverGcMaxPauseMs: medianOf(rs, (r) => r.server.gcMaxPauseMs),
      otherCpuPercent: medianOf(rs, (r) => r.otherCpuPercent),
      p99RangeMs: [Math.min(...rs.map((r) => r.latencyMs.p99)), Math.max(...rs.map((r) => r.latencyMs.p99))],
      serverEventLoopUtilization: medianOf(rs, (r) => r.server.eventLoopUtilization),
      loadCpuPercent: medianOf(rs, loadCpu),
      loadEventLoopUtilizationMax: medianOf(rs, loadElu),
      driverLatenessP99Ms: medianOf(rs, (r) => r.driverLatenessP99Ms),
      driverAckP99Ms: medianOf(rs, (r) => r.driverAckP99Ms),
    };
  });
  printTable(
    `Medians of ${settings.runs} run(s) (latency in ms; server and load CPU in % of one core, ELU = event-loop utilisation):`,
    ['scenario', 'p50', 'p90', 'p99', 'max', 'received %', 'skipped', 'missing', 'server CPU %', 'server ELU', 'load CPU %', 'load ELU (max)'],
    summary.map((s) => [
      s.scenario,
      s.p50Ms,
      s.p90Ms,
      s.p99Ms,
      s.maxMs,
      s.receivedPercent,
      s.skipped,
      s.missing,
      s.serverCpuPercent,
      s.serverEventLoopUtilization,
      s.loadCpuPercent,
      s.loadEventLoopUtilizationMax,
    ]),
  );
  printTable(
    'Where the time goes (medians; per change: first receipt = issue to the first subscriber, fan-out = first to last subscriber):',
    ['scenario', 'first receipt p50 ms', 'fan-out p50 ms', 'fan-out max ms', 'server µs/push', 'server kernel %', 'server loop stall max ms', 'server GC max ms', 'other CPU %'],
    summary.map((s) => [
      s.scenario,
      s.firstReceiptP50Ms,
      s.fanOutP50Ms,
      s.fanOutMaxMs,
      s.serverCpuPerPushUs,
      s.serverKernelShare * 100,
      s.serverLoopStallMaxMs,
      s.serverGcMaxPauseMs,
      s.otherCpuPercent,
    ]),
  );

  printTable(
    'p50 latency (ms) by place in the fan-out: each load process\'s subscribers in tenths of their subscription order (medians of runs):',
    ['scenario', ...positionHeaders()],
    summary.map((s) => [s.scenario, ...s.p50ByPositionMs]),
  );

  printTable(
    'Freshness (medians): time from a change until a subscriber holds it or a newer one, over every subscriber and change, received or skipped (ms):',
    ['scenario', 'p50', 'p90', 'p99', 'max'],
    summary.map((s) => [s.scenario, s.freshP50Ms, s.freshP90Ms, s.freshP99Ms, s.freshMaxMs]),
  );
  printTable(
    'Share of the measured changes received, by place in the fan-out (%, medians of runs):',
    ['scenario', ...positionHeaders()],
    summary.map((s) => [s.scenario, ...s.receivedByPositionPercent]),
  );
  printTable(
    'Freshness p99 by place in the fan-out (ms, medians of runs):',
    ['scenario', ...positionHeaders()],
    summary.map((s) => [s.scenario, ...s.freshP99ByPositionMs]),
  );

  const checks: TargetCheck[] = [];
  const find = (n: number, rate: number): (typeof summary)[number] | undefined => summary.find((s) => s.subscribers === n && s.ratePerSecond === rate);
  const at10 = find(1000, 10);
  const at100 = find(1000, 100);
  if (at10 !== undefined) checks.push({ metric: 'p99, N=1000, 10 changes/s', value: at10.p99Ms, unit: 'ms', bound: 25, kind: 'max' });
  if (at100 !== undefined) checks.push({ metric: 'p99, N=1000, 100 changes/s', value: at100.p99Ms, unit: 'ms', bound: 100, kind: 'max' });
  if (checks.length > 0) printChecks(checks);

  const anomalies = runs.filter((r) => r.regressions > 0 || r.streamErrors > 0 || r.driverErrors > 0);
  if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had regressions, stream errors or driver errors (see JSON)`);
  const name = `push-latency${settings.client === 'light' ? '' : `-${settings.client}`}${settings.fanOutSliceSize === undefined ? '' : `-slice-${settings.fanOutSliceSize}`}`;
  const file = await writeResults(name, { machine, settings, summary, checks, runs });
  console.log(`wrote ${file}`);
  if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
}

await main();
