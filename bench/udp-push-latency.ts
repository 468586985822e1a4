/**
 * UDP push latency: N push targets, each a raw udp4 socket on 127.0.0.1 registered by a GetService
 * carrying its port, all watching one service; the driver changes it as in push-latency
 * (lib/push/changes.ts). Each target decodes every "dom" datagram as a Nacos client does (gunzip,
 * JSON, the ServiceInfo JSON), acknowledges it, reads the tag and timestamps it: latency = decoded −
 * issued. A change a target never saw because a newer one replaced it counts as skipped; resends
 * count as packets, not as latency. Targets stay registered for the whole run because the server's
 * udpTargetExpiryMs is longer than a run (--target-expiry-ms); nothing re-pulls meanwhile.
 *
 *   npx tsx bench/udp-push-latency.ts --help
 *   npx tsx bench/udp-push-latency.ts --scenarios 1000@10 --runs 1 --profile   # server CPU profile
 */
import { bool, int, parseFlags, type Scenario } from './lib/flags.js';
import type { MachineInfo } from './lib/machine.js';
import { changeWindow } from './lib/push/changes.js';
import { ChangeRun } from './lib/push/change-run.js';
import { fanOutFlags, fanOutMedians, fanOutRun, loadCpu, medianColumns, runLatencyColumns, scenarioLabel, serverColumns, spreadColumns, tenthColumns, type FanOutRun } from './lib/push/fan-out.js';
import { positionText } from './lib/push/receipts.js';
import { printHeader, printRows, profileDir, writeResults } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from './lib/server-process.js';
import { median, percent, summarize, type LatencySummary } from './lib/stats.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import type { TargetLoadConfig, TargetLoadResult } from './udp-push-latency/target-commands.js';
import { sampleUdpCounters, serverUdpDelta, settledUdpStats, udpCountersDelta, udpSocketDrops, udpStats, type UdpCounters, type UdpDelta } from './udp-push-latency/udp-counters.js';

const SERVICE = 'udp-push-bench';

const { flags } = parseFlags(
  {
    script: 'bench/udp-push-latency.ts',
    about: `Change → UDP "dom" packet decoded at N targets (raw udp4 sockets in --load-procs processes,
decoding and acking as a Nacos client does; the server in its own process). Prints latency, the
server's sent / resent / acked / failed / superseded counters, kernel drops and CPU, medians of --runs
runs, and writes bench/results/udp-push-latency.json.`,
    quick: 'one short run of each scenario',
  },
  {
    ...fanOutFlags('targets', 'target processes'),
    targetExpiryMs: int("the server's udpTargetExpiryMs (longer than a run: no re-pulls)", 600_000),
    ackTimeoutMs: int("the server's udpAckTimeoutMs", 1_000),
    maxRetries: int("the server's udpMaxRetries", 3, undefined, { zero: true }),
    profile: bool('CPU-profile the server (node --cpu-prof into bench/results/profiles/)'),
  },
);

const { quick: _quick, profile, ...chosen } = flags;
const settings = { ...chosen, collectTimeoutMs: 10_000, profileDir: await profileDir(profile) };

type UdpScenario = Scenario<'targets'>;

interface RunResult extends FanOutRun {
  readonly targets: number;
  readonly duplicates: number;
  readonly unreadable: number;
  /** Datagrams per target carrying a measured change (resends included): min, median, max. */
  readonly packetsPerTarget: { readonly min: number; readonly median: number; readonly max: number };
  /** Target-side handler time per measured packet (arrival to decoded tag), µs. */
  readonly decodeUs: LatencySummary;
  readonly packetBytes: number;
  readonly serviceInfoBytes: number;
  readonly udp: UdpDelta;
  readonly kernel: UdpCounters;
  /** Server CPU per datagram sent during the measured phase, µs (includes the driver's Register calls). */
  readonly serverCpuPerPacketUs: number;
}

async function runOnce(machine: MachineInfo, scenario: UdpScenario, run: number): Promise<RunResult> {
  const window = changeWindow(settings.warmupS, settings.measureS, scenario.ratePerSecond);
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
  const changes = await ChangeRun.start({ nodes: [server], writeTo: server, service: SERVICE, hosts: settings.hosts, ratePerSecond: scenario.ratePerSecond, window });
  try {
    const { handles, openMs } = await changes.openLoads<TargetLoadConfig, TargetLoadResult>({
      procs: Math.min(settings.loadProcs, scenario.targets),
      subscribers: scenario.targets,
      script: new URL('./udp-push-latency/target-main.ts', import.meta.url),
      name: (p) => `udp-targets-${p}`,
      at: server,
      extra: {},
      openBatch: 50,
    });
    const registered = await udpStats(server);
    if (registered.targets !== scenario.targets) throw new Error(`the server has ${registered.targets} UDP targets, expected ${scenario.targets}`);
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    await changes.warmUp();
    // Let the warm-up's last push go out (after the merge window) and be acknowledged, so the
    // measured counters start clean.
    await sleep(settings.mergeWindowMs + 100);
    await settledUdpStats(server, 2_000);
    const udpBefore = await udpStats(server);
    const kernelBefore = sampleUdpCounters();
    const dropsBefore = udpSocketDrops(server.udpPort);
    const measured = await changes.measure(machine.cores);
    const udpAtEnd = await udpStats(server);
    const results = await changes.collect(handles, settings.collectTimeoutMs);
    // Resends go out every ackTimeoutMs, at most maxRetries times: wait that long for the last acks.
    const udpAfter = await settledUdpStats(server, settings.ackTimeoutMs * (settings.maxRetries + 1) + 500);
    const kernelAfter = sampleUdpCounters();
    const dropsAfter = udpSocketDrops(server.udpPort);

    const common = fanOutRun({ changes, measured, results, ratePerSecond: scenario.ratePerSecond, run, maxClockOffsetMs, openMs });
    const sum = (pick: (r: TargetLoadResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
    const perTarget = results.flatMap((r) => [...r.measuredPackets]).sort((a, b) => a - b);
    const sentInPhase = udpAtEnd.sent - udpBefore.sent;
    return {
      targets: scenario.targets,
      ...common,
      duplicates: sum((r) => r.duplicates),
      unreadable: sum((r) => r.unreadable),
      packetsPerTarget: { min: perTarget[0] ?? 0, median: median(perTarget), max: perTarget.at(-1) ?? 0 },
      decodeUs: summarize(results.flatMap((r) => [...r.decodeUs])),
      packetBytes: Math.max(...results.map((r) => r.packetBytes)),
      serviceInfoBytes: Math.max(...results.map((r) => r.serviceInfoBytes)),
      udp: serverUdpDelta(udpBefore, udpAfter, dropsBefore, dropsAfter),
      kernel: udpCountersDelta(kernelBefore, kernelAfter),
      serverCpuPerPacketUs: sentInPhase > 0 ? common.server.cpuUs / sentInPhase : Number.NaN,
    };
  } finally {
    await changes.close();
  }
}

const label = (s: UdpScenario): string => scenarioLabel(s, 'targets');

function runLine(r: RunResult): string {
  return (
    `p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, ` +
    `received ${percent(r.received, r.expected).toFixed(1)} %, skipped ${r.skipped}, missing ${r.missing}, duplicates ${r.duplicates}, ` +
    `packets/target ${r.packetsPerTarget.min}..${r.packetsPerTarget.max}, ` +
    `sent ${r.udp.sent}, resent ${r.udp.resent}, acked ${r.udp.acked}, failed ${r.udp.failed}, pending ${r.udp.pendingAtEnd}, ` +
    `superseded unacked ${r.udp.superseded}, dropped at the server socket ${r.udp.serverSocketDrops} (kernel rcvbuf drops ${r.kernel.rcvbufErrors}), ` +
    `first receipt p50 ${r.perChange.firstMs.p50.toFixed(1)} ms, fan-out p50 ${r.perChange.fanOutMs.p50.toFixed(1)} / max ${r.perChange.fanOutMs.max.toFixed(1)} ms, ` +
    `p50 by target position ${positionText(r.byPosition)}, ` +
    `server CPU ${r.server.cpuPercent.toFixed(0)} % (${r.serverCpuPerPacketUs.toFixed(1)} µs/packet, kernel ${(r.server.systemShare * 100).toFixed(0)} %, loop stall max ${r.server.loopDelayMaxMs.toFixed(0)} ms, GC max ${r.server.gcMaxPauseMs.toFixed(0)} ms), ` +
    `load CPU ${loadCpu(r).toFixed(0)} % (decode p50 ${r.decodeUs.p50.toFixed(0)} µs/packet), ` +
    `driver ack p99 ${r.driverAckP99Ms.toFixed(1)} ms, other CPU ${r.otherCpuPercent.toFixed(0)} %`
  );
}

function summarise(s: UdpScenario, rs: readonly RunResult[]) {
  return {
    scenario: label(s),
    targets: s.targets,
    ratePerSecond: s.ratePerSecond,
    runs: rs.length,
    expectedPerRun: rs[0]?.expected ?? 0,
    ...fanOutMedians(rs),
    ...medians(rs, {
      duplicates: (r) => r.duplicates,
      packetsPerTargetMin: (r) => r.packetsPerTarget.min,
      packetsPerTargetMedian: (r) => r.packetsPerTarget.median,
      packetsPerTargetMax: (r) => r.packetsPerTarget.max,
      sent: (r) => r.udp.sent,
      resent: (r) => r.udp.resent,
      acked: (r) => r.udp.acked,
      failed: (r) => r.udp.failed,
      superseded: (r) => r.udp.superseded,
      serverSocketDrops: (r) => r.udp.serverSocketDrops,
      kernelRcvbufErrors: (r) => r.kernel.rcvbufErrors,
      serverCpuPerPacketUs: (r) => r.serverCpuPerPacketUs,
      decodeP50Us: (r) => r.decodeUs.p50,
      packetBytes: (r) => r.packetBytes,
      serviceInfoBytes: (r) => r.serviceInfoBytes,
    }),
  };
}

armWatchdog(20 * 60_000);
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
const runs = await repeatRuns({ scenarios: settings.scenarios, runs: settings.runs, label, once: (s, run) => runOnce(machine, s, run), line: runLine });

printRows('Every run (latency in ms; CPU in % of one core over the measured phase):', runs, [
  ['scenario', label],
  ...runLatencyColumns,
  ['sent', (r) => r.udp.sent],
  ['resent', (r) => r.udp.resent],
  ['acked', (r) => r.udp.acked],
  ['failed', (r) => r.udp.failed],
  ['server CPU %', (r) => r.server.cpuPercent],
  ['load CPU %', loadCpu],
  ['other CPU %', (r) => r.otherCpuPercent],
  ['clock offset ms', (r) => r.maxClockOffsetMs],
]);

const summary = settings.scenarios.map((s) => summarise(s, runs.filter((r) => r.targets === s.targets && r.ratePerSecond === s.ratePerSecond)));
printRows(`Medians of ${settings.runs} run(s) (latency in ms, issue to decoded at the target; CPU in % of one core):`, summary, medianColumns);
printRows('Packets (medians; server counters over the measured phase until every ack settled; per target = datagrams carrying a measured change):', summary, [
  ['scenario', (s) => s.scenario],
  ['sent', (s) => s.sent],
  ['resent', (s) => s.resent],
  ['acked', (s) => s.acked],
  ['failed', (s) => s.failed],
  ['superseded unacked', (s) => s.superseded],
  ['acks dropped at server socket', (s) => s.serverSocketDrops],
  ['duplicates at targets', (s) => s.duplicates],
  ['per target min', (s) => s.packetsPerTargetMin],
  ['per target median', (s) => s.packetsPerTargetMedian],
  ['per target max', (s) => s.packetsPerTargetMax],
  ['kernel rcvbuf drops', (s) => s.kernelRcvbufErrors],
  ['packet bytes', (s) => s.packetBytes],
  ['ServiceInfo bytes', (s) => s.serviceInfoBytes],
]);
printRows('Where the time goes (medians; per change: first receipt = issue to the first target, fan-out = first to last target):', summary, [
  ...spreadColumns,
  ['server µs/packet', (s) => s.serverCpuPerPacketUs],
  ...serverColumns,
  ['target decode p50 µs', (s) => s.decodeP50Us],
  ['other CPU %', (s) => s.otherCpuPercent],
]);
printRows("p50 latency (ms) by place in the fan-out: each load process's targets in tenths of their subscription order (medians of runs):", summary, tenthColumns((s) => s.p50ByPositionMs));

const anomalies = runs.filter((r) => r.regressions > 0 || r.unreadable > 0 || r.driverErrors > 0);
if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had regressions, unreadable packets or driver errors (see JSON)`);
console.log(`wrote ${await writeResults('udp-push-latency', { machine, settings, summary, runs })}`);
if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
