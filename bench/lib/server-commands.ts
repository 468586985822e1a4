/** The commands of the benchmark server process (bench/lib/server-main.ts), shared by both ends. */
import type { RegistryOptions } from '../../src/core/options.js';
import type { ServerConfig } from '../../src/server/config.js';

/** A server configuration that travels over IPC (plain data). Host is always 127.0.0.1, ports 0. */
export type BenchServerConfig = Partial<Omit<ServerConfig, 'host' | 'port' | 'httpPort' | 'registry'>> & {
  readonly registry?: Partial<RegistryOptions>;
};

export interface MemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  /** V8 heap spaces (v8.getHeapSpaceStatistics): reserved size and used bytes of each. */
  readonly spaces: readonly { readonly name: string; readonly sizeBytes: number; readonly usedBytes: number }[];
}

export interface ServerStatsSample {
  readonly instances: number;
  readonly services: number;
  readonly subscribers: number;
  readonly streams: number;
  /** Snapshots handed to subscribers since start (initial ones included). */
  readonly delivered: number;
}

export interface ServerCommands {
  start: { arg: BenchServerConfig; result: { port: number } };
  /** Runs gc() `gcRounds` times (needs --expose-gc when > 0), then samples memory. */
  memory: { arg: { gcRounds: number }; result: MemorySample };
  stats: { arg: undefined; result: ServerStatsSample };
}
