/**
 * The workload auth-cost runs under each server configuration, each part on a fresh server:
 *
 * - unary: registrations then renewals (closed loop, `inFlight` calls over `connections`
 *   RegistryTransport clients in this process, every answer decoded), as bench/registrations.ts
 *   with `--client transport`; server CPU per call = the server's CPU over the phase / calls;
 * - push: one service, a driver changing it at a fixed rate, `subscribers` RegistryTransport
 *   subscribers in load processes decoding every snapshot, as bench/push-latency.ts with
 *   `--client transport`.
 *
 * Every client (load, driver, subscribers) sets the configuration's TLS and credentials.
 */
import type { SecurityOptions } from '../../src/client/connection-security.js';
import { ClientPool } from '../lib/bench-client.js';
import { runClosedLoop, type ClosedLoopResult } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import type { UsageDelta } from '../lib/process-usage.js';
import { totalCpuPercent } from '../lib/process-usage.js';
import { changeWindow } from '../lib/push/changes.js';
import { ChangeRun, SUBSCRIBER_MAIN } from '../lib/push/change-run.js';
import { fanOutRun } from '../lib/push/fan-out.js';
import type { SubscriberLoadConfig, SubscriberLoadResult } from '../lib/push/load-protocol.js';
import type { BenchServerConfig } from '../lib/server-commands.js';
import { quietServerConfig, ServerProcess } from '../lib/server-process.js';
import { percent, summarize, type LatencySummary } from '../lib/stats.js';
import { registration, renewal, spread } from '../lib/workload.js';

const SERVICE = 'auth-cost-push';

export interface UnarySettings {
  readonly inFlight: number;
  readonly connections: number;
  readonly services: number;
  readonly warmupS: number;
  readonly registerS: number;
  readonly renewS: number;
}

export interface PushSettings {
  readonly subscribers: number;
  readonly ratePerSecond: number;
  readonly pushWarmupS: number;
  readonly pushMeasureS: number;
  readonly loadProcs: number;
  readonly hosts: number;
}

/** Where a part's server runs and what its clients set. */
export interface PartSetup {
  readonly server: BenchServerConfig;
  readonly security: SecurityOptions | undefined;
  readonly cores: number;
  /** node --cpu-prof into this directory. */
  readonly profileDir: string | undefined;
}

export interface UnaryPhase {
  readonly calls: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly latencyMs: LatencySummary;
  readonly server: UsageDelta;
  /** Server CPU per call, µs. */
  readonly serverCpuPerCallUs: number;
  /** This process (the clients) over the phase. */
  readonly load: UsageDelta;
  /** Client CPU per call, µs. */
  readonly loadCpuPerCallUs: number;
  readonly otherCpuPercent: number;
}

export interface UnaryResult {
  readonly register: UnaryPhase;
  readonly renew: UnaryPhase;
  readonly serverPid: number | undefined;
}

async function measure(server: ServerProcess, cores: number, loop: () => Promise<ClosedLoopResult>): Promise<UnaryPhase> {
  const {
    result: r,
    usage: [serverDelta],
    self,
    otherCpuPercent,
  } = await measurePhase([server], cores, loop);
  if (r.firstError !== undefined) console.error(`${r.errors} call(s) failed, first: ${r.firstError}`);
  const per = (us: number): number => (r.completed > 0 ? us / r.completed : Number.NaN);
  return {
    calls: r.completed,
    errors: r.errors,
    perSecond: (r.completed / r.elapsedMs) * 1000,
    latencyMs: summarize(r.latenciesMs),
    server: serverDelta,
    serverCpuPerCallUs: per(serverDelta.cpuUs),
    load: self,
    loadCpuPerCallUs: per(self.cpuUs),
    otherCpuPercent,
  };
}

/** Registrations, then renewals of the instances registered, on a fresh server. */
export async function unaryPart(setup: PartSetup, s: UnarySettings): Promise<UnaryResult> {
  const server = await ServerProcess.start({
    config: quietServerConfig(setup.server),
    ...(setup.profileDir === undefined ? {} : { cpuProfileDir: setup.profileDir }),
  });
  const pool = new ClientPool('transport', server.address, s.connections, setup.security);
  let registered = 0;
  const register = (durationMs: number): Promise<ClosedLoopResult> => {
    const base = registered;
    return runClosedLoop({
      inFlight: s.inFlight,
      durationMs,
      op: async (i) => {
        const { service, index } = spread(base + i, s.services);
        await pool.on(i).register(registration(service, index));
        registered = Math.max(registered, base + i + 1);
      },
    });
  };
  const renew = (durationMs: number): Promise<ClosedLoopResult> => {
    const population = registered;
    return runClosedLoop({
      inFlight: s.inFlight,
      durationMs,
      op: (i) => {
        const { service, index } = spread(i % population, s.services);
        return pool.on(i).renew(renewal(service, index));
      },
    });
  };
  try {
    await register(s.warmupS * 1000);
    const registerPhase = await measure(server, setup.cores, () => register(s.registerS * 1000));
    await renew(s.warmupS * 1000);
    const renewPhase = await measure(server, setup.cores, () => renew(s.renewS * 1000));
    return { register: registerPhase, renew: renewPhase, serverPid: server.pid };
  } finally {
    pool.close();
    await server.stop();
  }
}

export interface PushResult {
  readonly latencyMs: LatencySummary;
  readonly receivedPercent: number;
  readonly skipped: number;
  readonly missing: number;
  readonly streamErrors: number;
  readonly driverErrors: number;
  /** Snapshots the server handed to subscribers over the measured changes. */
  readonly pushes: number;
  /** Server CPU per push, µs (includes the driver's Register calls). */
  readonly serverCpuPerPushUs: number;
  readonly server: UsageDelta;
  /** Every load process together, % of one core. */
  readonly loadCpuPercent: number;
  /** Subscribers' CPU per push received, µs. */
  readonly loadCpuPerPushUs: number;
  readonly otherCpuPercent: number;
  /** How long opening every subscriber took (TLS handshakes included), ms. */
  readonly openMs: number;
  readonly serverPid: number | undefined;
}

/** Change → push receipt at `subscribers` decoding subscribers, on a fresh server. */
export async function pushPart(setup: PartSetup, s: PushSettings): Promise<PushResult> {
  const window = changeWindow(s.pushWarmupS, s.pushMeasureS, s.ratePerSecond);
  const server = await ServerProcess.start({
    config: quietServerConfig(setup.server),
    ...(setup.profileDir === undefined ? {} : { cpuProfileDir: setup.profileDir }),
  });
  const changes = await ChangeRun.start({
    nodes: [server],
    writeTo: server,
    service: SERVICE,
    hosts: s.hosts,
    ratePerSecond: s.ratePerSecond,
    window,
    ...(setup.security === undefined ? {} : { security: setup.security }),
  });
  try {
    const { handles, openMs } = await changes.openLoads<SubscriberLoadConfig, SubscriberLoadResult>({
      procs: Math.min(s.loadProcs, s.subscribers),
      subscribers: s.subscribers,
      script: SUBSCRIBER_MAIN,
      name: (p) => `subscribers-${p}`,
      at: server,
      extra: { kind: 'transport', ...(setup.security === undefined ? {} : { security: setup.security }) },
      openBatch: 50,
    });
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    await changes.warmUp();
    const before = await server.stats();
    const measured = await changes.measure(setup.cores);
    const after = await server.stats();
    const results = await changes.collect(handles, 3_000);
    const firstStreamError = results.find((r) => r.firstError !== undefined)?.firstError;
    if (firstStreamError !== undefined) console.error(`stream error: ${firstStreamError}`);
    const run = fanOutRun({ changes, measured, results, ratePerSecond: s.ratePerSecond, run: 0, maxClockOffsetMs, openMs });
    const pushes = after.delivered - before.delivered;
    const loadCpuUs = run.loads.reduce((n, l) => n + l.cpuUs, 0);
    return {
      latencyMs: run.latencyMs,
      receivedPercent: percent(run.received, run.expected),
      skipped: run.skipped,
      missing: run.missing,
      streamErrors: results.reduce((n, r) => n + r.streamErrors, 0),
      driverErrors: run.driverErrors,
      pushes,
      serverCpuPerPushUs: pushes > 0 ? run.server.cpuUs / pushes : Number.NaN,
      server: run.server,
      loadCpuPercent: totalCpuPercent(run.loads),
      loadCpuPerPushUs: run.received > 0 ? loadCpuUs / run.received : Number.NaN,
      otherCpuPercent: run.otherCpuPercent,
      openMs,
      serverPid: server.pid,
    };
  } finally {
    await changes.close();
  }
}
