/**
 * Registration throughput and renewal cost. With a fixed number of calls in flight (closed loop,
 * spread over several connections), this process registers new instances across many services
 * for a while, then renews them round-robin. The server runs in its own process and reports its
 * CPU time (process.cpuUsage) before and after each phase: CPU per call = delta / calls.
 * Self-preservation is off and eviction runs once an hour, so nothing else runs on the server.
 *
 *   npm run build                       # once: generates src/gen
 *   npx tsx bench/registrations.ts      # 3 runs, ~1 min
 *   npx tsx bench/registrations.ts --quick
 *   npx tsx bench/registrations.ts --client transport   # load from RegistryTransport (grpc-js) instead
 *   npx tsx bench/registrations.ts --runs 1 --profile   # server CPU profile in bench/results/profiles
 *
 * Writes bench/results/registrations.json (registrations-transport.json with --client transport).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runClosedLoop, type ClosedLoopResult } from './lib/closed-loop.js';
import { openBenchClient, parseClientKind, type BenchClient, type ClientKind } from './lib/bench-client.js';
import { intFlag, numberFlag } from './lib/flags.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import { sampleUsage, usageDelta, type UsageDelta } from './lib/process-usage.js';
import { printChecks, printHeader, printTable, writeResults, type TargetCheck } from './lib/report.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { ServerProcess } from './lib/server-process.js';
import { medianOf, summarize, type LatencySummary } from './lib/stats.js';
import { undisturbed } from './lib/undisturbed.js';
import { armWatchdog } from './lib/watchdog.js';
import { registration, renewal, spread } from './lib/workload.js';

interface Settings {
  readonly runs: number;
  readonly inFlight: number;
  readonly connections: number;
  readonly services: number;
  readonly warmupS: number;
  readonly registerS: number;
  readonly renewS: number;
  readonly profileDir: string | undefined;
  readonly client: ClientKind;
}

interface PhaseResult {
  readonly calls: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly latencyMs: LatencySummary;
  readonly server: UsageDelta;
  /** Server CPU time per call, µs. */
  readonly serverCpuPerCallUs: number;
  /** This (load) process over the same phase. */
  readonly load: UsageDelta;
  /** CPU used by other processes on the machine over the phase, % of one core. */
  readonly otherCpuPercent: number;
}

interface RunResult {
  readonly run: number;
  readonly register: PhaseResult;
  readonly renew: PhaseResult;
  readonly instances: number;
  readonly otherCpuPercent: number;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      'in-flight': { type: 'string' },
      connections: { type: 'string' },
      services: { type: 'string' },
      'warmup-s': { type: 'string' },
      'register-s': { type: 'string' },
      'renew-s': { type: 'string' },
      profile: { type: 'boolean', default: false },
      client: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick;
  return {
    client: parseClientKind(values.client, 'light'),
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    inFlight: intFlag('in-flight', values['in-flight'], 64),
    connections: intFlag('connections', values.connections, 4),
    services: intFlag('services', values.services, 100),
    warmupS: numberFlag('warmup-s', values['warmup-s'], quick ? 1 : 2),
    registerS: numberFlag('register-s', values['register-s'], quick ? 2 : 5),
    renewS: numberFlag('renew-s', values['renew-s'], quick ? 2 : 5),
    profileDir: values.profile ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined,
  };
}

/** Runs one closed-loop phase and measures the server's and this process's CPU over it. */
async function measurePhase(server: ServerProcess, cores: number, loop: () => Promise<ClosedLoopResult>): Promise<PhaseResult> {
  const serverBefore = await server.usage();
  const machineBefore = sampleMachineCpu();
  const loadBefore = sampleUsage();
  const r = await loop();
  const loadAfter = sampleUsage();
  const machineAfter = sampleMachineCpu();
  const serverAfter = await server.usage();
  const serverDelta = usageDelta(serverBefore, serverAfter);
  const loadDelta = usageDelta(loadBefore, loadAfter);
  if (r.firstError !== undefined) console.error(`${r.errors} call(s) failed, first: ${r.firstError}`);
  return {
    calls: r.completed,
    errors: r.errors,
    perSecond: (r.completed / r.elapsedMs) * 1000,
    latencyMs: summarize(r.latenciesMs),
    server: serverDelta,
    serverCpuPerCallUs: r.completed > 0 ? serverDelta.cpuUs / r.completed : Number.NaN,
    load: loadDelta,
    otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, cores) - serverDelta.cpuPercent - loadDelta.cpuPercent),
  };
}

async function runOnce(settings: Settings, machine: MachineInfo, run: number): Promise<RunResult> {
  const server = await ServerProcess.start({
    config: quietServerConfig(),
    ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const clients = Array.from({ length: settings.connections }, () => openBenchClient(settings.client, server.address));
  const on = (i: number): BenchClient => {
    const t = clients[i % clients.length];
    if (t === undefined) throw new Error('no connection');
    return t;
  };
  let registered = 0;
  const register = (durationMs: number): Promise<ClosedLoopResult> => {
    const base = registered;
    return runClosedLoop({
      inFlight: settings.inFlight,
      durationMs,
      op: async (i) => {
        const { service, index } = spread(base + i, settings.services);
        await on(i).register(registration(service, index));
        registered = Math.max(registered, base + i + 1);
      },
    });
  };
  const renew = (durationMs: number): Promise<ClosedLoopResult> => {
    const population = registered;
    return runClosedLoop({
      inFlight: settings.inFlight,
      durationMs,
      op: (i) => {
        const { service, index } = spread(i % population, settings.services);
        return on(i).renew(renewal(service, index));
      },
    });
  };
  try {
    await register(settings.warmupS * 1000);
    const registerPhase = await measurePhase(server, machine.cores, () => register(settings.registerS * 1000));
    await renew(settings.warmupS * 1000);
    const renewPhase = await measurePhase(server, machine.cores, () => renew(settings.renewS * 1000));
    const stats = await server.stats();
    return {
      run,
      register: registerPhase,
      renew: renewPhase,
      instances: stats.instances,
      otherCpuPercent: Math.max(registerPhase.otherCpuPercent, renewPhase.otherCpuPercent),
    };
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(10 * 60_000);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });
  const machine = printHeader('herald registrations and renewals', {
    client: settings.client,
    runs: settings.runs,
    inFlight: settings.inFlight,
    connections: settings.connections,
    services: settings.services,
    warmupS: settings.warmupS,
    registerS: settings.registerS,
    renewS: settings.renewS,
    selfPreservation: false,
    evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    metadataEntries: 3,
  });

  const runs: RunResult[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    const r = await undisturbed(`run ${run}`, () => runOnce(settings, machine, run));
    runs.push(r);
    console.log(
      `run ${run}: ${r.register.perSecond.toFixed(0)} registrations/s (server ${r.register.serverCpuPerCallUs.toFixed(1)} µs each), ` +
        `${r.renew.perSecond.toFixed(0)} renews/s (server ${r.renew.serverCpuPerCallUs.toFixed(1)} µs each), ` +
        `server CPU ${r.register.server.cpuPercent.toFixed(0)} % / ${r.renew.server.cpuPercent.toFixed(0)} %, ` +
        `load CPU ${r.register.load.cpuPercent.toFixed(0)} % / ${r.renew.load.cpuPercent.toFixed(0)} %, ${r.instances} instances, ` +
        `other CPU ${r.otherCpuPercent.toFixed(0)} %`,
    );
  }
  console.log('');

  const phaseRow = (name: string, p: PhaseResult, run: number | string): (string | number)[] => [
    name,
    run,
    p.perSecond,
    p.latencyMs.p50,
    p.latencyMs.p99,
    p.serverCpuPerCallUs,
    p.server.cpuPercent,
    p.server.eventLoopUtilization,
    p.load.cpuPercent,
    p.otherCpuPercent,
    p.errors,
  ];
  const headers = ['phase', 'run', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU µs/call', 'server CPU %', 'server ELU', 'load CPU %', 'other CPU %', 'errors'];
  printTable(
    'Every run (CPU in % of one core):',
    headers,
    runs.flatMap((r) => [phaseRow('register', r.register, r.run), phaseRow('renew', r.renew, r.run)]),
  );

  const summarizePhase = (pick: (r: RunResult) => PhaseResult): Record<string, number> => ({
    perSecond: medianOf(runs, (r) => pick(r).perSecond),
    p50Ms: medianOf(runs, (r) => pick(r).latencyMs.p50),
    p99Ms: medianOf(runs, (r) => pick(r).latencyMs.p99),
    serverCpuPerCallUs: medianOf(runs, (r) => pick(r).serverCpuPerCallUs),
    serverCpuPercent: medianOf(runs, (r) => pick(r).server.cpuPercent),
    serverEventLoopUtilization: medianOf(runs, (r) => pick(r).server.eventLoopUtilization),
    serverKernelShare: medianOf(runs, (r) => pick(r).server.systemShare),
    loadCpuPercent: medianOf(runs, (r) => pick(r).load.cpuPercent),
    loadEventLoopUtilization: medianOf(runs, (r) => pick(r).load.eventLoopUtilization),
    otherCpuPercent: medianOf(runs, (r) => pick(r).otherCpuPercent),
  });
  const summary = { register: summarizePhase((r) => r.register), renew: summarizePhase((r) => r.renew) };
  const row = (name: string, s: Record<string, number>): (string | number)[] => [
    name,
    s.perSecond ?? Number.NaN,
    s.p50Ms ?? Number.NaN,
    s.p99Ms ?? Number.NaN,
    s.serverCpuPerCallUs ?? Number.NaN,
    (s.serverKernelShare ?? Number.NaN) * 100,
    s.serverCpuPercent ?? Number.NaN,
    s.serverEventLoopUtilization ?? Number.NaN,
    s.loadCpuPercent ?? Number.NaN,
    s.loadEventLoopUtilization ?? Number.NaN,
  ];
  printTable(
    `Medians of ${settings.runs} run(s) (${settings.inFlight} calls in flight over ${settings.connections} connections; CPU in % of one core):`,
    ['phase', 'calls/s', 'p50 ms', 'p99 ms', 'server CPU µs/call', 'of it kernel %', 'server CPU %', 'server ELU', 'load CPU %', 'load ELU'],
    [row('register (new instances)', summary.register), row('renew', summary.renew)],
  );

  const checks: TargetCheck[] = [
    { metric: `registrations/s, ${settings.inFlight} in flight`, value: summary.register.perSecond ?? Number.NaN, unit: '/s', bound: 6000, kind: 'min' },
    { metric: 'server CPU per renew', value: summary.renew.serverCpuPerCallUs ?? Number.NaN, unit: 'µs', bound: 40, kind: 'max' },
  ];
  printChecks(checks);
  const file = await writeResults(settings.client === 'light' ? 'registrations' : 'registrations-' + settings.client, { machine, settings, summary, checks, runs });
  console.log(`wrote ${file}`);
  if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
}

await main();
