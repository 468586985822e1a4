/**
 * xDS push under fan-out (issue #17): N ADS streams following one service against N Subscribe
 * streams following it, on the real `herald serve` (dist/, its defaults), under the same changes.
 * Both kinds decode every update, as real clients do: the ADS streams (generated grpc-js client,
 * xds-fan-out/ads-load-main.ts) ask EDS for the service's cluster, decode each
 * ClusterLoadAssignment in full and ACK it; the Subscribe streams are RegistryTransport.subscribe
 * (ServiceInfo decoded by ts-proto; lib/push/subscriber-main.ts, kind `transport`). Each stream
 * has its own connection; the streams are spread over --load-procs processes. A driver re-registers
 * one instance at a fixed rate (lib/push/changes.ts), its change number in its metadata and in its
 * weight (an assignment carries no metadata: xds-fan-out/weight-tag.ts); latency = the stream
 * holding the decoded update − the Register being sent, per stream and change. Each kind runs on a
 * fresh server, the kinds interleaved run by run so both see the same machine state; server CPU is
 * reported per change, where encoding once per change rather than once per stream shows.
 *
 *   npx tsx bench/xds-fan-out.ts --help
 *   npx tsx bench/xds-fan-out.ts --quick
 *   npx tsx bench/xds-fan-out.ts --scenarios 100@10,1000@10 --runs 3
 *   npx tsx bench/xds-fan-out.ts --scenarios 1000@10 --kinds xds --runs 1 --profile   # herald serve's CPU profile
 */
import { bool, parseFlags, scenarios, text, type Scenario } from './lib/flags.js';
import { HeraldServeProcess } from './lib/herald-serve-process.js';
import type { MachineInfo } from './lib/machine.js';
import { changeWindow, TAGGED_INDEX } from './lib/push/changes.js';
import { ChangeRun, SUBSCRIBER_MAIN } from './lib/push/change-run.js';
import { fanOutFlags, fanOutMedians, fanOutRun, loadCpu, runLatencyColumns, scenarioLabel, type FanOutRun } from './lib/push/fan-out.js';
import type { SubscriberLoadConfig, SubscriberLoadResult } from './lib/push/load-protocol.js';
import { printHeader, printRows, profileDir, writeResults } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { percent } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';
import { instanceIp } from './lib/workload.js';
import { separateTransport } from './lib/bench-client.js';
import type { AdsLoadConfig } from './xds-fan-out/ads-load-main.js';
import { latencyFromIssue, weightTagWriter } from './xds-fan-out/weight-tag.js';

const SERVICE = 'xds-fan-out';
const ADS_LOAD_MAIN = new URL('./xds-fan-out/ads-load-main.ts', import.meta.url);
const KINDS = ['xds', 'subscribe'] as const;
type Kind = (typeof KINDS)[number];

const { mergeWindowMs: _serverDefault, ...sharedFlags } = fanOutFlags('streams', 'load processes (the streams of a run are split over them)');
const { flags } = parseFlags(
  {
    script: 'bench/xds-fan-out.ts',
    about: `Change → update decoded at N ADS streams (EDS, ACKed) and at N Subscribe streams of one service,
each kind on a fresh real herald serve (its defaults), the kinds interleaved run by run. Prints
p50/p99 per run, medians over --runs runs, server CPU per change, and writes bench/results/xds-fan-out.json.`,
    quick: 'one short run of each scenario and kind',
  },
  {
    ...sharedFlags,
    scenarios: scenarios('STREAMS@CHANGES-PER-SECOND, comma-separated (each run with both kinds)', '100@10,1000@10', 'streams'),
    kinds: text('<list>', 'stream kinds compared: xds, subscribe (comma-separated)', KINDS.join(','), (v, name) =>
      v.split(',').map((k): Kind => {
        const kind = KINDS.find((x) => x === k.trim());
        if (kind === undefined) throw new Error(`--${name}: "${k}" is not one of ${KINDS.join(', ')}`);
        return kind;
      }),
    ),
    serverArgs: text('<flags>', "extra `herald serve` flags, e.g. '--merge-window-ms 50' (default: none, herald serve's defaults)", '', (v) =>
      v.split(/\s+/).filter((a) => a !== ''),
    ),
    profile: bool('CPU-profile herald serve (node --cpu-prof into bench/results/profiles/; read with bench/profile-summary.ts)'),
  },
);

const { quick: _quick, profile, ...chosen } = flags;
const settings = { ...chosen, profileDir: await profileDir(profile) };

type FanOutScenario = Scenario<'streams'> & { readonly kind: Kind };

interface RunResult extends FanOutRun {
  readonly kind: Kind;
  readonly streams: number;
  readonly streamErrors: number;
  /** Server CPU per measured change, µs, and per update delivered to a stream (per change ÷ N). */
  readonly serverCpuPerChangeUs: number;
  readonly serverCpuPerStreamUpdateUs: number;
}

const kindName = (k: Kind): string => (k === 'xds' ? 'xDS' : 'Subscribe');
const label = (s: FanOutScenario): string => `${kindName(s.kind)} ${scenarioLabel(s, 'streams')}`;

async function openStreams(changes: ChangeRun, herald: HeraldServeProcess, s: FanOutScenario) {
  const common = { procs: Math.min(settings.loadProcs, s.streams), subscribers: s.streams, at: herald, openBatch: 50 };
  if (s.kind === 'xds') {
    return changes.openLoads<AdsLoadConfig, SubscriberLoadResult>({
      ...common,
      script: ADS_LOAD_MAIN,
      name: (p) => `ads-streams-${p}`,
      extra: { taggedIp: instanceIp(TAGGED_INDEX) },
    });
  }
  return changes.openLoads<SubscriberLoadConfig, SubscriberLoadResult>({ ...common, script: SUBSCRIBER_MAIN, name: (p) => `subscribe-streams-${p}`, extra: { kind: 'transport' } });
}

async function runOnce(machine: MachineInfo, s: FanOutScenario, run: number): Promise<RunResult> {
  const window = changeWindow(settings.warmupS, settings.measureS, s.ratePerSecond);
  const profiled = settings.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`];
  const herald = await HeraldServeProcess.start({ args: settings.serverArgs, nodeArgs: profiled });
  const changes = await ChangeRun.start({
    nodes: [herald],
    writeTo: herald,
    writer: weightTagWriter(separateTransport(herald.address)),
    service: SERVICE,
    hosts: settings.hosts,
    ratePerSecond: s.ratePerSecond,
    window,
  });
  try {
    const { handles, openMs } = await openStreams(changes, herald, s);
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    await changes.warmUp();
    const measured = await changes.measure(machine.cores);
    const collected = await changes.collect(handles, 5_000);
    // ADS streams tallied arrival times (an assignment carries no issue time): subtract the driver's.
    const results = s.kind === 'xds' ? collected.map((r) => latencyFromIssue(r, (seq) => changes.issuedAtMs(seq))) : collected;
    const firstStreamError = results.find((r) => r.firstError !== undefined)?.firstError;
    if (firstStreamError !== undefined) console.error(`${label(s)}: stream error: ${firstStreamError}`);
    const common = fanOutRun({ changes, measured, results, ratePerSecond: s.ratePerSecond, run, maxClockOffsetMs, openMs });
    const perChange = common.server.cpuUs / window.measuredChanges;
    return {
      kind: s.kind,
      streams: s.streams,
      ...common,
      streamErrors: results.reduce((n, r) => n + r.streamErrors, 0),
      serverCpuPerChangeUs: perChange,
      serverCpuPerStreamUpdateUs: perChange / s.streams,
    };
  } finally {
    await changes.close();
  }
}

function runLine(r: RunResult): string {
  return (
    `p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, ` +
    `received ${percent(r.received, r.expected).toFixed(1)} %, skipped ${r.skipped}, missing ${r.missing}, stream errors ${r.streamErrors}, ` +
    `first receipt p50 ${r.perChange.firstMs.p50.toFixed(1)} ms, fan-out p50 ${r.perChange.fanOutMs.p50.toFixed(1)} / max ${r.perChange.fanOutMs.max.toFixed(1)} ms, ` +
    `server CPU ${r.server.cpuPercent.toFixed(0)} % (${(r.serverCpuPerChangeUs / 1000).toFixed(2)} ms/change, ${r.serverCpuPerStreamUpdateUs.toFixed(1)} µs/stream update, ` +
    `ELU ${r.server.eventLoopUtilization.toFixed(2)}, waits for a core ${(r.server.runDelayShare * 100).toFixed(0)} %, loop stall max ${r.server.loopDelayMaxMs.toFixed(0)} ms), ` +
    `load CPU ${loadCpu(r).toFixed(0)} %, driver ack p99 ${r.driverAckP99Ms.toFixed(1)} ms, other CPU ${r.otherCpuPercent.toFixed(0)} %, clock offset ${r.maxClockOffsetMs.toFixed(3)} ms`
  );
}

const scenarioList: FanOutScenario[] = settings.scenarios.flatMap((s) => settings.kinds.map((kind) => ({ ...s, kind })));
// Per run: a fresh server, N streams opened, warm-up and measured changes; up to 3 attempts, each after up to a minute's wait for quiet.
armWatchdog((scenarioList.length * settings.runs * 3 * (80 + settings.warmupS + settings.measureS) + 120) * 1000);
const machine = printHeader('herald xDS push under fan-out: N ADS streams against N Subscribe streams (change issued → update decoded)', {
  scenarios: settings.scenarios.map((s) => scenarioLabel(s, 'streams')),
  kinds: settings.kinds.map(kindName),
  runs: settings.runs,
  warmupS: settings.warmupS,
  measureS: settings.measureS,
  loadProcs: settings.loadProcs,
  hostsInService: settings.hosts,
  server: `herald serve ${['--data-dir', 'none', ...settings.serverArgs].join(' ')} (merge window and every other setting: herald serve's defaults unless given here)`,
  xdsStreams: 'generated grpc-js ADS client, EDS for the service, each assignment decoded in full and ACKed',
  subscribeStreams: 'RegistryTransport.subscribe (ServiceInfo decoded)',
  connections: 'one per stream',
  order: 'kinds and scenarios interleaved run by run, each run on a fresh server',
});
const runs = await repeatRuns({ scenarios: scenarioList, runs: settings.runs, label, once: (s, run) => runOnce(machine, s, run), line: runLine, interleave: true });

printRows('Every run (latency in ms from the Register being sent; CPU in % of one core over the measured phase):', runs, [
  ['kind', (r) => kindName(r.kind)],
  ['streams', (r) => r.streams],
  ['changes/s', (r) => r.ratePerSecond],
  ...runLatencyColumns,
  ['server CPU %', (r) => r.server.cpuPercent],
  ['server ms/change', (r) => r.serverCpuPerChangeUs / 1000],
  ['load CPU %', loadCpu],
  ['other CPU %', (r) => r.otherCpuPercent],
]);

const summary = scenarioList.map((s) => {
  const rs = runs.filter((r) => r.kind === s.kind && r.streams === s.streams && r.ratePerSecond === s.ratePerSecond);
  return {
    scenario: label(s),
    kind: s.kind,
    streams: s.streams,
    ratePerSecond: s.ratePerSecond,
    runs: rs.length,
    ...fanOutMedians(rs),
    ...medians(rs, { serverCpuPerChangeUs: (r) => r.serverCpuPerChangeUs, serverCpuPerStreamUpdateUs: (r) => r.serverCpuPerStreamUpdateUs, streamErrors: (r) => r.streamErrors }),
  };
});
printRows(`Medians of ${settings.runs} run(s) (latency in ms; CPU in % of one core):`, summary, [
  ['scenario', (s) => s.scenario],
  ['p50', (s) => s.p50Ms],
  ['p99', (s) => s.p99Ms],
  ['max', (s) => s.maxMs],
  ['received %', (s) => s.receivedPercent],
  ['first receipt p50', (s) => s.firstReceiptP50Ms],
  ['fan-out p50', (s) => s.fanOutP50Ms],
  ['server CPU %', (s) => s.serverCpuPercent],
  ['server ms/change', (s) => s.serverCpuPerChangeUs / 1000],
  ['server µs/stream update', (s) => s.serverCpuPerStreamUpdateUs],
  ['server ELU', (s) => s.serverEventLoopUtilization],
  ['load CPU %', (s) => s.loadCpuPercent],
  ['other CPU %', (s) => s.otherCpuPercent],
]);

const anomalies = runs.filter((r) => r.regressions > 0 || r.streamErrors > 0 || r.driverErrors > 0 || r.missing > 0);
if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had missing changes, regressions, stream errors or driver errors (see JSON)`);
console.log(`wrote ${await writeResults('xds-fan-out', { machine, settings, summary, runs })}`);
if (settings.profileDir !== undefined) console.log(`herald serve CPU profiles in ${settings.profileDir}`);
