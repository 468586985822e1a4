/**
 * The benchmark's server process: one HeraldServer on 127.0.0.1 (port 0, or a reserved port for a
 * cluster node) with a silent logger, driven over IPC (start, memory, stats, udp, cluster, writes,
 * usage, exit). Started by server-process.ts, never by hand.
 *
 * Peer links are the real GrpcPeerLink, wrapped (through the server's peerLinkFactory hook) to count
 * Replicate calls, their batch sizes and durations; the wrapper adds two clock reads per batch.
 * Eureka peer links (`eurekaPeers`) are built by the cluster itself, not through that hook, so their
 * batches are counted the same way by wrapping `EurekaPeerLink.prototype.replicate` in this process.
 */
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import type { PeerAnswer, PeerLink, ReplicationTask } from '../../src/cluster/peer-link.js';
import { EurekaPeerLink } from '../../src/server/eureka/eureka-peer-link.js';
import { GrpcPeerLink } from '../../src/server/peer/grpc-peer-link.js';
import { silentLogger } from '../../src/common/logger.js';
import type { WriteEvent } from '../../src/core/registry.js';
import { HeraldServer } from '../../src/server/herald-server.js';
import { PushWorkers } from '../push-latency/push-workers.js';
import { serveCommands } from './command-loop.js';
import type { ClusterSample, MemorySample, ReplicateCallStats, ServerCommands, WriteCounts } from './server-commands.js';

let server: HeraldServer | undefined;
let pushWorkers: PushWorkers | undefined;

/** Per-peer record of Replicate calls. */
class CallRecord {
  calls = 0;
  failedCalls = 0;
  tasks = 0;
  maxBatch = 0;
  callMs: number[] = [];
  batchSizes: number[] = [];

  constructor(readonly address: string) {}

  reset(): void {
    this.calls = 0;
    this.failedCalls = 0;
    this.tasks = 0;
    this.maxBatch = 0;
    this.callMs = [];
    this.batchSizes = [];
  }

  snapshot(): ReplicateCallStats {
    return {
      address: this.address,
      calls: this.calls,
      failedCalls: this.failedCalls,
      tasks: this.tasks,
      maxBatch: this.maxBatch,
      callMs: Float64Array.from(this.callMs),
      batchSizes: Int32Array.from(this.batchSizes),
    };
  }
}

const callRecords: CallRecord[] = [];

/** Calls `replicate` and records it (batch size, duration, or a failure) in `record`. */
type Replicate = (nodeId: string, tasks: readonly ReplicationTask[]) => Promise<{ nodeId: string; answers: PeerAnswer[] }>;

async function countedReplicate(record: CallRecord, nodeId: string, tasks: readonly ReplicationTask[], replicate: Replicate): Promise<{ nodeId: string; answers: PeerAnswer[] }> {
  const t0 = performance.now();
  try {
    const res = await replicate(nodeId, tasks);
    record.calls++;
    record.tasks += tasks.length;
    record.maxBatch = Math.max(record.maxBatch, tasks.length);
    record.callMs.push(performance.now() - t0);
    record.batchSizes.push(tasks.length);
    return res;
  } catch (e) {
    record.failedCalls++;
    throw e;
  }
}

/** A GrpcPeerLink whose Replicate calls are counted and timed. */
function countingLink(address: string, secret: string | undefined, callTimeoutMs: number): PeerLink {
  const inner = new GrpcPeerLink(address, secret, callTimeoutMs);
  const record = new CallRecord(address);
  callRecords.push(record);
  return {
    address,
    replicate: (nodeId, tasks) => countedReplicate(record, nodeId, tasks, (n, t) => inner.replicate(n, t)),
    syncRegistry: (nodeId, deadlineMs) => inner.syncRegistry(nodeId, deadlineMs),
    listDigests: (nodeId) => inner.listDigests(nodeId),
    fetchServices: (nodeId, services) => inner.fetchServices(nodeId, services),
    close: () => {
      inner.close();
    },
  };
}

/** Every EurekaPeerLink in this process counts its batches too, one record per service URL. */
function countEurekaBatches(): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the link as `this`
  const replicate = EurekaPeerLink.prototype.replicate;
  const records = new Map<string, CallRecord>();
  EurekaPeerLink.prototype.replicate = function (this: EurekaPeerLink, nodeId: string, tasks: readonly ReplicationTask[]): Promise<{ nodeId: string; answers: PeerAnswer[] }> {
    let record = records.get(this.address);
    if (record === undefined) {
      record = new CallRecord(this.address);
      records.set(this.address, record);
      callRecords.push(record);
    }
    return countedReplicate(record, nodeId, tasks, (n, t) => replicate.call(this, n, t));
  };
}

countEurekaBatches();

const writes = { register: 0, renew: 0, other: 0, replicatedRegister: 0, replicatedRenew: 0, replicatedOther: 0 };

function countWrite(e: WriteEvent): void {
  if (e.kind === 'register') {
    if (e.replication) writes.replicatedRegister++;
    else writes.register++;
  } else if (e.kind === 'renew') {
    if (e.replication) writes.replicatedRenew++;
    else writes.renew++;
  } else if (e.replication) writes.replicatedOther++;
  else writes.other++;
}

function clusterSample(resetCalls: boolean): ClusterSample {
  const s = running();
  const node = s.clusterNode;
  const sample = { nodeId: node?.nodeId ?? '', peers: node?.status() ?? [], replicateCalls: callRecords.map((r) => r.snapshot()) };
  if (resetCalls) for (const r of callRecords) r.reset();
  return sample;
}

function running(): HeraldServer {
  if (server === undefined) throw new Error('server not started');
  return server;
}

async function memory(gcRounds: number): Promise<MemorySample> {
  if (gcRounds > 0) {
    const gc = globalThis.gc;
    if (gc === undefined) throw new Error('memory sampling with gc needs node --expose-gc');
    // Several full collections with turns in between, so finalizers and weak maps settle.
    for (let i = 0; i < gcRounds; i++) {
      gc();
      await delay(20);
    }
  }
  const m = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeBytes: s.space_size, usedBytes: s.space_used_size }));
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers, spaces };
}

serveCommands<ServerCommands>(
  {
    start: async ({ config, port = 0, httpPort = 0, countWrites = false }) => {
      if (server !== undefined) throw new Error('server already started');
      // Every listener on 127.0.0.1; the HTTP API on a free port (it defaults to 8848) unless one is given.
      server = await HeraldServer.start({
        logger: silentLogger,
        config: { ...config, host: '127.0.0.1', port, httpPort },
        peerLinkFactory: countingLink,
      });
      if (countWrites) server.registry.onWrite(countWrite);
      return { port: server.port, udpPort: server.udp?.port ?? 0, httpPort: server.httpPort ?? 0 };
    },
    pushWorkers: async ({ count, service, sliceSize, maxPushesInFlight }) => {
      if (pushWorkers !== undefined) throw new Error('push workers already started');
      pushWorkers = await PushWorkers.start({ hub: running().hub, service, count, sliceSize, maxPushesInFlight });
      return { ports: pushWorkers.ports };
    },
    pushWorkerStats: () => pushWorkers?.sample() ?? [],
    memory: ({ gcRounds }) => memory(gcRounds),
    stats: () => {
      const s = running();
      const hub = s.stats();
      const reg = s.registry.stats();
      return { instances: reg.instances, services: reg.services, subscribers: hub.subscribers, streams: hub.streams, delivered: s.hub.delivered };
    },
    udp: () => running().udp?.stats(),
    cluster: ({ resetCalls }) => clusterSample(resetCalls),
    writes: (): WriteCounts => ({ ...writes }),
  },
  {
    beforeExit: async () => {
      await pushWorkers?.close();
      await server?.close();
    },
  },
);
