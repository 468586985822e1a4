/**
 * UDP push latency: N push targets, each a raw udp4 socket on 127.0.0.1 registered by a GetService
 * carrying its port, all watching one service of 10 instances. A driver re-registers one instance
 * at a fixed rate with a change number and the issue time in its metadata (as push-latency does).
 * Each target decodes every "dom" datagram (gunzip, JSON, the ServiceInfo JSON), acknowledges it,
 * reads the tag and timestamps it: latency = decoded − issued, across processes on one machine
 * clock (offsets printed). A change a target never saw because a newer one replaced it (merged in
 * the server's window) counts as skipped, not timed; resends count as packets, not as latency.
 *
 * Processes: this one (driver and coordinator), the server, and --load-procs target processes.
 * Targets stay registered for the whole run because the server's udpTargetExpiryMs is set longer
 * than a run (--target-expiry-ms); nothing re-pulls during the measurement.
 *
 *   npm run build                          # once: generates src/gen
 *   npx tsx bench/udp-push-latency.ts      # 3 runs of each scenario, ~2.5 min
 *   npx tsx bench/udp-push-latency.ts --quick
 *   npx tsx bench/udp-push-latency.ts --scenarios 1000@10 --runs 1 --profile   # server CPU profile
 *
 * Writes bench/results/udp-push-latency.json.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RegistryTransport } from '../src/client/registry-transport.js';
import type { UdpPushStats } from '../src/push/udp-pusher.js';
import { ChildHandle } from './lib/child-handle.js';
import { estimateClockOffset } from './lib/clock-offset.js';
import { separateTransport } from './lib/connections.js';
import { intFlag, numberFlag } from './lib/flags.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import { maxEventLoopUtilization, sampleUsage, totalCpuPercent, usageDelta, type ProcessUsage, type UsageDelta } from './lib/process-usage.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { printHeader, printTable, writeResults } from './lib/report.js';
import { ServerProcess } from './lib/server-process.js';
import { median, medianOf, percent, summarize, type LatencySummary } from './lib/stats.js';
import { sampleUdpCounters, udpCountersDelta, udpSocketDrops, type UdpCounters } from './lib/udp-counters.js';
import { undisturbed } from './lib/undisturbed.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import { derivedInstanceId, registration } from './lib/workload.js';
import { driveChanges } from './push-latency/change-driver.js';
import { changeSpread, type ChangeSpread } from './push-latency/change-spread.js';
import { positionHeaders, positionSpread, positionText } from './push-latency/position-spread.js';
import { tagMetadata } from './push-latency/change-tag.js';
import type { TargetCommands, TargetLoadResult } from './udp-push/target-commands.js';

const SERVICE = 'udp-push-bench';
const TAGGED_INDEX = 0;

interface Scenario {
  readonly targets: number;
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
  readonly targetExpiryMs: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly collectTimeoutMs: number;
  readonly profileDir: string | undefined;
}

/** Server-side UDP counters over the measured phase plus the settling of its acks. */
interface UdpDelta {
  readonly sent: number;
  readonly resent: number;
  readonly acked: number;
  readonly failed: number;
  /** Acks still pending when the run stopped waiting (0 when everything settled). */
  readonly pendingAtEnd: number;
  /**
   * Pushes neither acknowledged nor failed nor pending: a newer push to the same target replaced
   * them while they waited for their ack (sent − acked − failed − pending).
   */
  readonly superseded: number;
  readonly targets: number;
  /** Datagrams the kernel dropped at the server's UDP socket (its receive buffer was full): lost acks. */
  readonly serverSocketDrops: number;
}

interface RunResult {
  readonly targets: number;
  readonly ratePerSecond: number;
  readonly run: number;
  readonly measuredChanges: number;
  readonly expected: number;
  readonly received: number;
  readonly skipped: number;
  readonly missing: number;
  readonly regressions: number;
  readonly duplicates: number;
  readonly unreadable: number;
  readonly latencyMs: LatencySummary;
  readonly perChange: ChangeSpread;
  /** Latency of each tenth of the subscribers, in subscription order (the order a fan-out walks). */
  readonly byPosition: readonly LatencySummary[];
  /** Datagrams per target carrying a measured change (resends included): min, median, max. */
  readonly packetsPerTarget: { readonly min: number; readonly median: number; readonly max: number };
  /** Target-side handler time per measured packet (arrival to decoded tag), µs. */
  readonly decodeUs: LatencySummary;
  readonly packetBytes: number;
  readonly serviceInfoBytes: number;
  readonly udp: UdpDelta;
  readonly kernel: UdpCounters;
  readonly driverLatenessP99Ms: number;
  readonly driverAckP99Ms: number;
  readonly driverErrors: number;
  readonly server: UsageDelta;
  /** Server CPU per datagram sent during the measured phase, µs (includes the driver's Register calls). */
  readonly serverCpuPerPacketUs: number;
  readonly loads: readonly UsageDelta[];
  readonly driver: UsageDelta;
  readonly otherCpuPercent: number;
  readonly maxClockOffsetMs: number;
  readonly openMs: number;
}

function parseScenarios(text: string): Scenario[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (m === null) throw new Error(`--scenarios: "${part}" is not TARGETS@RATE (e.g. 1000@10)`);
    return { targets: Number(m[1]), ratePerSecond: Number(m[2]) };
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
      'target-expiry-ms': { type: 'string' },
      'ack-timeout-ms': { type: 'string' },
      'max-retries': { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  return {
    scenarios: parseScenarios(values.scenarios ?? '100@10,1000@10,1000@100'),
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    warmupS: numberFlag('warmup-s', values['warmup-s'], quick ? 1 : 2),
    measureS: numberFlag('measure-s', values['measure-s'], quick ? 3 : 6),
    loadProcs: intFlag('load-procs', values['load-procs'], 2),
    hosts: intFlag('hosts', values.hosts, 10),
    mergeWindowMs: Number(values['merge-window-ms'] ?? 5),
    targetExpiryMs: intFlag('target-expiry-ms', values['target-expiry-ms'], 600_000),
    ackTimeoutMs: intFlag('ack-timeout-ms', values['ack-timeout-ms'], 1_000),
    maxRetries: Number(values['max-retries'] ?? 3),
    collectTimeoutMs: 10_000,
    profileDir: values.profile ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined,
  };
}

async function prepareService(transport: RegistryTransport, hosts: number): Promise<void> {
  await transport.register(registration(SERVICE, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 })));
  await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => transport.register(registration(SERVICE, i + 1))));
}

async function udpStats(server: ServerProcess): Promise<UdpPushStats> {
  const s = await server.udpStats();
  if (s === undefined) throw new Error('the server has UDP push off');
  return s;
}

/** Waits until the server has no unacknowledged push (or `timeoutMs` passed); returns its counters. */
async function settledUdpStats(server: ServerProcess, timeoutMs: number): Promise<UdpPushStats> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await udpStats(server);
    if (s.pendingAcks === 0 || performance.now() >= deadline) return s;
    await sleep(50);
  }
}

function concat(arrays: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

async function runOnce(settings: Settings, machine: MachineInfo, scenario: Scenario, run: number): Promise<RunResult> {
  const warmupChanges = Math.max(1, Math.round(settings.warmupS * scenario.ratePerSecond));
  const measuredChanges = Math.max(1, Math.round(settings.measureS * scenario.ratePerSecond));
  const firstMeasured = warmupChanges + 1;
  const lastMeasured = warmupChanges + measuredChanges;

  const server = await ServerProcess.start({
    config: quietServerConfig({
      mergeWindowMs: settings.mergeWindowMs,
      udpPush: true,
      udpTargetExpiryMs: settings.targetExpiryMs,
      udpAckTimeoutMs: settings.ackTimeoutMs,
      udpMaxRetries: settings.maxRetries,
    }),
    ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const driver = separateTransport(server.address);
  const procs = Math.min(settings.loadProcs, scenario.targets);
  const loads: ChildHandle<TargetCommands>[] = [];
  try {
    await prepareService(driver, settings.hosts);
    loads.push(
      ...(await Promise.all(
        Array.from({ length: procs }, (_, p) => ChildHandle.spawn<TargetCommands>({ name: `udp-targets-${p}`, script: new URL('./udp-push/target-main.ts', import.meta.url) })),
      )),
    );
    const opened = await Promise.all(
      loads.map((load, p) =>
        load.request('open', {
          address: server.address,
          service: SERVICE,
          targets: Math.floor(scenario.targets / procs) + (p < scenario.targets % procs ? 1 : 0),
          taggedInstanceId: derivedInstanceId(SERVICE, TAGGED_INDEX),
          firstMeasured,
          lastMeasured,
          pullsInFlight: 50,
        }),
      ),
    );
    const registered = await udpStats(server);
    if (registered.targets !== scenario.targets) throw new Error(`the server has ${registered.targets} UDP targets, expected ${scenario.targets}`);
    const offsets = [];
    for (const load of loads) offsets.push(await estimateClockOffset(async () => (await load.request('usage', undefined)).atMs));

    const warm = await driveChanges({ transport: driver, service: SERVICE, taggedIndex: TAGGED_INDEX, ratePerSecond: scenario.ratePerSecond, fromSeq: 1, toSeq: warmupChanges });
    // Let the warm-up's last push go out (after the merge window) and be acknowledged, so the
    // measured counters start clean.
    await sleep(settings.mergeWindowMs + 100);
    await settledUdpStats(server, 2_000);
    const sample = (): Promise<[ProcessUsage, ...ProcessUsage[]]> =>
      Promise.all([server.usage(), ...loads.map((l) => l.request('usage', undefined))] as const).then(([s, ...l]) => [s, ...l]);
    const udpBefore = await udpStats(server);
    const kernelBefore = sampleUdpCounters();
    const dropsBefore = udpSocketDrops(server.udpPort);
    const machineBefore = sampleMachineCpu();
    const driverBefore = sampleUsage();
    const before = await sample();
    const measured = await driveChanges({ transport: driver, service: SERVICE, taggedIndex: TAGGED_INDEX, ratePerSecond: scenario.ratePerSecond, fromSeq: firstMeasured, toSeq: lastMeasured });
    const after = await sample();
    const driverAfter = sampleUsage();
    const machineAfter = sampleMachineCpu();
    const udpAtEnd = await udpStats(server);
    const results: TargetLoadResult[] = await Promise.all(loads.map((l) => l.request('collect', { untilSeq: lastMeasured, timeoutMs: settings.collectTimeoutMs })));
    // Resends go out every ackTimeoutMs, at most maxRetries times: wait that long for the last acks.
    const udpAfter = await settledUdpStats(server, settings.ackTimeoutMs * (settings.maxRetries + 1) + 500);
    const kernelAfter = sampleUdpCounters();
    const dropsAfter = udpSocketDrops(server.udpPort);

    const serverUsage = usageDelta(before[0], after[0]);
    const loadUsage = loads.map((_, i) => usageDelta(before[i + 1] ?? before[0], after[i + 1] ?? after[0]));
    const driverUsage = usageDelta(driverBefore, driverAfter);
    const ours = serverUsage.cpuPercent + driverUsage.cpuPercent + loadUsage.reduce((n, l) => n + l.cpuPercent, 0);
    const sum = (pick: (r: TargetLoadResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
    const perTarget = results.flatMap((r) => [...r.measuredPackets]).sort((a, b) => a - b);
    if (warm.firstError !== undefined || measured.firstError !== undefined) console.error(`driver error: ${warm.firstError ?? measured.firstError ?? ''}`);
    const sentInPhase = udpAtEnd.sent - udpBefore.sent;
    return {
      targets: scenario.targets,
      ratePerSecond: scenario.ratePerSecond,
      run,
      measuredChanges,
      expected: measuredChanges * scenario.targets,
      received: sum((r) => r.received),
      skipped: sum((r) => r.skipped),
      missing: sum((r) => r.missing),
      regressions: sum((r) => r.regressions),
      duplicates: sum((r) => r.duplicates),
      unreadable: sum((r) => r.unreadable),
      latencyMs: summarize(concat(results.map((r) => r.latenciesMs))),
      perChange: changeSpread(results),
      byPosition: positionSpread(results.map((r) => ({ subscribers: r.targets, latenciesMs: r.latenciesMs, latencySubs: r.latencySubs }))),
      packetsPerTarget: { min: perTarget[0] ?? 0, median: median(perTarget), max: perTarget.at(-1) ?? 0 },
      decodeUs: summarize(concat(results.map((r) => r.decodeUs))),
      packetBytes: Math.max(...results.map((r) => r.packetBytes)),
      serviceInfoBytes: Math.max(...results.map((r) => r.serviceInfoBytes)),
      udp: {
        sent: udpAfter.sent - udpBefore.sent,
        resent: udpAfter.resent - udpBefore.resent,
        acked: udpAfter.acked - udpBefore.acked,
        failed: udpAfter.failed - udpBefore.failed,
        pendingAtEnd: udpAfter.pendingAcks,
        superseded: udpAfter.sent - udpBefore.sent - (udpAfter.acked - udpBefore.acked) - (udpAfter.failed - udpBefore.failed) - udpAfter.pendingAcks,
        targets: udpAfter.targets,
        serverSocketDrops: dropsBefore === undefined || dropsAfter === undefined ? Number.NaN : dropsAfter - dropsBefore,
      },
      kernel: udpCountersDelta(kernelBefore, kernelAfter),
      driverLatenessP99Ms: summarize(measured.latenessMs).p99,
      driverAckP99Ms: summarize(measured.ackMs).p99,
      driverErrors: warm.errors + measured.errors,
      server: serverUsage,
      serverCpuPerPacketUs: sentInPhase > 0 ? serverUsage.cpuUs / sentInPhase : Number.NaN,
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
  return `N=${s.targets}, ${s.ratePerSecond}/s`;
}

const loadCpu = (r: RunResult): number => totalCpuPercent(r.loads);
const loadElu = (r: RunResult): number => maxEventLoopUtilization(r.loads);

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(20 * 60_000);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });
  const machine = printHeader('herald UDP push latency (change issued → dom packet decoded at the target)', {
    scenarios: settings.scenarios.map(label),
    runs: settings.runs,
    warmupS: settings.warmupS,
    measureS: settings.measureS,
    loadProcs: settings.loadProcs,
    hostsInService: settings.hosts,
    mergeWindowMs: settings.mergeWindowMs,
    udpTargetExpiryMs: settings.targetExpiryMs,
    udpAckTimeoutMs: settings.ackTimeoutMs,
    udpMaxRetries: settings.maxRetries,
    sendBatchSize: 256,
    targets: 'udp4 sockets on 127.0.0.1, registered by GetService with udp_port, no re-pulls',
    decode: 'decodeDatagram (gunzip + JSON), ack, JSON.parse(data), tag from the host metadata',
    evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
  });

  const runs: RunResult[] = [];
  for (const scenario of settings.scenarios) {
    for (let run = 1; run <= settings.runs; run++) {
      const r = await undisturbed(`${label(scenario)} run ${run}`, () => runOnce(settings, machine, scenario, run));
      runs.push(r);
      console.log(
        `${label(scenario)} run ${run}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, ` +
          `received ${percent(r.received, r.expected).toFixed(1)} %, skipped ${r.skipped}, missing ${r.missing}, duplicates ${r.duplicates}, ` +
          `packets/target ${r.packetsPerTarget.min}..${r.packetsPerTarget.max}, ` +
          `sent ${r.udp.sent}, resent ${r.udp.resent}, acked ${r.udp.acked}, failed ${r.udp.failed}, pending ${r.udp.pendingAtEnd}, ` +
          `superseded unacked ${r.udp.superseded}, dropped at the server socket ${r.udp.serverSocketDrops} (kernel rcvbuf drops ${r.kernel.rcvbufErrors}), ` +
          `first receipt p50 ${r.perChange.firstMs.p50.toFixed(1)} ms, fan-out p50 ${r.perChange.fanOutMs.p50.toFixed(1)} / max ${r.perChange.fanOutMs.max.toFixed(1)} ms, ` +
          `p50 by target position ${positionText(r.byPosition)}, ` +
          `server CPU ${r.server.cpuPercent.toFixed(0)} % (${r.serverCpuPerPacketUs.toFixed(1)} µs/packet, kernel ${(r.server.systemShare * 100).toFixed(0)} %, loop stall max ${r.server.loopDelayMaxMs.toFixed(0)} ms, GC max ${r.server.gcMaxPauseMs.toFixed(0)} ms), ` +
          `load CPU ${loadCpu(r).toFixed(0)} % (decode p50 ${r.decodeUs.p50.toFixed(0)} µs/packet), ` +
          `driver ack p99 ${r.driverAckP99Ms.toFixed(1)} ms, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
      );
    }
  }
  console.log('');

  printTable(
    'Every run (latency in ms; CPU in % of one core over the measured phase):',
    ['scenario', 'run', 'p50', 'p90', 'p99', 'max', 'received %', 'skipped', 'missing', 'sent', 'resent', 'acked', 'failed', 'server CPU %', 'load CPU %', 'other CPU %', 'clock offset ms'],
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
      r.udp.sent,
      r.udp.resent,
      r.udp.acked,
      r.udp.failed,
      r.server.cpuPercent,
      loadCpu(r),
      r.otherCpuPercent,
      r.maxClockOffsetMs,
    ]),
  );

  const summary = settings.scenarios.map((s) => {
    const rs = runs.filter((r) => r.targets === s.targets && r.ratePerSecond === s.ratePerSecond);
    return {
      scenario: label(s),
      targets: s.targets,
      ratePerSecond: s.ratePerSecond,
      runs: rs.length,
      expectedPerRun: rs[0]?.expected ?? 0,
      p50Ms: medianOf(rs, (r) => r.latencyMs.p50),
      p90Ms: medianOf(rs, (r) => r.latencyMs.p90),
      p99Ms: medianOf(rs, (r) => r.latencyMs.p99),
      maxMs: medianOf(rs, (r) => r.latencyMs.max),
      p99RangeMs: [Math.min(...rs.map((r) => r.latencyMs.p99)), Math.max(...rs.map((r) => r.latencyMs.p99))],
      receivedPercent: medianOf(rs, (r) => percent(r.received, r.expected)),
      skipped: medianOf(rs, (r) => r.skipped),
      missing: medianOf(rs, (r) => r.missing),
      duplicates: medianOf(rs, (r) => r.duplicates),
      packetsPerTargetMin: medianOf(rs, (r) => r.packetsPerTarget.min),
      packetsPerTargetMedian: medianOf(rs, (r) => r.packetsPerTarget.median),
      packetsPerTargetMax: medianOf(rs, (r) => r.packetsPerTarget.max),
      sent: medianOf(rs, (r) => r.udp.sent),
      resent: medianOf(rs, (r) => r.udp.resent),
      acked: medianOf(rs, (r) => r.udp.acked),
      failed: medianOf(rs, (r) => r.udp.failed),
      superseded: medianOf(rs, (r) => r.udp.superseded),
      serverSocketDrops: medianOf(rs, (r) => r.udp.serverSocketDrops),
      kernelRcvbufErrors: medianOf(rs, (r) => r.kernel.rcvbufErrors),
      firstReceiptP50Ms: medianOf(rs, (r) => r.perChange.firstMs.p50),
      fanOutP50Ms: medianOf(rs, (r) => r.perChange.fanOutMs.p50),
      fanOutMaxMs: medianOf(rs, (r) => r.perChange.fanOutMs.max),
      p50ByPositionMs: positionHeaders().map((_, i) => medianOf(rs, (r) => r.byPosition[i]?.p50 ?? Number.NaN)),
      serverCpuPercent: medianOf(rs, (r) => r.server.cpuPercent),
      serverEventLoopUtilization: medianOf(rs, (r) => r.server.eventLoopUtilization),
      serverCpuPerPacketUs: medianOf(rs, (r) => r.serverCpuPerPacketUs),
      serverKernelShare: medianOf(rs, (r) => r.server.systemShare),
      serverLoopStallMaxMs: medianOf(rs, (r) => r.server.loopDelayMaxMs),
      serverGcMaxPauseMs: medianOf(rs, (r) => r.server.gcMaxPauseMs),
      loadCpuPercent: medianOf(rs, loadCpu),
      loadEventLoopUtilizationMax: medianOf(rs, loadElu),
      decodeP50Us: medianOf(rs, (r) => r.decodeUs.p50),
      packetBytes: medianOf(rs, (r) => r.packetBytes),
      serviceInfoBytes: medianOf(rs, (r) => r.serviceInfoBytes),
      driverAckP99Ms: medianOf(rs, (r) => r.driverAckP99Ms),
      otherCpuPercent: medianOf(rs, (r) => r.otherCpuPercent),
    };
  });
  printTable(
    `Medians of ${settings.runs} run(s) (latency in ms, issue to decoded at the target; CPU in % of one core):`,
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
    'Packets (medians; server counters over the measured phase until every ack settled; per target = datagrams carrying a measured change):',
    ['scenario', 'sent', 'resent', 'acked', 'failed', 'superseded unacked', 'acks dropped at server socket', 'duplicates at targets', 'per target min', 'per target median', 'per target max', 'kernel rcvbuf drops', 'packet bytes', 'ServiceInfo bytes'],
    summary.map((s) => [
      s.scenario,
      s.sent,
      s.resent,
      s.acked,
      s.failed,
      s.superseded,
      s.serverSocketDrops,
      s.duplicates,
      s.packetsPerTargetMin,
      s.packetsPerTargetMedian,
      s.packetsPerTargetMax,
      s.kernelRcvbufErrors,
      s.packetBytes,
      s.serviceInfoBytes,
    ]),
  );
  printTable(
    'Where the time goes (medians; per change: first receipt = issue to the first target, fan-out = first to last target):',
    ['scenario', 'first receipt p50 ms', 'fan-out p50 ms', 'fan-out max ms', 'server µs/packet', 'server kernel %', 'server loop stall max ms', 'server GC max ms', 'target decode p50 µs', 'other CPU %'],
    summary.map((s) => [
      s.scenario,
      s.firstReceiptP50Ms,
      s.fanOutP50Ms,
      s.fanOutMaxMs,
      s.serverCpuPerPacketUs,
      s.serverKernelShare * 100,
      s.serverLoopStallMaxMs,
      s.serverGcMaxPauseMs,
      s.decodeP50Us,
      s.otherCpuPercent,
    ]),
  );

  printTable(
    'p50 latency (ms) by place in the fan-out: each load process\'s targets in tenths of their subscription order (medians of runs):',
    ['scenario', ...positionHeaders()],
    summary.map((s) => [s.scenario, ...s.p50ByPositionMs]),
  );

  const anomalies = runs.filter((r) => r.regressions > 0 || r.unreadable > 0 || r.driverErrors > 0);
  if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had regressions, unreadable packets or driver errors (see JSON)`);
  const file = await writeResults('udp-push-latency', { machine, settings, summary, runs });
  console.log(`wrote ${file}`);
  if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
}

await main();
