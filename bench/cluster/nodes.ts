/**
 * The cluster benchmark's nodes: every node a server process (lib/server-main.ts) on 127.0.0.1, on
 * a port reserved just before it starts, since each lists the others as peers; and what the
 * benchmark reads of them (the peer views and Replicate-call records of a node's cluster sample).
 * Anti-entropy, eviction and the heartbeat check run once an hour, so they neither run nor repair
 * anything during a measurement.
 */
import { createServer } from 'node:net';
import type { PeerView } from '../../src/cluster/cluster.js';
import type { BenchServerConfig, ClusterSample, ReplicateCallStats } from '../lib/server-commands.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from '../lib/server-process.js';
import { summarize, type LatencySummary } from '../lib/stats.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';

export const NODE_NAMES = ['A', 'B', 'C'] as const;

export type Part = 'push' | 'throughput';
export type PeerTransport = 'grpc' | 'eureka';

/** The cluster benchmark's settings (bench/cluster.ts reads them from its flags). */
export interface ClusterSettings {
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

/**
 * A free TCP port on 127.0.0.1, found by binding port 0 and closing again. Another process could
 * take it in between; on a benchmark machine that does not happen in practice, and a node that
 * cannot bind fails its start loudly.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        if (port === 0) reject(new Error('no port'));
        else resolve(port);
      });
    });
  });
}

/** `n` distinct free ports. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function replicationConfig(settings: ClusterSettings): BenchServerConfig {
  return {
    mergeWindowMs: settings.mergeWindowMs,
    replicationBatchDelayMs: settings.batchDelayMs,
    replicationBatchSize: settings.batchSize,
    syncTimeoutMs: 5_000,
    verifyIntervalMs: BACKGROUND_INTERVAL_MS,
  };
}

const profiled = (settings: ClusterSettings): { cpuProfileDir?: string } => (settings.profileDir === undefined ? {} : { cpuProfileDir: settings.profileDir });

/** Starts `n` nodes (A, B, C…) in parallel, each listing all of them as peers. */
export async function startCluster(settings: ClusterSettings, n: number): Promise<ServerProcess[]> {
  const ports = await freePorts(n);
  const config = quietServerConfig({ peers: ports.map((p) => `127.0.0.1:${p}`), ...replicationConfig(settings) });
  const started = await Promise.allSettled(
    ports.map((port, i) => ServerProcess.start({ name: `node-${NODE_NAMES[i] ?? String(i)}`, config, port, countWrites: true, ...profiled(settings) })),
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
export async function startEurekaPair(settings: ClusterSettings): Promise<{ nodes: ServerProcess[]; bUrl: string }> {
  const [bHttpPort] = await freePorts(1);
  if (bHttpPort === undefined) throw new Error('no free port for B');
  const bUrl = `http://127.0.0.1:${bHttpPort}/eureka`;
  const common = replicationConfig(settings);
  const b = await ServerProcess.start({ name: 'node-B', config: quietServerConfig(common), httpPort: bHttpPort, countWrites: true, ...profiled(settings) });
  let a: ServerProcess;
  try {
    a = await ServerProcess.start({ name: 'node-A', config: quietServerConfig({ ...common, eurekaPeers: [bUrl] }), countWrites: true, ...profiled(settings) });
  } catch (e) {
    await b.stop();
    throw e;
  }
  if (b.httpPort !== bHttpPort) throw new Error(`B listens for HTTP on ${b.httpPort}, not the reserved ${bHttpPort}`);
  if (settings.profileDir !== undefined) console.log(`profiling nodes A=pid ${String(a.pid)}, B=pid ${String(b.pid)}`);
  return { nodes: [a, b], bUrl };
}

export function node(nodes: readonly ServerProcess[], i: number): ServerProcess {
  const n = nodes[i];
  if (n === undefined) throw new Error(`no node ${NODE_NAMES[i] ?? String(i)}`);
  return n;
}

/** Polls `check` every `everyMs` until it holds; resolves with the wall time it first held, or throws after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return wallNowMs();
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A peer as A names it: a gRPC peer by its port (`host:port`), a Eureka peer by its service URL. */
export type PeerId = number | string;

function isPeer(address: string, peer: PeerId): boolean {
  return typeof peer === 'number' ? address.endsWith(`:${peer}`) : address === peer;
}

export function peerTo(sample: ClusterSample, peer: PeerId): PeerView {
  const p = sample.peers.find((v) => isPeer(v.address, peer));
  if (p === undefined) throw new Error(typeof peer === 'number' ? `no peer on port ${peer}` : `no peer ${peer}`);
  return p;
}

/** Replicate calls (batches) to one peer within a phase. */
export interface BatchStats {
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

/**
 * Batches to a peer. A gRPC peer's calls are always recorded (its link is made through the
 * server's link factory); for a Eureka peer all figures are NaN (shown as "-") when nothing
 * recorded them.
 */
export function batchStatsTo(sample: ClusterSample, peer: PeerId): BatchStats {
  const c = sample.replicateCalls.find((v) => isPeer(v.address, peer));
  if (c !== undefined) return batchStats(c);
  if (typeof peer === 'number') throw new Error(`no replicate calls recorded to port ${peer}`);
  return { calls: Number.NaN, failedCalls: Number.NaN, tasks: Number.NaN, meanBatch: Number.NaN, maxBatch: Number.NaN, callMs: summarize([]) };
}
