/**
 * The parent side of the IPC protocol: forks a TypeScript child under tsx and sends it typed
 * commands. Every child is tracked so a watchdog (or Ctrl-C) can end them all by their process id.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isReady, isResponse, type BuiltinCommands, type Commands } from './ipc-protocol.js';
import type { ProcessUsage } from './process-usage.js';

export interface SpawnOptions {
  /** Shown in errors. */
  readonly name: string;
  /** The child's entry module. */
  readonly script: URL;
  /** Extra Node flags, e.g. --expose-gc or --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Arguments of the script. */
  readonly args?: readonly string[];
  /** Load the script through tsx (default true; false for a plain JavaScript entry such as bin/herald.js). */
  readonly tsx?: boolean;
  /** Pipe the child's stderr to the parent (read it through `stderr`) instead of inheriting it. */
  readonly pipeStderr?: boolean;
  /** Extra environment variables (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** A child's own commands plus the built-in ones. */
type All<C> = C & BuiltinCommands;

const live = new Set<ChildProcess>();

/** Tracks a process spawned without the IPC protocol (another registry's server) so killAllChildren ends it too. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
  });
}

/** SIGKILLs every child still running (watchdog and signal path only). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

const tsxLoader = import.meta.resolve('tsx');

export class ChildHandle<C extends Commands<C>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        live.delete(child);
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${String(code)}) with a command pending`));
        this.pending.clear();
        resolve(code);
      });
    });
    child.on('message', (message: unknown) => {
      if (!isResponse(message)) return;
      const p = this.pending.get(message.id);
      if (p === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) p.resolve(message.result);
      else p.reject(new Error(`${name}: ${message.error}`));
    });
  }

  /** Forks the child and resolves once it has announced that it is ready for commands. */
  static spawn<C extends Commands<C>>(options: SpawnOptions): Promise<ChildHandle<C>> {
    const child = fork(fileURLToPath(options.script), [...(options.args ?? [])], {
      execArgv: [...(options.tsx === false ? [] : ['--import', tsxLoader]), ...(options.nodeArgs ?? [])],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', options.pipeStderr === true ? 'pipe' : 'inherit', 'ipc'],
      ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    });
    live.add(child);
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => {
        reject(new Error(`${options.name} exited (code ${String(code)}) before it was ready`));
      };
      child.once('exit', onExit);
      child.once('error', reject);
      const onMessage = (message: unknown): void => {
        if (!isReady(message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', reject);
        resolve(new ChildHandle<C>(options.name, child));
      };
      child.on('message', onMessage);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The child's stderr when spawned with `pipeStderr`, else null. */
  get stderr(): Readable | null {
    return this.child.stderr;
  }

  /** Resolves with the exit code (null when ended by a signal) once the child has exited. */
  get exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** Sends a signal to the child (SIGSTOP, SIGCONT, SIGKILL: the abandoned-subscriber experiments). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /**
   * Sends one command and resolves with the child's answer. The answer's type is the one the
   * command map declares (both ends share the map; this is the single unchecked boundary).
   */
  request<K extends keyof All<C> & string>(command: K, arg: All<C>[K]['arg']): Promise<All<C>[K]['result']> {
    const id = this.nextId++;
    return new Promise<All<C>[K]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ kind: 'request', id, command, arg }, (err) => {
        if (err === null) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Asks the child to clean up and exit; kills it if it has not exited within `timeoutMs`. */
  async exit(timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      await this.request('exit', undefined).catch(() => undefined);
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The child's CPU and event-loop counters now (every child answers `usage`). */
  usage(): Promise<ProcessUsage> {
    return this.request('usage', undefined);
  }
}
