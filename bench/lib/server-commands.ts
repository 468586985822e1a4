/** The commands of the benchmark server process (bench/lib/server-main.ts), shared by both ends. */
import type { PeerView } from '../../src/cluster/cluster.js';
import type { RegistryOptions } from '../../src/core/options.js';
import type { UdpPushStats } from '../../src/push/udp-pusher.js';
import type { ServerConfig } from '../../src/server/config.js';

/**
 * A server configuration that travels over IPC (plain data). Host is always 127.0.0.1; the gRPC and
 * HTTP ports are 0 unless the start command gives them (cluster nodes).
 */
export type BenchServerConfig = Partial<Omit<ServerConfig, 'host' | 'port' | 'httpPort' | 'registry'>> & {
  readonly registry?: Partial<RegistryOptions>;
};

export interface BenchServerStart {
  readonly config: BenchServerConfig;
  /** gRPC port (reserved beforehand, for cluster nodes whose peers must know it); 0 = any free one. */
  readonly port?: number;
  /** HTTP port (Nacos and Eureka APIs; reserved beforehand when a Eureka peer must know it); 0 = any free one. */
  readonly httpPort?: number;
  /** Count the registry's write events by kind (a listener on every write; off unless asked). */
  readonly countWrites?: boolean;
}

/** Registry write events since start, by kind, split into client writes and replications from peers. */
export interface WriteCounts {
  readonly register: number;
  readonly renew: number;
  readonly other: number;
  readonly replicatedRegister: number;
  readonly replicatedRenew: number;
  readonly replicatedOther: number;
}

/**
 * Replicate calls this node made to one peer (counted by a wrapper around its peer link; for a
 * Eureka peer, `address` is its service URL and a call is one `POST …/peerreplication/batch`).
 */
export interface ReplicateCallStats {
  readonly address: string;
  /** Replicate calls (batches) sent, and those that failed. */
  readonly calls: number;
  readonly failedCalls: number;
  /** Tasks in those batches. */
  readonly tasks: number;
  /** Largest batch. */
  readonly maxBatch: number;
  /** Duration of each call (request sent to response decoded), ms, in call order. */
  readonly callMs: Float64Array;
  /** Size of each batch, in call order. */
  readonly batchSizes: Int32Array;
}

export interface ClusterSample {
  readonly nodeId: string;
  /** Each peer's dispatcher (delivered, queue depth, dropped, failures, state). */
  readonly peers: readonly PeerView[];
  readonly replicateCalls: readonly ReplicateCallStats[];
}

export interface MemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  /** V8 heap spaces (v8.getHeapSpaceStatistics): reserved size and used bytes of each. */
  readonly spaces: readonly { readonly name: string; readonly sizeBytes: number; readonly usedBytes: number }[];
}

import type { PushWorkerSample } from '../push-latency/push-worker-protocol.js';

export interface ServerStatsSample {
  readonly instances: number;
  readonly services: number;
  readonly subscribers: number;
  readonly streams: number;
  /** Snapshots handed to subscribers since start (initial ones included). */
  readonly delivered: number;
}

export interface ServerCommands {
  /** push-latency's `--push-workers` experiment: N worker threads serving Subscribe of `service` on ports of their own. */
  pushWorkers: { arg: { count: number; service: string; sliceSize: number; maxPushesInFlight: number }; result: { ports: number[] } };
  /** The push workers' counters (empty without them). */
  pushWorkerStats: { arg: undefined; result: PushWorkerSample[] };
  start: { arg: BenchServerStart; result: { port: number; udpPort: number; httpPort: number } };
  /** Runs gc() `gcRounds` times (needs --expose-gc when > 0), then samples memory. */
  memory: { arg: { gcRounds: number }; result: MemorySample };
  stats: { arg: undefined; result: ServerStatsSample };
  /** The UDP pusher's counters (undefined when UDP push is off). */
  udp: { arg: undefined; result: UdpPushStats | undefined };
  /** The cluster's replication state; `resetCalls` starts the per-call records afresh. */
  cluster: { arg: { resetCalls: boolean }; result: ClusterSample };
  /** Registry write counts (needs `countWrites` at start). */
  writes: { arg: undefined; result: WriteCounts };
}
