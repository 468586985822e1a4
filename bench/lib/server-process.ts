/** Starts the benchmark server in its own process and wraps its commands. */
import { ChildHandle } from './child-handle.js';
import type { ProcessUsage } from './process-usage.js';
import type { BenchServerConfig, MemorySample, ServerCommands, ServerStatsSample } from './server-commands.js';

export interface ServerProcessOptions {
  readonly config: BenchServerConfig;
  /** Start node with --expose-gc (memory measurements). */
  readonly exposeGc?: boolean;
  /** Write a V8 CPU profile of the server into this directory when it exits (node --cpu-prof). */
  readonly cpuProfileDir?: string;
}

export class ServerProcess {
  private constructor(
    private readonly child: ChildHandle<ServerCommands>,
    readonly port: number,
  ) {}

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const nodeArgs: string[] = [];
    if (options.exposeGc === true) nodeArgs.push('--expose-gc');
    if (options.cpuProfileDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    const child = await ChildHandle.spawn<ServerCommands>({ name: 'server', script: new URL('./server-main.ts', import.meta.url), nodeArgs });
    try {
      const { port } = await child.request('start', options.config);
      return new ServerProcess(child, port);
    } catch (e) {
      await child.exit();
      throw e;
    }
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

  stats(): Promise<ServerStatsSample> {
    return this.child.request('stats', undefined);
  }

  /** Graceful close of the server, then the process exits (writing its CPU profile, if any). */
  stop(): Promise<void> {
    return this.child.exit();
  }
}
