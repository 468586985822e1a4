/**
 * Starts the benchmark server (server-main.ts: a HeraldServer, or a cluster node) in its own
 * process and wraps its commands; and the server settings that keep background work out of a
 * measurement.
 */
import { ChildHandle } from './child-handle.js';
import type { ProcessUsage } from './process-usage.js';
import type { PushWorkerSample } from '../push-latency/push-worker-protocol.js';
import type { UdpPushStats } from '../../src/push/udp-pusher.js';
import type { BenchServerConfig, ClusterSample, MemorySample, ServerCommands, ServerStatsSample, WriteCounts } from './server-commands.js';

export const BACKGROUND_INTERVAL_MS = 3_600_000;

/**
 * Self-preservation off, and the eviction and heartbeat-check passes (each walks every instance)
 * pushed out to once an hour.
 */
export function quietServerConfig(extra: BenchServerConfig = {}): BenchServerConfig {
  return {
    ...extra,
    evictionIntervalMs: BACKGROUND_INTERVAL_MS,
    heartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    registry: { ...extra.registry, selfPreservation: false },
  };
}

export interface ServerProcessOptions {
  readonly config: BenchServerConfig;
  /** gRPC port to bind (reserved beforehand); default any free port. */
  readonly port?: number;
  /** HTTP port to bind (reserved beforehand); default any free port. */
  readonly httpPort?: number;
  /** Count registry write events (see `writes()`). */
  readonly countWrites?: boolean;
  /** Shown in errors (default "server"). */
  readonly name?: string;
  /** Start node with --expose-gc (memory measurements). */
  readonly exposeGc?: boolean;
  /** Write a V8 CPU profile of the server into this directory when it exits (node --cpu-prof). */
  readonly cpuProfileDir?: string;
}

export class ServerProcess {
  private constructor(
    private readonly child: ChildHandle<ServerCommands>,
    readonly port: number,
    /** The UDP push socket's port (0 when UDP push is off). */
    readonly udpPort: number,
    /** The HTTP port (Nacos and Eureka APIs; 0 when both are off). */
    readonly httpPort: number,
  ) {}

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const nodeArgs: string[] = [];
    if (options.exposeGc === true) nodeArgs.push('--expose-gc');
    if (options.cpuProfileDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    const child = await ChildHandle.spawn<ServerCommands>({ name: options.name ?? 'server', script: new URL('./server-main.ts', import.meta.url), nodeArgs });
    try {
      const { port, udpPort, httpPort } = await child.request('start', {
        config: options.config,
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
        ...(options.countWrites === undefined ? {} : { countWrites: options.countWrites }),
      });
      return new ServerProcess(child, port, udpPort, httpPort);
    } catch (e) {
      await child.exit();
      throw e;
    }
  }

  /** The server process's id (names its CPU profile file). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  usage(): Promise<ProcessUsage> {
    return this.child.request('usage', undefined);
  }

  memory(gcRounds: number): Promise<MemorySample> {
    return this.child.request('memory', { gcRounds });
  }

  /** Starts push-latency's `--push-workers` experiment in the server process; resolves with the workers' ports. */
  async pushWorkers(arg: ServerCommands['pushWorkers']['arg']): Promise<number[]> {
    return (await this.child.request('pushWorkers', arg)).ports;
  }

  pushWorkerStats(): Promise<PushWorkerSample[]> {
    return this.child.request('pushWorkerStats', undefined);
  }

  stats(): Promise<ServerStatsSample> {
    return this.child.request('stats', undefined);
  }

  udpStats(): Promise<UdpPushStats | undefined> {
    return this.child.request('udp', undefined);
  }

  /** Replication state; `resetCalls` clears the per-call records after reading them. */
  cluster(resetCalls = false): Promise<ClusterSample> {
    return this.child.request('cluster', { resetCalls });
  }

  writes(): Promise<WriteCounts> {
    return this.child.request('writes', undefined);
  }

  /** Graceful close of the server, then the process exits (writing its CPU profile, if any). */
  stop(): Promise<void> {
    return this.child.exit();
  }
}
