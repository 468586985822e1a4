/**
 * Part (b) of the cluster benchmark, replication throughput between two nodes A and B. This
 * process keeps 64 Register calls in flight on A (new, distinct instances over 100 services, 4
 * connections, light client) for a fixed number of registrations, then waits until B has applied
 * every one of them (B counts the replicated writes it applies). Then the same for renewals
 * (heartbeat tasks): 64 Renew calls in flight on A for a fixed time, round-robin over every
 * instance, until A's queue to B is empty. A phase lasts from its first call until then; "reached
 * B /s" = writes B applied ÷ that time.
 *
 * With --peer-transport eureka, B is standalone (it only receives, on its Eureka REST API, on a
 * reserved HTTP port) and A's only peer is B's Eureka service URL, so A's changes go to B as
 * `POST …/peerreplication/batch` (JSON over HTTP/1.1) through the same batching dispatcher. The
 * workload's services are in namespace `public`, group `DEFAULT_GROUP`, i.e. Eureka apps.
 */
import { ClientPool } from '../lib/bench-client.js';
import { runClosedLoop, type ClosedLoopResult } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import type { UsageDelta } from '../lib/process-usage.js';
import { fixed, printRows } from '../lib/report.js';
import { medians } from '../lib/runs.js';
import type { WriteCounts } from '../lib/server-commands.js';
import type { ServerProcess } from '../lib/server-process.js';
import { summarize } from '../lib/stats.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import { registration, renewal, spread } from '../lib/workload.js';
import { batchStatsTo, node, peerTo, startCluster, startEurekaPair, waitUntil, type BatchStats, type ClusterSettings, type PeerId } from './nodes.js';

interface ThroughputPhase {
  /** Calls completed on A, and how fast A accepted them. */
  readonly calls: number;
  readonly errors: number;
  readonly acceptedPerSecond: number;
  readonly callP50Ms: number;
  readonly callP99Ms: number;
  /** Writes B applied as replications during the phase. */
  readonly appliedOnB: number;
  /** appliedOnB / (time from the phase's first call until B had applied them all, or A's queue drained). */
  readonly reachedBPerSecond: number;
  /** From A's last answered call until B held everything, ms. */
  readonly lagAfterLastCallMs: number;
  /** A's dispatcher to B: tasks delivered per second of the phase, dropped, failed batches. */
  readonly deliveredPerSecond: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly failures: number;
  readonly maxQueueDepth: number;
  readonly batches: BatchStats;
  readonly a: UsageDelta;
  readonly b: UsageDelta;
  readonly load: UsageDelta;
  /** Every write B's registry applied during the phase, by kind (e.g. re-registrations after a 404). */
  readonly bWrites: WriteCounts;
  /** A's CPU per call of the phase, and B's per replicated write applied, µs. */
  readonly aCpuPerCallUs: number;
  readonly bCpuPerAppliedUs: number;
  readonly otherCpuPercent: number;
}

export interface ThroughputRunResult {
  readonly run: number;
  readonly register: ThroughputPhase;
  readonly renew: ThroughputPhase;
  readonly instances: number;
  readonly otherCpuPercent: number;
}

/** One phase's nodes and how it ends: `settled` (given B's applied count before) says B has everything. */
interface PhaseSpec {
  readonly a: ServerProcess;
  readonly b: ServerProcess;
  readonly peerB: PeerId;
  readonly settled: (appliedBefore: number) => Promise<boolean>;
  readonly applied: (w: WriteCounts) => number;
  readonly loop: () => Promise<ClosedLoopResult>;
}

function writesDelta(before: WriteCounts, after: WriteCounts): WriteCounts {
  return {
    register: after.register - before.register,
    renew: after.renew - before.renew,
    other: after.other - before.other,
    replicatedRegister: after.replicatedRegister - before.replicatedRegister,
    replicatedRenew: after.replicatedRenew - before.replicatedRenew,
    replicatedOther: after.replicatedOther - before.replicatedOther,
  };
}

async function throughputPhase(cores: number, { a, b, peerB, settled, applied, loop }: PhaseSpec): Promise<ThroughputPhase> {
  await a.cluster(true);
  const phase = await measurePhase([a, b], cores, async () => {
    const bWritesBefore = await b.writes();
    const dispatcherBefore = peerTo(await a.cluster(), peerB);
    const started = wallNowMs();
    // Watch A's queue to B while the load runs.
    let maxQueueDepth = 0;
    let running = true;
    const watcher = (async (): Promise<void> => {
      while (running) {
        const p = peerTo(await a.cluster(), peerB);
        maxQueueDepth = Math.max(maxQueueDepth, p.queueDepth + p.inFlight);
        await sleep(20);
      }
    })();
    const r = await loop();
    const lastCallAt = wallNowMs();
    let doneAt: number;
    try {
      doneAt = await waitUntil('B to apply every replicated write', () => settled(applied(bWritesBefore)), 60_000);
    } finally {
      running = false;
      await watcher;
    }
    return { r, bWritesBefore, dispatcherBefore, started, lastCallAt, doneAt, maxQueueDepth };
  });
  const { r, bWritesBefore, dispatcherBefore, started, lastCallAt, doneAt, maxQueueDepth } = phase.result;
  const {
    usage: [aUsage, bUsage],
    self: loadUsage,
  } = phase;
  const bWrites = writesDelta(bWritesBefore, await b.writes());
  const sampleAfter = await a.cluster();
  const dispatcherAfter = peerTo(sampleAfter, peerB);
  const appliedOnB = applied(bWrites);
  const seconds = (doneAt - started) / 1000;
  const delivered = dispatcherAfter.delivered - dispatcherBefore.delivered;
  const latency = summarize(r.latenciesMs);
  if (r.firstError !== undefined) console.error(`${r.errors} call(s) failed, first: ${r.firstError}`);
  return {
    calls: r.completed,
    errors: r.errors,
    acceptedPerSecond: (r.completed / r.elapsedMs) * 1000,
    callP50Ms: latency.p50,
    callP99Ms: latency.p99,
    appliedOnB,
    reachedBPerSecond: appliedOnB / seconds,
    lagAfterLastCallMs: doneAt - lastCallAt,
    deliveredPerSecond: delivered / seconds,
    delivered,
    dropped: dispatcherAfter.dropped - dispatcherBefore.dropped,
    failures: dispatcherAfter.failures - dispatcherBefore.failures,
    maxQueueDepth,
    batches: batchStatsTo(sampleAfter, peerB),
    a: aUsage,
    b: bUsage,
    load: loadUsage,
    bWrites,
    aCpuPerCallUs: r.completed > 0 ? aUsage.cpuUs / r.completed : Number.NaN,
    bCpuPerAppliedUs: appliedOnB > 0 ? bUsage.cpuUs / appliedOnB : Number.NaN,
    otherCpuPercent: phase.otherCpuPercent,
  };
}

export async function throughputRun(settings: ClusterSettings, cores: number, run: number): Promise<ThroughputRunResult> {
  const eureka = settings.peerTransport === 'eureka' ? await startEurekaPair(settings) : undefined;
  const nodes = eureka?.nodes ?? (await startCluster(settings, 2));
  const [a, b] = [node(nodes, 0), node(nodes, 1)];
  const peerB: PeerId = eureka?.bUrl ?? b.port;
  const pool = new ClientPool('light', a.address, settings.connections);
  let registered = 0;
  const register = (count: number): Promise<ClosedLoopResult> => {
    const base = registered;
    registered += count;
    return runClosedLoop({
      inFlight: settings.inFlight,
      total: count,
      op: (i) => {
        const { service, index } = spread(base + i, settings.services);
        return pool.on(i).register(registration(service, index));
      },
    });
  };
  let renewed = 0;
  const renew = (durationMs: number): Promise<ClosedLoopResult> => {
    const population = registered;
    const base = renewed;
    return runClosedLoop({
      inFlight: settings.inFlight,
      durationMs,
      op: (i) => {
        renewed = Math.max(renewed, base + i + 1);
        const { service, index } = spread((base + i) % population, settings.services);
        return pool.on(i).renew(renewal(service, index));
      },
    });
  };
  const queueEmpty = async (): Promise<boolean> => {
    const p = peerTo(await a.cluster(), peerB);
    return p.queueDepth === 0 && p.inFlight === 0;
  };
  try {
    // Warm-up: registrations, then renewals, each until B has them.
    const warmCount = settings.warmupRegistrations;
    await register(warmCount);
    await waitUntil('B to hold the warm-up registrations', async () => (await b.writes()).replicatedRegister >= warmCount, 60_000);
    const registerPhase = await throughputPhase(cores, {
      a,
      b,
      peerB,
      settled: async (before) => (await b.writes()).replicatedRegister - before >= settings.registrations,
      applied: (w) => w.replicatedRegister,
      loop: () => register(settings.registrations),
    });
    await renew(1_000);
    await waitUntil("A's queue to B to drain after the renewal warm-up", queueEmpty, 60_000);
    const renewPhase = await throughputPhase(cores, { a, b, peerB, settled: queueEmpty, applied: (w) => w.replicatedRenew, loop: () => renew(settings.renewS * 1000) });
    const instances = (await b.stats()).instances;
    return { run, register: registerPhase, renew: renewPhase, instances, otherCpuPercent: Math.max(registerPhase.otherCpuPercent, renewPhase.otherCpuPercent) };
  } finally {
    pool.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

/** The lines of one throughput run, one per phase. */
export function throughputLines(settings: ClusterSettings, r: ThroughputRunResult): string[] {
  return (
    [
      ['register', r.register],
      ['renew', r.renew],
    ] as const
  ).map(
    ([name, p]) =>
      `${name}: ${p.calls} calls, ${p.acceptedPerSecond.toFixed(0)}/s accepted on A, ${p.reachedBPerSecond.toFixed(0)}/s reached B (${p.appliedOnB} applied), ` +
      `lag ${p.lagAfterLastCallMs.toFixed(0)} ms, ${fixed(p.batches.calls, 0)} batches (mean ${fixed(p.batches.meanBatch, 0)}, Replicate p50 ${fixed(p.batches.callMs.p50, 1)} ms), ` +
      `dropped ${p.dropped}, max queue ${p.maxQueueDepth}, CPU A ${p.a.cpuPercent.toFixed(0)} % B ${p.b.cpuPercent.toFixed(0)} % load ${p.load.cpuPercent.toFixed(0)} %, other ${p.otherCpuPercent.toFixed(0)} %` +
      (settings.peerTransport === 'eureka'
        ? `; batch failures ${p.failures}, B applied ${p.bWrites.replicatedRegister} registrations and ${p.bWrites.replicatedRenew} renewals, call errors on A ${p.errors}`
        : ''),
  );
}

/** Prints part (b)'s tables; returns the medians per phase for the JSON. */
export function reportThroughput(settings: ClusterSettings, runs: readonly ThroughputRunResult[]) {
  const phases = runs.flatMap((r) => [
    { phase: 'register', run: r.run, ...r.register },
    { phase: 'renew', run: r.run, ...r.renew },
  ]);
  printRows('Every run, (b) replication A → B (CPU in % of one core from the first call until B had everything):', phases, [
    ['phase', (p) => p.phase],
    ['run', (p) => p.run],
    ['calls on A', (p) => p.calls],
    ['accepted/s on A', (p) => p.acceptedPerSecond],
    ['reached B /s', (p) => p.reachedBPerSecond],
    ['delivered/s', (p) => p.deliveredPerSecond],
    ['lag after last call ms', (p) => p.lagAfterLastCallMs],
    ['batches', (p) => p.batches.calls],
    ['mean batch', (p) => p.batches.meanBatch],
    ['dropped', (p) => p.dropped],
    ['max queue', (p) => p.maxQueueDepth],
    ['A CPU %', (p) => p.a.cpuPercent],
    ['B CPU %', (p) => p.b.cpuPercent],
    ['load CPU %', (p) => p.load.cpuPercent],
    ['other CPU %', (p) => p.otherCpuPercent],
  ]);
  const summarisePhase = (pick: (r: ThroughputRunResult) => ThroughputPhase) =>
    medians(runs, {
      calls: (r) => pick(r).calls,
      acceptedPerSecond: (r) => pick(r).acceptedPerSecond,
      callP50Ms: (r) => pick(r).callP50Ms,
      callP99Ms: (r) => pick(r).callP99Ms,
      appliedOnB: (r) => pick(r).appliedOnB,
      reachedBPerSecond: (r) => pick(r).reachedBPerSecond,
      deliveredPerSecond: (r) => pick(r).deliveredPerSecond,
      lagAfterLastCallMs: (r) => pick(r).lagAfterLastCallMs,
      batches: (r) => pick(r).batches.calls,
      meanBatch: (r) => pick(r).batches.meanBatch,
      maxBatch: (r) => pick(r).batches.maxBatch,
      replicateCallP50Ms: (r) => pick(r).batches.callMs.p50,
      replicateCallP99Ms: (r) => pick(r).batches.callMs.p99,
      dropped: (r) => pick(r).dropped,
      failures: (r) => pick(r).failures,
      maxQueueDepth: (r) => pick(r).maxQueueDepth,
      aCpuPercent: (r) => pick(r).a.cpuPercent,
      aEventLoopUtilization: (r) => pick(r).a.eventLoopUtilization,
      bCpuPercent: (r) => pick(r).b.cpuPercent,
      bEventLoopUtilization: (r) => pick(r).b.eventLoopUtilization,
      loadCpuPercent: (r) => pick(r).load.cpuPercent,
      aCpuPerCallUs: (r) => pick(r).aCpuPerCallUs,
      bCpuPerAppliedUs: (r) => pick(r).bCpuPerAppliedUs,
      otherCpuPercent: (r) => pick(r).otherCpuPercent,
    });
  const summary = { register: summarisePhase((r) => r.register), renew: summarisePhase((r) => r.renew) };
  const rows = [
    { phase: 'register', ...summary.register },
    { phase: 'renew', ...summary.renew },
  ];
  const over = settings.peerTransport === 'eureka' ? '; A → B over Eureka peer batches (a "Replicate" is one POST …/peerreplication/batch)' : '';
  printRows(
    `(b) Medians of ${settings.runs} run(s): ${settings.inFlight} calls in flight on A over ${settings.connections} connections (${settings.registrations} registrations; renewals for ${settings.renewS} s)${over}:`,
    rows,
    [
      ['phase', (s) => s.phase],
      ['accepted/s on A', (s) => s.acceptedPerSecond],
      ['reached B /s', (s) => s.reachedBPerSecond],
      ['A delivered/s', (s) => s.deliveredPerSecond],
      ['lag after last call ms', (s) => s.lagAfterLastCallMs],
      ['batches', (s) => s.batches],
      ['mean batch', (s) => s.meanBatch],
      ['max batch', (s) => s.maxBatch],
      ['Replicate p50 ms', (s) => s.replicateCallP50Ms],
      ['Replicate p99 ms', (s) => s.replicateCallP99Ms],
      ['dropped', (s) => s.dropped],
      ['max queue', (s) => s.maxQueueDepth],
    ],
  );
  printRows('(b) CPU (medians, % of one core; per call on A includes replicating it; per applied write on B):', rows, [
    ['phase', (s) => s.phase],
    ['A CPU %', (s) => s.aCpuPercent],
    ['A ELU', (s) => s.aEventLoopUtilization],
    ['A µs/call', (s) => s.aCpuPerCallUs],
    ['B CPU %', (s) => s.bCpuPercent],
    ['B ELU', (s) => s.bEventLoopUtilization],
    ['B µs/applied', (s) => s.bCpuPerAppliedUs],
    ['load CPU %', (s) => s.loadCpuPercent],
    ['call p50 ms', (s) => s.callP50Ms],
    ['call p99 ms', (s) => s.callP99Ms],
    ['other CPU %', (s) => s.otherCpuPercent],
  ]);
  return summary;
}
