/**
 * Registration throughput and renewal cost. With a fixed number of calls in flight (closed loop,
 * spread over several connections), this process registers new instances across many services
 * for a while, then renews them round-robin. The server runs in its own process and reports its
 * CPU time (process.cpuUsage) before and after each phase: CPU per call = delta / calls.
 * Self-preservation is off and eviction runs once an hour, so nothing else runs on the server.
 *
 *   npx tsx bench/registrations.ts --help
 *   npx tsx bench/registrations.ts --runs 1 --profile   # server CPU profile in bench/results/profiles
 *   npx tsx bench/registrations.ts --persistent          # persistent instances, the store on (fsync per commit)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, CLIENT_KINDS } from './lib/bench-client.js';
import { runClosedLoop, type ClosedLoopResult } from './lib/closed-loop.js';
import { bool, choice, int, num, parseFlags } from './lib/flags.js';
import { measurePhase } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import type { UsageDelta } from './lib/process-usage.js';
import { printChecks, printHeader, printRows, profileDir, writeResults, type TargetCheck } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from './lib/server-process.js';
import { summarize, type LatencySummary } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';
import { registration, renewal, spread } from './lib/workload.js';

const { flags } = parseFlags(
  {
    script: 'bench/registrations.ts',
    about: `Registrations per second and server CPU per renew: --in-flight calls over --connections
connections from this process (closed loop), the server in its own process. Prints both phases
per run and their medians with the targets, and writes bench/results/registrations.json
(registrations-transport.json with --client transport).`,
    quick: 'one short run',
  },
  {
    client: choice(
      'load client: light (node:http2), transport (RegistryTransport, grpc-js, unary Renew) or stream (the same, renewing on KeepAlive streams)',
      CLIENT_KINDS,
      'light',
    ),
    runs: int('runs', 3, 1),
    inFlight: int('calls in flight', 64),
    connections: int('connections the calls spread over', 4),
    services: int('services the instances spread over', 100),
    warmupS: num('seconds of warm-up before each phase', 2, 1),
    registerS: num('seconds of registering new instances', 5, 2),
    renewS: num('seconds of renewing them', 5, 2),
    profile: bool('CPU-profile the server (node --cpu-prof into bench/results/profiles/)'),
    persistent: bool("register persistent instances (ephemeral=false) with the durable store on, in a temporary data directory: each registration is answered once fsync'd"),
  },
);

const { quick: _quick, profile, ...chosen } = flags;
const settings = { ...chosen, profileDir: await profileDir(profile) };

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

/** Runs one closed-loop phase and measures the server's and this process's CPU over it. */
async function measure(server: ServerProcess, cores: number, loop: () => Promise<ClosedLoopResult>): Promise<PhaseResult> {
  const {
    result: r,
    usage: [serverDelta],
    self,
    otherCpuPercent,
  } = await measurePhase([server], cores, loop);
  if (r.firstError !== undefined) console.error(`${r.errors} call(s) failed, first: ${r.firstError}`);
  return {
    calls: r.completed,
    errors: r.errors,
    perSecond: (r.completed / r.elapsedMs) * 1000,
    latencyMs: summarize(r.latenciesMs),
    server: serverDelta,
    serverCpuPerCallUs: r.completed > 0 ? serverDelta.cpuUs / r.completed : Number.NaN,
    load: self,
    otherCpuPercent,
  };
}

async function runOnce(machine: MachineInfo, run: number): Promise<RunResult> {
  // Persistent instances need a store (a fresh one per run, on the disk tmpdir() is on) and are not probed here.
  const dataDir = settings.persistent ? mkdtempSync(join(tmpdir(), 'herald-bench-store-')) : undefined;
  const server = await ServerProcess.start({
    config: quietServerConfig(dataDir === undefined ? {} : { dataDir, probeDefault: 'none' }),
    ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
  });
  const pool = new ClientPool(settings.client, server.address, settings.connections);
  let registered = 0;
  const register = (durationMs: number): Promise<ClosedLoopResult> => {
    const base = registered;
    return runClosedLoop({
      inFlight: settings.inFlight,
      durationMs,
      op: async (i) => {
        const { service, index } = spread(base + i, settings.services);
        const req = registration(service, index);
        await pool.on(i).register(settings.persistent && req.instance !== undefined ? { ...req, instance: { ...req.instance, ephemeral: false } } : req);
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
        return pool.on(i).renew(renewal(service, index));
      },
    });
  };
  try {
    await register(settings.warmupS * 1000);
    const registerPhase = await measure(server, machine.cores, () => register(settings.registerS * 1000));
    await renew(settings.warmupS * 1000);
    const renewPhase = await measure(server, machine.cores, () => renew(settings.renewS * 1000));
    const stats = await server.stats();
    return { run, register: registerPhase, renew: renewPhase, instances: stats.instances, otherCpuPercent: Math.max(registerPhase.otherCpuPercent, renewPhase.otherCpuPercent) };
  } finally {
    pool.close();
    await server.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

armWatchdog(10 * 60_000);
const machine = printHeader('herald registrations and renewals', {
  client: settings.client,
  instances: settings.persistent ? 'persistent (store on, WAL, synchronous=FULL)' : 'ephemeral (nothing stored)',
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
const runs = await repeatRuns({
  scenarios: [''],
  runs: settings.runs,
  label: () => '',
  once: (_s, run) => runOnce(machine, run),
  line: (r) =>
    `${r.register.perSecond.toFixed(0)} registrations/s (server ${r.register.serverCpuPerCallUs.toFixed(1)} µs each), ` +
    `${r.renew.perSecond.toFixed(0)} renews/s (server ${r.renew.serverCpuPerCallUs.toFixed(1)} µs each), ` +
    `server CPU ${r.register.server.cpuPercent.toFixed(0)} % / ${r.renew.server.cpuPercent.toFixed(0)} %, ` +
    `load CPU ${r.register.load.cpuPercent.toFixed(0)} % / ${r.renew.load.cpuPercent.toFixed(0)} %, ${r.instances} instances, ` +
    `other CPU ${r.otherCpuPercent.toFixed(0)} %`,
});

printRows(
  'Every run (CPU in % of one core):',
  runs.flatMap((r) => [
    { phase: 'register', run: r.run, ...r.register },
    { phase: 'renew', run: r.run, ...r.renew },
  ]),
  [
    ['phase', (p) => p.phase],
    ['run', (p) => p.run],
    ['calls/s', (p) => p.perSecond],
    ['p50 ms', (p) => p.latencyMs.p50],
    ['p99 ms', (p) => p.latencyMs.p99],
    ['server CPU µs/call', (p) => p.serverCpuPerCallUs],
    ['server CPU %', (p) => p.server.cpuPercent],
    ['server ELU', (p) => p.server.eventLoopUtilization],
    ['load CPU %', (p) => p.load.cpuPercent],
    ['other CPU %', (p) => p.otherCpuPercent],
    ['errors', (p) => p.errors],
  ],
);

const summarisePhase = (pick: (r: RunResult) => PhaseResult) =>
  medians(runs, {
    perSecond: (r) => pick(r).perSecond,
    p50Ms: (r) => pick(r).latencyMs.p50,
    p99Ms: (r) => pick(r).latencyMs.p99,
    serverCpuPerCallUs: (r) => pick(r).serverCpuPerCallUs,
    serverCpuPercent: (r) => pick(r).server.cpuPercent,
    serverEventLoopUtilization: (r) => pick(r).server.eventLoopUtilization,
    serverKernelShare: (r) => pick(r).server.systemShare,
    loadCpuPercent: (r) => pick(r).load.cpuPercent,
    loadEventLoopUtilization: (r) => pick(r).load.eventLoopUtilization,
    otherCpuPercent: (r) => pick(r).otherCpuPercent,
  });
const summary = { register: summarisePhase((r) => r.register), renew: summarisePhase((r) => r.renew) };
printRows(
  `Medians of ${settings.runs} run(s) (${settings.inFlight} calls in flight over ${settings.connections} connections; CPU in % of one core):`,
  [
    { phase: 'register (new instances)', ...summary.register },
    { phase: 'renew', ...summary.renew },
  ],
  [
    ['phase', (s) => s.phase],
    ['calls/s', (s) => s.perSecond],
    ['p50 ms', (s) => s.p50Ms],
    ['p99 ms', (s) => s.p99Ms],
    ['server CPU µs/call', (s) => s.serverCpuPerCallUs],
    ['of it kernel %', (s) => s.serverKernelShare * 100],
    ['server CPU %', (s) => s.serverCpuPercent],
    ['server ELU', (s) => s.serverEventLoopUtilization],
    ['load CPU %', (s) => s.loadCpuPercent],
    ['load ELU', (s) => s.loadEventLoopUtilization],
  ],
);

const checks: TargetCheck[] = [
  { metric: `registrations/s, ${settings.inFlight} in flight`, value: summary.register.perSecond, unit: '/s', bound: 6000, kind: 'min' },
  { metric: 'server CPU per renew', value: summary.renew.serverCpuPerCallUs, unit: 'µs', bound: 40, kind: 'max' },
];
printChecks(checks);
const file = await writeResults(`registrations${settings.client === 'light' ? '' : `-${settings.client}`}${settings.persistent ? '-persistent' : ''}`, {
  machine,
  settings,
  summary,
  checks,
  runs,
});
console.log(`wrote ${file}`);
if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
