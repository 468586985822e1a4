/**
 * Cluster mode, two measurements, every node in its own process on 127.0.0.1 (ports reserved
 * beforehand so each node can list the others as peers):
 *
 * (a) Cross-node push latency. Three nodes A, B, C. A driver re-registers one instance on A at a
 *     fixed rate with a change number and the issue time in its metadata (as push-latency does);
 *     light Subscribe streams on C receive it after A replicates it (batching dispatcher → C's
 *     registry → C's push hub). Latency = receipt on C − issue on A's client. The same number of
 *     subscribers on A, in the same run, are the same-node reference, so per change
 *     "replication adds" = first receipt on C − first receipt on A.
 *
 * (b) Replication throughput between two nodes A and B. This process keeps 64 Register calls in
 *     flight on A (new, distinct instances over 100 services, 4 connections, light client) for a
 *     fixed number of registrations, then waits until B has applied every one of them (B counts the
 *     replicated writes it applies). Reported: registrations/s A accepted, registrations/s that
 *     reached B (count / time from the first call until B held them all), A's dispatcher
 *     delivered/s, its Replicate calls (batches), their size and duration. Then the same for
 *     renewals (heartbeat tasks): 64 Renew calls in flight on A for a fixed time, round-robin over
 *     every instance, until A's queue to B is empty.
 *
 *     `--peer-transport eureka` runs (b) over Eureka peer batches instead of herald's gRPC
 *     Replicate: B is standalone (it only receives, on its Eureka REST API, on a reserved HTTP
 *     port) and A has no gRPC peers, only `eurekaPeers: ['http://127.0.0.1:<B's HTTP port>/eureka']`,
 *     so A's changes go to B as `POST …/peerreplication/batch` (JSON over HTTP/1.1, Node's fetch)
 *     through the same batching dispatcher. The workload's services are in namespace `public` and
 *     group `DEFAULT_GROUP` (the defaults), i.e. Eureka apps, so every write is in scope. The
 *     batches are counted by the server process's wrapper around EurekaPeerLink (the link is not
 *     made through the cluster's link factory); where no per-batch record exists the report shows
 *     "-". (a) is not run with eureka.
 *
 * Anti-entropy (verifyIntervalMs), eviction and the heartbeat check are moved to once an hour, so
 * they neither run nor repair anything during a measurement.
 *
 *   npm run build                   # once: generates src/gen
 *   npx tsx bench/cluster.ts        # 3 runs of each part, ~2.5 min
 *   npx tsx bench/cluster.ts --quick
 *   npx tsx bench/cluster.ts --part throughput --runs 1 --profile   # CPU profiles of the nodes
 *   npx tsx bench/cluster.ts --part throughput --peer-transport eureka   # (b) over Eureka peer batches
 *
 * Writes bench/results/cluster.json (cluster-eureka.json with --peer-transport eureka).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RegistryTransport } from '../src/client/registry-transport.js';
import type { PeerView } from '../src/cluster/cluster.js';
import { openBenchClient, type BenchClient } from './lib/bench-client.js';
import { ChildHandle } from './lib/child-handle.js';
import { estimateClockOffset } from './lib/clock-offset.js';
import { runClosedLoop, type ClosedLoopResult } from './lib/closed-loop.js';
import { separateTransport } from './lib/connections.js';
import { intFlag, numberFlag } from './lib/flags.js';
import { freePorts } from './lib/free-ports.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import { sampleUsage, usageDelta, type ProcessUsage, type UsageDelta } from './lib/process-usage.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { printHeader, printTable, writeResults } from './lib/report.js';
import type { BenchServerConfig, ClusterSample, ReplicateCallStats, WriteCounts } from './lib/server-commands.js';
import { ServerProcess } from './lib/server-process.js';
import { medianOf, percent, summarize, type LatencySummary } from './lib/stats.js';
import { undisturbed } from './lib/undisturbed.js';
import { sleep, wallNowMs } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import { derivedInstanceId, registration, renewal, spread } from './lib/workload.js';
import { driveChanges } from './push-latency/change-driver.js';
import { changeSpread, type ChangeSpread } from './push-latency/change-spread.js';
import { tagMetadata } from './push-latency/change-tag.js';
import type { SubscriberCommands, SubscriberLoadResult } from './push-latency/subscriber-commands.js';

const SERVICE = 'cluster-push-bench';
const TAGGED_INDEX = 0;
const NODE_NAMES = ['A', 'B', 'C'] as const;

type Part = 'push' | 'throughput';
type PeerTransport = 'grpc' | 'eureka';

interface Settings {
  readonly parts: readonly Part[];
  readonly runs: number;
  readonly rates: readonly number[];
  readonly subscribers: number;
  readonly localSubscribers: number;
  readonly warmupS: number;
  readonly measureS: number;
  readonly hosts: number;
  readonly mergeWindowMs: number;
  readonly batchDelayMs: number;
  readonly batchSize: number;
  readonly inFlight: number;
  readonly connections: number;
  readonly services: number;
  readonly warmupRegistrations: number;
  readonly registrations: number;
  readonly renewS: number;
  /** How A replicates to B in (b): herald's gRPC Replicate, or Eureka peer batches to B's Eureka API. */
  readonly peerTransport: PeerTransport;
  readonly profileDir: string | undefined;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      part: { type: 'string' },
      runs: { type: 'string' },
      rates: { type: 'string' },
      subscribers: { type: 'string' },
      'local-subscribers': { type: 'string' },
      'warmup-s': { type: 'string' },
      'measure-s': { type: 'string' },
      hosts: { type: 'string' },
      'merge-window-ms': { type: 'string' },
      'batch-delay-ms': { type: 'string' },
      'batch-size': { type: 'string' },
      'in-flight': { type: 'string' },
      connections: { type: 'string' },
      services: { type: 'string' },
      registrations: { type: 'string' },
      'renew-s': { type: 'string' },
      'peer-transport': { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  const part = values.part ?? 'all';
  if (part !== 'all' && part !== 'push' && part !== 'throughput') throw new Error(`--part must be push, throughput or all (got ${part})`);
  const peerTransport = values['peer-transport'] ?? 'grpc';
  if (peerTransport !== 'grpc' && peerTransport !== 'eureka') throw new Error(`--peer-transport must be grpc or eureka (got ${peerTransport})`);
  if (peerTransport === 'eureka' && part === 'push') throw new Error('--peer-transport eureka is for the throughput part only (--part throughput)');
  const registrations = intFlag('registrations', values.registrations, quick ? 10_000 : 40_000);
  return {
    // With eureka only (b) runs, also when --part is not given.
    parts: peerTransport === 'eureka' ? ['throughput'] : part === 'all' ? ['push', 'throughput'] : [part],
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    rates: (values.rates ?? '10,100').split(',').map((r) => numberFlag('rates', r.trim(), 10)),
    subscribers: intFlag('subscribers', values.subscribers, 100),
    localSubscribers: values['local-subscribers'] === '0' ? 0 : intFlag('local-subscribers', values['local-subscribers'], 100),
    warmupS: numberFlag('warmup-s', values['warmup-s'], quick ? 1 : 2),
    measureS: numberFlag('measure-s', values['measure-s'], quick ? 3 : 6),
    hosts: intFlag('hosts', values.hosts, 10),
    mergeWindowMs: Number(values['merge-window-ms'] ?? 5),
    batchDelayMs: Number(values['batch-delay-ms'] ?? 5),
    batchSize: intFlag('batch-size', values['batch-size'], 250),
    inFlight: intFlag('in-flight', values['in-flight'], 64),
    connections: intFlag('connections', values.connections, 4),
    services: intFlag('services', values.services, 100),
    warmupRegistrations: Math.round(registrations / 4),
    registrations,
    renewS: numberFlag('renew-s', values['renew-s'], quick ? 2 : 5),
    peerTransport,
    profileDir: values.profile ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined,
  };
}

// ------------------------------------------------------------------------------------ the nodes

/** Starts `n` nodes (A, B, C…) in parallel, each listing all of them as peers. */
async function startCluster(settings: Settings, n: number): Promise<ServerProcess[]> {
  const ports = await freePorts(n);
  const config: BenchServerConfig = quietServerConfig({
    peers: ports.map((p) => `127.0.0.1:${p}`),
    mergeWindowMs: settings.mergeWindowMs,
    replicationBatchDelayMs: settings.batchDelayMs,
    replicationBatchSize: settings.batchSize,
    syncTimeoutMs: 5_000,
    verifyIntervalMs: BACKGROUND_INTERVAL_MS,
  });
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      ServerProcess.start({
        name: `node-${NODE_NAMES[i] ?? String(i)}`,
        config,
        port,
        countWrites: true,
        ...(settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir }),
      }),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (settings.profileDir !== undefined) console.log(`profiling nodes ${nodes.map((nd, i) => `${NODE_NAMES[i] ?? String(i)}=pid ${String(nd.pid)}`).join(', ')}`);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw failed.reason;
  }
  return nodes;
}

/**
 * The two nodes of (b) over Eureka peer batches: B standalone, on a reserved HTTP port, started
 * first; then A, whose only peer is B's Eureka service URL (its start-up sync reads B's apps).
 */
async function startEurekaPair(settings: Settings): Promise<{ nodes: ServerProcess[]; bUrl: string }> {
  const [bHttpPort] = await freePorts(1);
  if (bHttpPort === undefined) throw new Error('no free port for B');
  const bUrl = `http://127.0.0.1:${bHttpPort}/eureka`;
  const common: BenchServerConfig = {
    mergeWindowMs: settings.mergeWindowMs,
    replicationBatchDelayMs: settings.batchDelayMs,
    replicationBatchSize: settings.batchSize,
    syncTimeoutMs: 5_000,
    verifyIntervalMs: BACKGROUND_INTERVAL_MS,
  };
  const profile = settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir };
  const b = await ServerProcess.start({ name: 'node-B', config: quietServerConfig(common), httpPort: bHttpPort, countWrites: true, ...profile });
  let a: ServerProcess;
  try {
    a = await ServerProcess.start({ name: 'node-A', config: quietServerConfig({ ...common, eurekaPeers: [bUrl] }), countWrites: true, ...profile });
  } catch (e) {
    await b.stop();
    throw e;
  }
  if (b.httpPort !== bHttpPort) throw new Error(`B listens for HTTP on ${b.httpPort}, not the reserved ${bHttpPort}`);
  if (settings.profileDir !== undefined) console.log(`profiling nodes A=pid ${String(a.pid)}, B=pid ${String(b.pid)}`);
  return { nodes: [a, b], bUrl };
}

function node(nodes: readonly ServerProcess[], i: number): ServerProcess {
  const n = nodes[i];
  if (n === undefined) throw new Error(`no node ${NODE_NAMES[i] ?? String(i)}`);
  return n;
}

/** Polls `check` every `everyMs` until it holds; resolves with the wall time it first held, or throws after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return wallNowMs();
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A peer as A names it: a gRPC peer by its port (`host:port`), a Eureka peer by its service URL. */
type PeerId = number | string;

function isPeer(address: string, peer: PeerId): boolean {
  return typeof peer === 'number' ? address.endsWith(`:${peer}`) : address === peer;
}

function peerTo(sample: ClusterSample, peer: PeerId): PeerView {
  const p = sample.peers.find((v) => isPeer(v.address, peer));
  if (p === undefined) throw new Error(typeof peer === 'number' ? `no peer on port ${peer}` : `no peer ${peer}`);
  return p;
}

function callsTo(sample: ClusterSample, port: number): ReplicateCallStats {
  const c = sample.replicateCalls.find((v) => v.address.endsWith(`:${port}`));
  if (c === undefined) throw new Error(`no replicate calls recorded to port ${port}`);
  return c;
}

/** Replicate calls (batches) to one peer within a phase. */
interface BatchStats {
  readonly calls: number;
  readonly failedCalls: number;
  readonly tasks: number;
  readonly meanBatch: number;
  readonly maxBatch: number;
  readonly callMs: LatencySummary;
}

function batchStats(c: ReplicateCallStats): BatchStats {
  return { calls: c.calls, failedCalls: c.failedCalls, tasks: c.tasks, meanBatch: c.calls > 0 ? c.tasks / c.calls : Number.NaN, maxBatch: c.maxBatch, callMs: summarize(c.callMs) };
}

/** Batches to a peer in (b); all NaN (shown as "-") when nothing recorded this peer's calls. */
function batchStatsTo(sample: ClusterSample, peer: PeerId): BatchStats {
  if (typeof peer === 'number') return batchStats(callsTo(sample, peer));
  const c = sample.replicateCalls.find((v) => isPeer(v.address, peer));
  return c === undefined ? { calls: Number.NaN, failedCalls: Number.NaN, tasks: Number.NaN, meanBatch: Number.NaN, maxBatch: Number.NaN, callMs: summarize([]) } : batchStats(c);
}

/** `n.toFixed(digits)`, or "-" for NaN (a number nobody recorded). */
function fixed(n: number, digits: number): string {
  return Number.isNaN(n) ? '-' : n.toFixed(digits);
}

// ------------------------------------------------------------------- (a) cross-node push latency

interface PushSide {
  readonly expected: number;
  readonly received: number;
  readonly skipped: number;
  readonly missing: number;
  readonly regressions: number;
  readonly streamErrors: number;
  readonly latencyMs: LatencySummary;
  readonly perChange: ChangeSpread;
}

interface PushRunResult {
  readonly ratePerSecond: number;
  readonly run: number;
  readonly measuredChanges: number;
  /** Subscribers on C (the other node). */
  readonly remote: PushSide;
  /** Subscribers on A (the node written to); undefined without local subscribers. */
  readonly local: PushSide | undefined;
  /** Per change: first receipt on C − first receipt on A, ms. */
  readonly replicationAddsMs: LatencySummary | undefined;
  /** A's Replicate calls to C during the measured phase. */
  readonly batchesToC: BatchStats;
  readonly driverAckP99Ms: number;
  readonly driverErrors: number;
  readonly nodes: readonly UsageDelta[];
  readonly loads: readonly UsageDelta[];
  readonly driver: UsageDelta;
  readonly otherCpuPercent: number;
  readonly maxClockOffsetMs: number;
}

function pushSide(results: readonly SubscriberLoadResult[], measuredChanges: number): PushSide {
  const subscribers = results.reduce((n, r) => n + r.subscribers, 0);
  const latencies: number[] = [];
  for (const r of results) for (const v of r.latenciesMs) latencies.push(v);
  const sum = (pick: (r: SubscriberLoadResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
  return {
    expected: measuredChanges * subscribers,
    received: sum((r) => r.received),
    skipped: sum((r) => r.skipped),
    missing: sum((r) => r.missing),
    regressions: sum((r) => r.regressions),
    streamErrors: sum((r) => r.streamErrors),
    latencyMs: summarize(latencies),
    perChange: changeSpread(results),
  };
}

/** Earliest receipt of each change across these subscribers. */
function firstReceipts(results: readonly SubscriberLoadResult[]): Map<number, number> {
  const first = new Map<number, number>();
  for (const r of results) {
    for (let i = 0; i < r.latenciesMs.length; i++) {
      const seq = r.latencySeqs[i] ?? -1;
      const ms = r.latenciesMs[i] ?? Number.NaN;
      first.set(seq, Math.min(first.get(seq) ?? Number.POSITIVE_INFINITY, ms));
    }
  }
  return first;
}

async function prepareService(transport: RegistryTransport, hosts: number): Promise<void> {
  await transport.register(registration(SERVICE, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 })));
  await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => transport.register(registration(SERVICE, i + 1))));
}

async function pushRun(settings: Settings, machine: MachineInfo, ratePerSecond: number, run: number): Promise<PushRunResult> {
  const warmupChanges = Math.max(1, Math.round(settings.warmupS * ratePerSecond));
  const measuredChanges = Math.max(1, Math.round(settings.measureS * ratePerSecond));
  const firstMeasured = warmupChanges + 1;
  const lastMeasured = warmupChanges + measuredChanges;
  const nodes = await startCluster(settings, 3);
  const [a, c] = [node(nodes, 0), node(nodes, 2)];
  const driver = separateTransport(a.address);
  const loads: { node: ServerProcess; handle: ChildHandle<SubscriberCommands>; remote: boolean }[] = [];
  try {
    await prepareService(driver, settings.hosts);
    await waitUntil('C to hold the service', async () => (await c.stats()).instances >= settings.hosts, 10_000);
    const sides = [
      { target: c, subscribers: settings.subscribers, remote: true },
      ...(settings.localSubscribers > 0 ? [{ target: a, subscribers: settings.localSubscribers, remote: false }] : []),
    ];
    for (const side of sides) {
      const handle = await ChildHandle.spawn<SubscriberCommands>({ name: `subscribers-on-${side.remote ? 'C' : 'A'}`, script: new URL('./push-latency/subscriber-main.ts', import.meta.url) });
      loads.push({ node: side.target, handle, remote: side.remote });
      await handle.request('open', {
        address: side.target.address,
        service: SERVICE,
        subscribers: side.subscribers,
        kind: 'light',
        taggedInstanceId: derivedInstanceId(SERVICE, TAGGED_INDEX),
        firstMeasured,
        lastMeasured,
        openBatch: 50,
      });
    }
    const offsets = [];
    for (const l of loads) offsets.push(await estimateClockOffset(async () => (await l.handle.request('usage', undefined)).atMs));
    const warm = await driveChanges({ transport: driver, service: SERVICE, taggedIndex: TAGGED_INDEX, ratePerSecond, fromSeq: 1, toSeq: warmupChanges });

    const sample = (): Promise<ProcessUsage[]> => Promise.all([...nodes.map((n) => n.usage()), ...loads.map((l) => l.handle.request('usage', undefined))]);
    await a.cluster(true);
    const machineBefore = sampleMachineCpu();
    const driverBefore = sampleUsage();
    const before = await sample();
    const measured = await driveChanges({ transport: driver, service: SERVICE, taggedIndex: TAGGED_INDEX, ratePerSecond, fromSeq: firstMeasured, toSeq: lastMeasured });
    const after = await sample();
    const driverAfter = sampleUsage();
    const machineAfter = sampleMachineCpu();
    const calls = await a.cluster();
    const usage = before.map((b, i) => usageDelta(b, after[i] ?? b));
    const driverUsage = usageDelta(driverBefore, driverAfter);
    const ours = usage.reduce((n, u) => n + u.cpuPercent, 0) + driverUsage.cpuPercent;
    const collected = await Promise.all(loads.map(async (l) => ({ remote: l.remote, result: await l.handle.request('collect', { untilSeq: lastMeasured, timeoutMs: 3_000 }) })));
    const remote = collected.filter((x) => x.remote).map((x) => x.result);
    const local = collected.filter((x) => !x.remote).map((x) => x.result);
    for (const r of [...remote, ...local]) if (r.firstError !== undefined) console.error(`stream error: ${r.firstError}`);
    if (warm.firstError !== undefined || measured.firstError !== undefined) console.error(`driver error: ${warm.firstError ?? measured.firstError ?? ''}`);
    let replicationAddsMs: LatencySummary | undefined;
    if (local.length > 0) {
      const onA = firstReceipts(local);
      const adds: number[] = [];
      for (const [seq, onC] of firstReceipts(remote)) {
        const at = onA.get(seq);
        if (at !== undefined) adds.push(onC - at);
      }
      replicationAddsMs = summarize(adds);
    }
    return {
      ratePerSecond,
      run,
      measuredChanges,
      remote: pushSide(remote, measuredChanges),
      local: local.length > 0 ? pushSide(local, measuredChanges) : undefined,
      replicationAddsMs,
      batchesToC: batchStats(callsTo(calls, c.port)),
      driverAckP99Ms: summarize(measured.ackMs).p99,
      driverErrors: warm.errors + measured.errors,
      nodes: usage.slice(0, nodes.length),
      loads: usage.slice(nodes.length),
      driver: driverUsage,
      otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, machine.cores) - ours),
      maxClockOffsetMs: Math.max(...offsets.map((o) => Math.abs(o.offsetMs))),
    };
  } finally {
    await Promise.all(loads.map((l) => l.handle.exit()));
    driver.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

// ------------------------------------------------------------ (b) replication throughput A → B

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

interface ThroughputRunResult {
  readonly run: number;
  readonly register: ThroughputPhase;
  readonly renew: ThroughputPhase;
  readonly instances: number;
  readonly otherCpuPercent: number;
}

async function throughputPhase(
  machine: MachineInfo,
  a: ServerProcess,
  b: ServerProcess,
  peerB: PeerId,
  settled: (appliedBefore: number) => Promise<boolean>,
  pick: (w: { replicatedRegister: number; replicatedRenew: number }) => number,
  loop: () => Promise<ClosedLoopResult>,
): Promise<ThroughputPhase> {
  await a.cluster(true);
  const aBefore = await a.usage();
  const bBefore = await b.usage();
  const machineBefore = sampleMachineCpu();
  const loadBefore = sampleUsage();
  const bWritesBefore = await b.writes();
  const appliedBefore = pick(bWritesBefore);
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
    doneAt = await waitUntil('B to apply every replicated write', () => settled(appliedBefore), 60_000);
  } finally {
    running = false;
    await watcher;
  }
  const loadAfter = sampleUsage();
  const machineAfter = sampleMachineCpu();
  const aAfter = await a.usage();
  const bAfter = await b.usage();
  const bWritesAfter = await b.writes();
  const appliedOnB = pick(bWritesAfter) - appliedBefore;
  const sampleAfter = await a.cluster();
  const dispatcherAfter = peerTo(sampleAfter, peerB);
  const aUsage = usageDelta(aBefore, aAfter);
  const bUsage = usageDelta(bBefore, bAfter);
  const loadUsage = usageDelta(loadBefore, loadAfter);
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
    bWrites: {
      register: bWritesAfter.register - bWritesBefore.register,
      renew: bWritesAfter.renew - bWritesBefore.renew,
      other: bWritesAfter.other - bWritesBefore.other,
      replicatedRegister: bWritesAfter.replicatedRegister - bWritesBefore.replicatedRegister,
      replicatedRenew: bWritesAfter.replicatedRenew - bWritesBefore.replicatedRenew,
      replicatedOther: bWritesAfter.replicatedOther - bWritesBefore.replicatedOther,
    },
    aCpuPerCallUs: r.completed > 0 ? aUsage.cpuUs / r.completed : Number.NaN,
    bCpuPerAppliedUs: appliedOnB > 0 ? bUsage.cpuUs / appliedOnB : Number.NaN,
    otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, machine.cores) - aUsage.cpuPercent - bUsage.cpuPercent - loadUsage.cpuPercent),
  };
}

async function throughputRun(settings: Settings, machine: MachineInfo, run: number): Promise<ThroughputRunResult> {
  const eureka = settings.peerTransport === 'eureka' ? await startEurekaPair(settings) : undefined;
  const nodes = eureka?.nodes ?? (await startCluster(settings, 2));
  const [a, b] = [node(nodes, 0), node(nodes, 1)];
  const peerB: PeerId = eureka?.bUrl ?? b.port;
  const clients = Array.from({ length: settings.connections }, () => openBenchClient('light', a.address));
  const on = (i: number): BenchClient => {
    const t = clients[i % clients.length];
    if (t === undefined) throw new Error('no connection');
    return t;
  };
  let registered = 0;
  const register = (count: number): Promise<ClosedLoopResult> => {
    const base = registered;
    registered += count;
    return runClosedLoop({
      inFlight: settings.inFlight,
      total: count,
      op: (i) => {
        const { service, index } = spread(base + i, settings.services);
        return on(i).register(registration(service, index));
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
        return on(i).renew(renewal(service, index));
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
    const registerPhase = await throughputPhase(
      machine,
      a,
      b,
      peerB,
      async (before) => (await b.writes()).replicatedRegister - before >= settings.registrations,
      (w) => w.replicatedRegister,
      () => register(settings.registrations),
    );
    await renew(1_000);
    await waitUntil("A's queue to B to drain after the renewal warm-up", queueEmpty, 60_000);
    const renewPhase = await throughputPhase(machine, a, b, peerB, () => queueEmpty(), (w) => w.replicatedRenew, () => renew(settings.renewS * 1000));
    const instances = (await b.stats()).instances;
    return { run, register: registerPhase, renew: renewPhase, instances, otherCpuPercent: Math.max(registerPhase.otherCpuPercent, renewPhase.otherCpuPercent) };
  } finally {
    for (const cl of clients) cl.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

// ----------------------------------------------------------------------------------- reporting


function reportPush(settings: Settings, runs: readonly PushRunResult[]): Record<string, number | string>[] {
  printTable(
    'Every run, (a) cross-node push (latency in ms, change issued on A → received on C; CPU in % of one core):',
    ['rate', 'run', 'C p50', 'C p90', 'C p99', 'C max', 'C received %', 'A p50', 'A p99', 'replication adds p50', 'batches to C', 'mean batch', 'node CPU % (A/B/C)', 'load CPU %', 'other CPU %'],
    runs.map((r) => [
      `${r.ratePerSecond}/s`,
      r.run,
      r.remote.latencyMs.p50,
      r.remote.latencyMs.p90,
      r.remote.latencyMs.p99,
      r.remote.latencyMs.max,
      percent(r.remote.received, r.remote.expected),
      r.local?.latencyMs.p50 ?? Number.NaN,
      r.local?.latencyMs.p99 ?? Number.NaN,
      r.replicationAddsMs?.p50 ?? Number.NaN,
      r.batchesToC.calls,
      r.batchesToC.meanBatch,
      r.nodes.map((n) => n.cpuPercent.toFixed(0)).join(' / '),
      r.loads.reduce((n, l) => n + l.cpuPercent, 0),
      r.otherCpuPercent,
    ]),
  );
  const summary = settings.rates.map((rate) => {
    const rs = runs.filter((r) => r.ratePerSecond === rate);
    return {
      rate: `${rate}/s`,
      ratePerSecond: rate,
      runs: rs.length,
      remoteP50Ms: medianOf(rs, (r) => r.remote.latencyMs.p50),
      remoteP90Ms: medianOf(rs, (r) => r.remote.latencyMs.p90),
      remoteP99Ms: medianOf(rs, (r) => r.remote.latencyMs.p99),
      remoteMaxMs: medianOf(rs, (r) => r.remote.latencyMs.max),
      remoteP99RangeMs: `${Math.min(...rs.map((r) => r.remote.latencyMs.p99)).toFixed(1)}–${Math.max(...rs.map((r) => r.remote.latencyMs.p99)).toFixed(1)}`,
      remoteReceivedPercent: medianOf(rs, (r) => percent(r.remote.received, r.remote.expected)),
      remoteSkipped: medianOf(rs, (r) => r.remote.skipped),
      remoteMissing: medianOf(rs, (r) => r.remote.missing),
      remoteFirstReceiptP50Ms: medianOf(rs, (r) => r.remote.perChange.firstMs.p50),
      localP50Ms: medianOf(rs, (r) => r.local?.latencyMs.p50 ?? Number.NaN),
      localP99Ms: medianOf(rs, (r) => r.local?.latencyMs.p99 ?? Number.NaN),
      localFirstReceiptP50Ms: medianOf(rs, (r) => r.local?.perChange.firstMs.p50 ?? Number.NaN),
      replicationAddsP50Ms: medianOf(rs, (r) => r.replicationAddsMs?.p50 ?? Number.NaN),
      replicationAddsP99Ms: medianOf(rs, (r) => r.replicationAddsMs?.p99 ?? Number.NaN),
      batchesToC: medianOf(rs, (r) => r.batchesToC.calls),
      meanBatch: medianOf(rs, (r) => r.batchesToC.meanBatch),
      replicateCallP50Ms: medianOf(rs, (r) => r.batchesToC.callMs.p50),
      replicateCallP99Ms: medianOf(rs, (r) => r.batchesToC.callMs.p99),
      nodeACpuPercent: medianOf(rs, (r) => r.nodes[0]?.cpuPercent ?? Number.NaN),
      nodeBCpuPercent: medianOf(rs, (r) => r.nodes[1]?.cpuPercent ?? Number.NaN),
      nodeCCpuPercent: medianOf(rs, (r) => r.nodes[2]?.cpuPercent ?? Number.NaN),
      loadCpuPercent: medianOf(rs, (r) => r.loads.reduce((n, l) => n + l.cpuPercent, 0)),
      driverAckP99Ms: medianOf(rs, (r) => r.driverAckP99Ms),
      otherCpuPercent: medianOf(rs, (r) => r.otherCpuPercent),
    };
  });
  printTable(
    `(a) Medians of ${settings.runs} run(s): ${settings.subscribers} subscribers on C${settings.localSubscribers > 0 ? `, ${settings.localSubscribers} on A (same-node reference)` : ''}; latency in ms:`,
    ['rate', 'C p50', 'C p90', 'C p99', 'C max', 'C received %', 'C first receipt p50', 'A p50', 'A p99', 'A first receipt p50', 'replication adds p50', 'replication adds p99'],
    summary.map((s) => [
      s.rate,
      s.remoteP50Ms,
      s.remoteP90Ms,
      s.remoteP99Ms,
      s.remoteMaxMs,
      s.remoteReceivedPercent,
      s.remoteFirstReceiptP50Ms,
      s.localP50Ms,
      s.localP99Ms,
      s.localFirstReceiptP50Ms,
      s.replicationAddsP50Ms,
      s.replicationAddsP99Ms,
    ]),
  );
  printTable(
    '(a) Replication to C during the measured phase (medians; CPU in % of one core):',
    ['rate', 'Replicate calls to C', 'mean batch', 'call p50 ms', 'call p99 ms', 'A CPU %', 'B CPU %', 'C CPU %', 'load CPU %', 'driver ack p99 ms', 'other CPU %'],
    summary.map((s) => [s.rate, s.batchesToC, s.meanBatch, s.replicateCallP50Ms, s.replicateCallP99Ms, s.nodeACpuPercent, s.nodeBCpuPercent, s.nodeCCpuPercent, s.loadCpuPercent, s.driverAckP99Ms, s.otherCpuPercent]),
  );
  return summary;
}

function reportThroughput(settings: Settings, runs: readonly ThroughputRunResult[]): Record<string, Record<string, number>> {
  const row = (name: string, p: ThroughputPhase, run: number | string): (string | number)[] => [
    name,
    run,
    p.calls,
    p.acceptedPerSecond,
    p.reachedBPerSecond,
    p.deliveredPerSecond,
    p.lagAfterLastCallMs,
    p.batches.calls,
    p.batches.meanBatch,
    p.dropped,
    p.maxQueueDepth,
    p.a.cpuPercent,
    p.b.cpuPercent,
    p.load.cpuPercent,
    p.otherCpuPercent,
  ];
  printTable(
    'Every run, (b) replication A → B (CPU in % of one core from the first call until B had everything):',
    ['phase', 'run', 'calls on A', 'accepted/s on A', 'reached B /s', 'delivered/s', 'lag after last call ms', 'batches', 'mean batch', 'dropped', 'max queue', 'A CPU %', 'B CPU %', 'load CPU %', 'other CPU %'],
    runs.flatMap((r) => [row('register', r.register, r.run), row('renew', r.renew, r.run)]),
  );
  const summarizePhase = (pick: (r: ThroughputRunResult) => ThroughputPhase): Record<string, number> => ({
    calls: medianOf(runs, (r) => pick(r).calls),
    acceptedPerSecond: medianOf(runs, (r) => pick(r).acceptedPerSecond),
    callP50Ms: medianOf(runs, (r) => pick(r).callP50Ms),
    callP99Ms: medianOf(runs, (r) => pick(r).callP99Ms),
    appliedOnB: medianOf(runs, (r) => pick(r).appliedOnB),
    reachedBPerSecond: medianOf(runs, (r) => pick(r).reachedBPerSecond),
    deliveredPerSecond: medianOf(runs, (r) => pick(r).deliveredPerSecond),
    lagAfterLastCallMs: medianOf(runs, (r) => pick(r).lagAfterLastCallMs),
    batches: medianOf(runs, (r) => pick(r).batches.calls),
    meanBatch: medianOf(runs, (r) => pick(r).batches.meanBatch),
    maxBatch: medianOf(runs, (r) => pick(r).batches.maxBatch),
    replicateCallP50Ms: medianOf(runs, (r) => pick(r).batches.callMs.p50),
    replicateCallP99Ms: medianOf(runs, (r) => pick(r).batches.callMs.p99),
    dropped: medianOf(runs, (r) => pick(r).dropped),
    failures: medianOf(runs, (r) => pick(r).failures),
    maxQueueDepth: medianOf(runs, (r) => pick(r).maxQueueDepth),
    aCpuPercent: medianOf(runs, (r) => pick(r).a.cpuPercent),
    aEventLoopUtilization: medianOf(runs, (r) => pick(r).a.eventLoopUtilization),
    bCpuPercent: medianOf(runs, (r) => pick(r).b.cpuPercent),
    bEventLoopUtilization: medianOf(runs, (r) => pick(r).b.eventLoopUtilization),
    loadCpuPercent: medianOf(runs, (r) => pick(r).load.cpuPercent),
    aCpuPerCallUs: medianOf(runs, (r) => pick(r).aCpuPerCallUs),
    bCpuPerAppliedUs: medianOf(runs, (r) => pick(r).bCpuPerAppliedUs),
    otherCpuPercent: medianOf(runs, (r) => pick(r).otherCpuPercent),
  });
  const summary = { register: summarizePhase((r) => r.register), renew: summarizePhase((r) => r.renew) };
  const g = (s: Record<string, number>, k: string): number => s[k] ?? Number.NaN;
  const over = settings.peerTransport === 'eureka' ? '; A → B over Eureka peer batches (a "Replicate" is one POST …/peerreplication/batch)' : '';
  printTable(
    `(b) Medians of ${settings.runs} run(s): ${settings.inFlight} calls in flight on A over ${settings.connections} connections (${settings.registrations} registrations; renewals for ${settings.renewS} s)${over}:`,
    ['phase', 'accepted/s on A', 'reached B /s', 'A delivered/s', 'lag after last call ms', 'batches', 'mean batch', 'max batch', 'Replicate p50 ms', 'Replicate p99 ms', 'dropped', 'max queue'],
    (['register', 'renew'] as const).map((k) => {
      const s = summary[k];
      return [k, g(s, 'acceptedPerSecond'), g(s, 'reachedBPerSecond'), g(s, 'deliveredPerSecond'), g(s, 'lagAfterLastCallMs'), g(s, 'batches'), g(s, 'meanBatch'), g(s, 'maxBatch'), g(s, 'replicateCallP50Ms'), g(s, 'replicateCallP99Ms'), g(s, 'dropped'), g(s, 'maxQueueDepth')];
    }),
  );
  printTable(
    '(b) CPU (medians, % of one core; per call on A includes replicating it; per applied write on B):',
    ['phase', 'A CPU %', 'A ELU', 'A µs/call', 'B CPU %', 'B ELU', 'B µs/applied', 'load CPU %', 'call p50 ms', 'call p99 ms', 'other CPU %'],
    (['register', 'renew'] as const).map((k) => {
      const s = summary[k];
      return [k, g(s, 'aCpuPercent'), g(s, 'aEventLoopUtilization'), g(s, 'aCpuPerCallUs'), g(s, 'bCpuPercent'), g(s, 'bEventLoopUtilization'), g(s, 'bCpuPerAppliedUs'), g(s, 'loadCpuPercent'), g(s, 'callP50Ms'), g(s, 'callP99Ms'), g(s, 'otherCpuPercent')];
    }),
  );
  return summary;
}

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(25 * 60_000);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });
  const machine = printHeader('herald cluster: cross-node push latency and replication throughput', {
    parts: settings.parts,
    runs: settings.runs,
    rates: settings.rates,
    subscribersOnC: settings.subscribers,
    subscribersOnA: settings.localSubscribers,
    hostsInService: settings.hosts,
    mergeWindowMs: settings.mergeWindowMs,
    replicationBatchDelayMs: settings.batchDelayMs,
    replicationBatchSize: settings.batchSize,
    inFlight: settings.inFlight,
    connections: settings.connections,
    services: settings.services,
    warmupRegistrations: settings.warmupRegistrations,
    registrations: settings.registrations,
    renewS: settings.renewS,
    peerTransport: settings.peerTransport,
    verifyEvictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    client: 'light',
  });

  const pushRuns: PushRunResult[] = [];
  const throughputRuns: ThroughputRunResult[] = [];
  if (settings.parts.includes('push')) {
    for (const rate of settings.rates) {
      for (let run = 1; run <= settings.runs; run++) {
        const r = await undisturbed(`push ${rate}/s run ${run}`, () => pushRun(settings, machine, rate, run));
        pushRuns.push(r);
        console.log(
          `push ${rate}/s run ${run}: on C p50 ${r.remote.latencyMs.p50.toFixed(2)} ms, p99 ${r.remote.latencyMs.p99.toFixed(2)} ms, max ${r.remote.latencyMs.max.toFixed(1)} ms, ` +
            `received ${percent(r.remote.received, r.remote.expected).toFixed(1)} %, skipped ${r.remote.skipped}, missing ${r.remote.missing}; ` +
            (r.local === undefined ? '' : `on A p50 ${r.local.latencyMs.p50.toFixed(2)} ms, p99 ${r.local.latencyMs.p99.toFixed(2)} ms; replication adds p50 ${r.replicationAddsMs?.p50.toFixed(2) ?? '-'} ms; `) +
            `${r.batchesToC.calls} batches to C (mean ${r.batchesToC.meanBatch.toFixed(1)}, call p50 ${r.batchesToC.callMs.p50.toFixed(2)} ms); ` +
            `CPU A/B/C ${r.nodes.map((n) => n.cpuPercent.toFixed(0)).join('/')} %, loads ${r.loads.map((l) => l.cpuPercent.toFixed(0)).join('/')} %, other ${r.otherCpuPercent.toFixed(0)} %`,
        );
      }
    }
  }
  if (settings.parts.includes('throughput')) {
    for (let run = 1; run <= settings.runs; run++) {
      const r = await undisturbed(`throughput run ${run}`, () => throughputRun(settings, machine, run));
      throughputRuns.push(r);
      for (const [name, p] of [
        ['register', r.register],
        ['renew', r.renew],
      ] as const) {
        console.log(
          `throughput run ${run}, ${name}: ${p.calls} calls, ${p.acceptedPerSecond.toFixed(0)}/s accepted on A, ${p.reachedBPerSecond.toFixed(0)}/s reached B (${p.appliedOnB} applied), ` +
            `lag ${p.lagAfterLastCallMs.toFixed(0)} ms, ${fixed(p.batches.calls, 0)} batches (mean ${fixed(p.batches.meanBatch, 0)}, Replicate p50 ${fixed(p.batches.callMs.p50, 1)} ms), ` +
            `dropped ${p.dropped}, max queue ${p.maxQueueDepth}, CPU A ${p.a.cpuPercent.toFixed(0)} % B ${p.b.cpuPercent.toFixed(0)} % load ${p.load.cpuPercent.toFixed(0)} %, other ${p.otherCpuPercent.toFixed(0)} %` +
            (settings.peerTransport === 'eureka'
              ? `; batch failures ${p.failures}, B applied ${p.bWrites.replicatedRegister} registrations and ${p.bWrites.replicatedRenew} renewals, call errors on A ${p.errors}`
              : ''),
        );
      }
    }
  }
  console.log('');
  const pushSummary = pushRuns.length > 0 ? reportPush(settings, pushRuns) : [];
  const throughputSummary = throughputRuns.length > 0 ? reportThroughput(settings, throughputRuns) : {};
  const anomalies = pushRuns.filter((r) => r.remote.regressions + r.remote.streamErrors + r.driverErrors > 0 || r.remote.missing > 0);
  if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} push run(s) had regressions, stream errors, driver errors or missing changes (see JSON)`);
  const file = await writeResults(settings.peerTransport === 'eureka' ? 'cluster-eureka' : 'cluster', { machine, settings, summary: { push: pushSummary, throughput: throughputSummary }, runs: { push: pushRuns, throughput: throughputRuns } });
  console.log(`wrote ${file}`);
  if (settings.profileDir !== undefined) console.log(`CPU profiles in ${settings.profileDir}`);
}

await main();
