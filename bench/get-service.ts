/**
 * GetService latency for a service of 1,000 instances (three metadata entries each), measured on
 * the client from call to decoded response, sequentially and with 16 calls in flight (one
 * connection per in-flight call). The server runs in its own process. Modes:
 *
 *   - application client: RegistryTransport (grpc-js + ts-proto decode of the ~200 KB answer),
 *     what an application sees;
 *   - light client: node:http2 with the answer left as bytes, i.e. server + transport only;
 *   - after a change: before every call one instance is re-registered, so the server rebuilds the
 *     snapshot (sort, checksum, encode) for every GetService instead of answering from its cache;
 *     only the GetService is timed.
 *
 *   npx tsx bench/get-service.ts --help
 *   npx tsx bench/get-service.ts --runs 1 --profile   # server CPU profile in bench/results/profiles
 */
import { GetServiceRequest } from '../src/gen/herald/v1/registry_service.js';
import { ClientPool, openBenchClient, type BenchClient, type ClientKind } from './lib/bench-client.js';
import { runClosedLoop, type ClosedLoopResult } from './lib/closed-loop.js';
import { bool, int, parseFlags } from './lib/flags.js';
import { measurePhase, undisturbed } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import type { UsageDelta } from './lib/process-usage.js';
import { printChecks, printHeader, printRows, profileDir, writeResults, type TargetCheck } from './lib/report.js';
import { medians } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from './lib/server-process.js';
import { summarize, type LatencySummary } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';
import { BENCH_METADATA, registration } from './lib/workload.js';

const SERVICE = 'bench-get';

const { flags } = parseFlags(
  {
    script: 'bench/get-service.ts',
    about: `GetService of one large service, client-side latency from call to decoded answer, in five
modes (sequential and --in-flight calls in flight; application and light client; sequential after a
change, which makes the server rebuild the answer). The server runs in its own process. Prints
every mode per run and the medians with the targets, and writes bench/results/get-service.json.`,
    quick: 'one short run',
  },
  {
    runs: int('runs (every mode in each, on a fresh server)', 3, 1),
    instances: int('instances in the service', 1000),
    calls: int('timed calls per sequential mode (twice as many with calls in flight)', 1500, 300),
    inFlight: int('calls in flight in the concurrent modes (one connection each)', 16),
    profile: bool('CPU-profile the server (node --cpu-prof into bench/results/profiles/)'),
  },
);

const settings = {
  runs: flags.runs,
  instances: flags.instances,
  calls: flags.calls,
  concurrentCalls: flags.calls * 2,
  inFlight: flags.inFlight,
  warmupCalls: flags.quick ? 100 : 300,
  profileDir: await profileDir(flags.profile),
};

interface Mode {
  readonly name: string;
  readonly client: ClientKind;
  readonly inFlight: number;
  /** Re-register one instance before every call (sequential only). */
  readonly afterChange: boolean;
}

const modes: readonly Mode[] = [
  { name: 'sequential, application client', client: 'transport', inFlight: 1, afterChange: false },
  { name: 'sequential, light client', client: 'light', inFlight: 1, afterChange: false },
  { name: `${settings.inFlight} in flight, application client`, client: 'transport', inFlight: settings.inFlight, afterChange: false },
  { name: `${settings.inFlight} in flight, light client`, client: 'light', inFlight: settings.inFlight, afterChange: false },
  { name: 'sequential, after a change, application client', client: 'transport', inFlight: 1, afterChange: true },
];

interface ModeResult {
  readonly mode: string;
  readonly run: number;
  readonly calls: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly latencyMs: LatencySummary;
  /** Server CPU per GetService (plus the re-registration in "after a change"), µs. */
  readonly serverCpuPerCallUs: number;
  readonly server: UsageDelta;
  readonly load: UsageDelta;
  readonly otherCpuPercent: number;
}

const request = GetServiceRequest.fromPartial({ service: SERVICE });

/** `total` calls, each after re-registering one instance; only the GetService is timed. */
async function callsAfterChanges(writer: BenchClient, call: (i: number) => Promise<void>, total: number): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await writer.register(registration(SERVICE, i % settings.instances, { ...BENCH_METADATA, change: String(i + 1) }));
    const t0 = performance.now();
    await call(i);
    latencies.push(performance.now() - t0);
  }
  return { completed: total, errors: 0, firstError: undefined, elapsedMs: performance.now() - started, latenciesMs: Float64Array.from(latencies) };
}

async function runMode(machine: MachineInfo, server: ServerProcess, writer: BenchClient, mode: Mode, run: number): Promise<ModeResult> {
  const pool = new ClientPool(mode.client, server.address, mode.inFlight);
  const call = async (i: number): Promise<void> => {
    if ((await pool.on(i).getService(request)) === 0) throw new Error('empty answer');
  };
  const total = mode.inFlight > 1 ? settings.concurrentCalls : settings.calls;
  try {
    await runClosedLoop({ inFlight: mode.inFlight, total: settings.warmupCalls, op: call });
    const {
      result,
      usage: [serverUsage],
      self,
      otherCpuPercent,
    } = await measurePhase([server], machine.cores, () => (mode.afterChange ? callsAfterChanges(writer, call, total) : runClosedLoop({ inFlight: mode.inFlight, total, op: call })));
    return {
      mode: mode.name,
      run,
      calls: result.completed,
      errors: result.errors,
      perSecond: (result.completed / result.elapsedMs) * 1000,
      latencyMs: summarize(result.latenciesMs),
      serverCpuPerCallUs: result.completed > 0 ? serverUsage.cpuUs / result.completed : Number.NaN,
      server: serverUsage,
      load: self,
      otherCpuPercent,
    };
  } finally {
    pool.close();
  }
}

/** One run: a fresh server holding the service, then every mode (each on a quiet machine). */
async function runOnce(machine: MachineInfo, run: number): Promise<ModeResult[]> {
  const server = await ServerProcess.start({
    config: quietServerConfig(),
    ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const writer = openBenchClient('light', server.address);
  try {
    await runClosedLoop({ inFlight: 32, total: settings.instances, op: (i) => writer.register(registration(SERVICE, i)) });
    const results: ModeResult[] = [];
    for (const mode of modes) results.push(await undisturbed(`run ${run}, ${mode.name}`, () => runMode(machine, server, writer, mode, run)));
    return results;
  } finally {
    writer.close();
    await server.stop();
  }
}

armWatchdog(10 * 60_000);
const machine = printHeader(`herald GetService of a ${settings.instances}-instance service`, {
  runs: settings.runs,
  instances: settings.instances,
  metadataEntries: 3,
  sequentialCalls: settings.calls,
  concurrentCalls: settings.concurrentCalls,
  inFlight: settings.inFlight,
  connections: 'one per in-flight call',
  warmupCalls: settings.warmupCalls,
  evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
});
const all: ModeResult[] = [];
for (let run = 1; run <= settings.runs; run++) {
  const rs = await runOnce(machine, run);
  all.push(...rs);
  for (const r of rs) {
    console.log(
      `run ${run}, ${r.mode}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.perSecond.toFixed(0)} calls/s, ` +
        `server ${r.serverCpuPerCallUs.toFixed(0)} µs/call (CPU ${r.server.cpuPercent.toFixed(0)} %), load CPU ${r.load.cpuPercent.toFixed(0)} %, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
    );
  }
}
console.log('');

printRows('Every run (latency in ms; CPU in % of one core):', all, [
  ['mode', (r) => r.mode],
  ['run', (r) => r.run],
  ['p50', (r) => r.latencyMs.p50],
  ['p90', (r) => r.latencyMs.p90],
  ['p99', (r) => r.latencyMs.p99],
  ['max', (r) => r.latencyMs.max],
  ['calls/s', (r) => r.perSecond],
  ['server µs/call', (r) => r.serverCpuPerCallUs],
  ['server CPU %', (r) => r.server.cpuPercent],
  ['load CPU %', (r) => r.load.cpuPercent],
  ['other CPU %', (r) => r.otherCpuPercent],
  ['errors', (r) => r.errors],
]);
const summary = modes.map((m) => {
  const rs = all.filter((r) => r.mode === m.name);
  return {
    mode: m.name,
    client: m.client,
    inFlight: m.inFlight,
    afterChange: m.afterChange,
    runs: rs.length,
    ...medians(rs, {
      p50Ms: (r) => r.latencyMs.p50,
      p90Ms: (r) => r.latencyMs.p90,
      p99Ms: (r) => r.latencyMs.p99,
      maxMs: (r) => r.latencyMs.max,
      perSecond: (r) => r.perSecond,
      serverCpuPerCallUs: (r) => r.serverCpuPerCallUs,
      serverCpuPercent: (r) => r.server.cpuPercent,
      loadCpuPercent: (r) => r.load.cpuPercent,
    }),
  };
});
printRows(`Medians of ${settings.runs} run(s) (latency in ms, client-side, call to decoded answer; CPU in % of one core):`, summary, [
  ['mode', (s) => s.mode],
  ['p50', (s) => s.p50Ms],
  ['p90', (s) => s.p90Ms],
  ['p99', (s) => s.p99Ms],
  ['max', (s) => s.maxMs],
  ['calls/s', (s) => s.perSecond],
  ['server µs/call', (s) => s.serverCpuPerCallUs],
  ['server CPU %', (s) => s.serverCpuPercent],
  ['load CPU %', (s) => s.loadCpuPercent],
]);
const checks: TargetCheck[] = summary
  .filter((s) => s.client === 'transport' && !s.afterChange)
  .map((s) => ({ metric: `p99, ${s.mode}`, value: s.p99Ms, unit: 'ms', bound: 5, kind: 'max' as const }));
printChecks(checks);
console.log(`wrote ${await writeResults('get-service', { machine, settings, summary, checks, runs: all })}`);
if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
