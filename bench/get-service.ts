/**
 * GetService latency for a service of 1,000 instances (three metadata entries each), measured on
 * the client from call to decoded response, sequentially and with 16 calls in flight (one
 * connection per in-flight call). The server runs in its own process.
 *
 * Modes:
 *   - application client: RegistryTransport (grpc-js + ts-proto decode of the ~200 KB answer),
 *     what an application sees;
 *   - light client: node:http2 with the answer left as bytes, i.e. server + transport only;
 *   - after a change: before every call one instance is re-registered, so the server rebuilds the
 *     snapshot (sort, checksum, encode) for every GetService instead of answering from its cache;
 *     only the GetService is timed.
 *
 *   npm run build                    # once: generates src/gen
 *   npx tsx bench/get-service.ts     # 3 runs, ~2.5 min
 *   npx tsx bench/get-service.ts --quick
 *   npx tsx bench/get-service.ts --runs 1 --profile   # server CPU profile in bench/results/profiles
 *
 * Writes bench/results/get-service.json.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetServiceRequest } from '../src/gen/herald/v1/registry_service.js';
import { openBenchClient, type BenchClient, type ClientKind } from './lib/bench-client.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { intFlag } from './lib/flags.js';
import type { MachineInfo } from './lib/machine.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import { sampleUsage, usageDelta, type UsageDelta } from './lib/process-usage.js';
import { printChecks, printHeader, printTable, writeResults, type TargetCheck } from './lib/report.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { ServerProcess } from './lib/server-process.js';
import { medianOf, summarize, type LatencySummary } from './lib/stats.js';
import { undisturbed } from './lib/undisturbed.js';
import { armWatchdog } from './lib/watchdog.js';
import { BENCH_METADATA, registration } from './lib/workload.js';

const SERVICE = 'bench-get';

interface Settings {
  readonly runs: number;
  readonly instances: number;
  readonly calls: number;
  readonly concurrentCalls: number;
  readonly inFlight: number;
  readonly warmupCalls: number;
  readonly profileDir: string | undefined;
}

interface Mode {
  readonly name: string;
  readonly client: ClientKind;
  readonly inFlight: number;
  /** Re-register one instance before every call (sequential only). */
  readonly afterChange: boolean;
}

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

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      instances: { type: 'string' },
      calls: { type: 'string' },
      'in-flight': { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  const calls = intFlag('calls', values.calls, quick ? 300 : 1500);
  return {
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    instances: intFlag('instances', values.instances, 1000),
    calls,
    concurrentCalls: calls * 2,
    inFlight: intFlag('in-flight', values['in-flight'], 16),
    warmupCalls: quick ? 100 : 300,
    profileDir: values.profile ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined,
  };
}

function modes(settings: Settings): Mode[] {
  return [
    { name: 'sequential, application client', client: 'transport', inFlight: 1, afterChange: false },
    { name: 'sequential, light client', client: 'light', inFlight: 1, afterChange: false },
    { name: `${settings.inFlight} in flight, application client`, client: 'transport', inFlight: settings.inFlight, afterChange: false },
    { name: `${settings.inFlight} in flight, light client`, client: 'light', inFlight: settings.inFlight, afterChange: false },
    { name: 'sequential, after a change, application client', client: 'transport', inFlight: 1, afterChange: true },
  ];
}

const request = GetServiceRequest.fromPartial({ service: SERVICE });

async function runMode(settings: Settings, machine: MachineInfo, server: ServerProcess, writer: BenchClient, mode: Mode, run: number): Promise<ModeResult> {
  const clients = Array.from({ length: mode.inFlight }, () => openBenchClient(mode.client, server.address));
  let changes = 0;
  const change = (): Promise<void> =>
    writer.register(registration(SERVICE, changes++ % settings.instances, { ...BENCH_METADATA, change: String(changes) }));
  const call = async (i: number): Promise<void> => {
    const client = clients[i % clients.length];
    if (client === undefined) throw new Error('no connection');
    const got = await client.getService(request);
    if (got === 0) throw new Error('empty answer');
  };
  const total = mode.inFlight > 1 ? settings.concurrentCalls : settings.calls;
  try {
    await runClosedLoop({ inFlight: mode.inFlight, total: settings.warmupCalls, op: call });
    const serverBefore = await server.usage();
    const machineBefore = sampleMachineCpu();
    const loadBefore = sampleUsage();
    let result;
    if (mode.afterChange) {
      // Time only the GetService; the change before it is not part of the latency.
      const latencies: number[] = [];
      const started = performance.now();
      for (let i = 0; i < total; i++) {
        await change();
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
      result = { completed: total, errors: 0, elapsedMs: performance.now() - started, latenciesMs: Float64Array.from(latencies) };
    } else {
      result = await runClosedLoop({ inFlight: mode.inFlight, total, op: call });
    }
    const loadAfter = sampleUsage();
    const machineAfter = sampleMachineCpu();
    const serverAfter = await server.usage();
    const serverDelta = usageDelta(serverBefore, serverAfter);
    const loadDelta = usageDelta(loadBefore, loadAfter);
    return {
      mode: mode.name,
      run,
      calls: result.completed,
      errors: result.errors,
      perSecond: (result.completed / result.elapsedMs) * 1000,
      latencyMs: summarize(result.latenciesMs),
      serverCpuPerCallUs: result.completed > 0 ? serverDelta.cpuUs / result.completed : Number.NaN,
      server: serverDelta,
      load: loadDelta,
      otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, machine.cores) - serverDelta.cpuPercent - loadDelta.cpuPercent),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

async function runOnce(settings: Settings, machine: MachineInfo, run: number): Promise<ModeResult[]> {
  const server = await ServerProcess.start({
    config: quietServerConfig(),
    ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const writer = openBenchClient('light', server.address);
  try {
    await runClosedLoop({ inFlight: 32, total: settings.instances, op: (i) => writer.register(registration(SERVICE, i)) });
    const results: ModeResult[] = [];
    for (const mode of modes(settings)) {
      results.push(await undisturbed(`run ${run}, ${mode.name}`, () => runMode(settings, machine, server, writer, mode, run)));
    }
    return results;
  } finally {
    writer.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(10 * 60_000);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });
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
    const rs = await runOnce(settings, machine, run);
    all.push(...rs);
    for (const r of rs) {
      console.log(
        `run ${run}, ${r.mode}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.perSecond.toFixed(0)} calls/s, ` +
          `server ${r.serverCpuPerCallUs.toFixed(0)} µs/call (CPU ${r.server.cpuPercent.toFixed(0)} %), load CPU ${r.load.cpuPercent.toFixed(0)} %, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
      );
    }
  }
  console.log('');
  printTable(
    'Every run (latency in ms; CPU in % of one core):',
    ['mode', 'run', 'p50', 'p90', 'p99', 'max', 'calls/s', 'server µs/call', 'server CPU %', 'load CPU %', 'other CPU %', 'errors'],
    all.map((r) => [
      r.mode,
      r.run,
      r.latencyMs.p50,
      r.latencyMs.p90,
      r.latencyMs.p99,
      r.latencyMs.max,
      r.perSecond,
      r.serverCpuPerCallUs,
      r.server.cpuPercent,
      r.load.cpuPercent,
      r.otherCpuPercent,
      r.errors,
    ]),
  );
  const summary = modes(settings).map((m) => {
    const rs = all.filter((r) => r.mode === m.name);
    return {
      mode: m.name,
      client: m.client,
      inFlight: m.inFlight,
      afterChange: m.afterChange,
      runs: rs.length,
      p50Ms: medianOf(rs, (r) => r.latencyMs.p50),
      p90Ms: medianOf(rs, (r) => r.latencyMs.p90),
      p99Ms: medianOf(rs, (r) => r.latencyMs.p99),
      maxMs: medianOf(rs, (r) => r.latencyMs.max),
      perSecond: medianOf(rs, (r) => r.perSecond),
      serverCpuPerCallUs: medianOf(rs, (r) => r.serverCpuPerCallUs),
      serverCpuPercent: medianOf(rs, (r) => r.server.cpuPercent),
      loadCpuPercent: medianOf(rs, (r) => r.load.cpuPercent),
    };
  });
  printTable(
    `Medians of ${settings.runs} run(s) (latency in ms, client-side, call to decoded answer; CPU in % of one core):`,
    ['mode', 'p50', 'p90', 'p99', 'max', 'calls/s', 'server µs/call', 'server CPU %', 'load CPU %'],
    summary.map((s) => [s.mode, s.p50Ms, s.p90Ms, s.p99Ms, s.maxMs, s.perSecond, s.serverCpuPerCallUs, s.serverCpuPercent, s.loadCpuPercent]),
  );
  const checks: TargetCheck[] = summary
    .filter((s) => s.client === 'transport' && !s.afterChange)
    .map((s) => ({ metric: `p99, ${s.mode}`, value: s.p99Ms, unit: 'ms', bound: 5, kind: 'max' as const }));
  printChecks(checks);
  const file = await writeResults('get-service', { machine, settings, summary, checks, runs: all });
  console.log(`wrote ${file}`);
  if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
}

await main();
