/**
 * One real `herald serve` process of a fault test: started on a reserved port with its flags,
 * killable (SIGKILL), restartable on the same port, freezable (SIGSTOP / SIGCONT), with every JSON
 * log line it writes kept (across restarts) so a caller can wait on events and print its tail.
 * FaultCluster (fault-cluster.ts) puts several together.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { ClusterServiceClient, type GetClusterStatusResponse } from '../../src/gen/herald/v1/peer_service.js';

/** The repository root (bin/herald.js runs from here, over dist/). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux everywhere in practice). */
const CLOCK_TICKS_PER_S = 100;

/** The limits a node runs under (FaultCluster fills them from its options). */
export interface FaultNodeLimits {
  readonly startTimeoutMs: number;
  readonly maxLogLines: number;
  readonly callDeadlineMs: number;
}

export interface LogLine {
  /** Position in this node's log (monotonic across restarts); pass to `after` to wait for newer lines. */
  readonly seq: number;
  /** Which start of the node printed it (1 = the first). */
  readonly incarnation: number;
  readonly stream: 'stdout' | 'stderr';
  /** When this process read the line (Date.now()). */
  readonly receivedAtMs: number;
  /** pino's `msg`, or the raw line when it is not JSON. */
  readonly msg: string;
  /** pino's level name (`info`, `warn`, …), or '' when the line is not JSON. */
  readonly level: string;
  /** Every field of the JSON line (empty when it is not JSON). */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly raw: string;
}

export type LogMatcher = RegExp | ((line: LogLine) => boolean);

export type NodeState = 'running' | 'frozen' | 'killed' | 'exited';

export interface NodeSummary {
  readonly name: string;
  readonly address: string;
  readonly state: NodeState;
  readonly pid: number | undefined;
  readonly incarnation: number;
}

const killers = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const kill of killers) kill();
  });
}

/** One free port: bind 127.0.0.1:0, read the port, close. */
function onePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        if (port === 0) reject(new Error('no free port'));
        else resolve(port);
      });
    });
  });
}

/**
 * `n` distinct free ports on 127.0.0.1, reserved for nodes that must list each other before they
 * start. Another process could take one in between; a node that cannot bind fails its start loudly.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await onePort());
  return [...ports];
}

function parseLine(raw: string): { msg: string; level: string; fields: Record<string, unknown> } {
  if (raw.startsWith('{')) {
    try {
      const fields = JSON.parse(raw) as unknown;
      if (typeof fields === 'object' && fields !== null && !Array.isArray(fields)) {
        const f = fields as Record<string, unknown>;
        return { msg: typeof f.msg === 'string' ? f.msg : raw, level: typeof f.level === 'string' ? f.level : '', fields: f };
      }
    } catch {
      // not JSON after all: keep it raw
    }
  }
  return { msg: raw, level: '', fields: {} };
}

const matches = (m: LogMatcher, line: LogLine): boolean => (typeof m === 'function' ? m(line) : m.test(line.msg) || m.test(line.raw));

interface Waiter {
  readonly matcher: LogMatcher;
  readonly after: number;
  readonly resolve: (l: LogLine) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One node: its port and flags stay fixed across restarts. */
export class FaultNode {
  readonly nodeId: string;
  readonly address: string;
  private proc: ChildProcessByStdio<null, Readable, Readable> | undefined;
  private exitedPromise: Promise<void> = Promise.resolve();
  private stateValue: NodeState = 'exited';
  private incarnationValue = 0;
  private nextSeq = 0;
  private readonly lines: LogLine[] = [];
  private waiters: Waiter[] = [];
  private transport: RegistryTransport | undefined;
  private statusClient: ClusterServiceClient | undefined;
  /** CPU ticks of earlier incarnations (sampled just before each was killed). */
  private earlierCpuTicks = 0;
  private readonly killer = (): void => {
    if (this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  };

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: readonly string[],
    private readonly options: FaultNodeLimits,
  ) {
    this.nodeId = `node${name}`;
    this.address = `127.0.0.1:${port}`;
  }

  get state(): NodeState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.stateValue === 'running' || this.stateValue === 'frozen' ? this.proc?.pid : undefined;
  }

  /** 1 after the first start, 2 after the first restart, … */
  get incarnation(): number {
    return this.incarnationValue;
  }

  /** The exact command-line arguments after `node` (the same on every start). */
  get commandLine(): readonly string[] {
    return this.args;
  }

  /** Starts the node (again) on its port with its flags; resolves once it prints "herald is serving". */
  async start(): Promise<void> {
    if (this.stateValue === 'running' || this.stateValue === 'frozen') throw new Error(`node ${this.name} is already running`);
    this.incarnationValue++;
    const incarnation = this.incarnationValue;
    const after = this.logCursor();
    const proc = spawn(process.execPath, this.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    this.proc = proc;
    this.stateValue = 'running';
    killers.add(this.killer);
    installExitHook();
    this.exitedPromise = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        if (this.proc === proc) {
          if (this.stateValue !== 'killed') this.stateValue = 'exited';
          this.push('stderr', incarnation, JSON.stringify({ level: 'harness', msg: `process exited (${signal ?? String(code)})` }));
          const error = new Error(`node ${this.name} exited (${signal ?? String(code)})`);
          for (const w of this.waiters) {
            clearTimeout(w.timer);
            w.reject(error);
          }
          this.waiters = [];
          killers.delete(this.killer);
        }
        resolve();
      });
    });
    createInterface({ input: proc.stdout }).on('line', (l) => {
      this.push('stdout', incarnation, l);
    });
    createInterface({ input: proc.stderr }).on('line', (l) => {
      this.push('stderr', incarnation, l);
    });
    const serving = await this.waitForLog(/herald is serving/, { after, timeoutMs: this.options.startTimeoutMs }).catch((e: unknown) => {
      this.killer();
      throw new Error(`node ${this.name} did not start: ${e instanceof Error ? e.message : String(e)}\n${this.tail(30)}`);
    });
    const address = serving.fields.address;
    if (address !== this.address) {
      this.killer();
      throw new Error(`node ${this.name} serves on ${String(address)}, not ${this.address}`);
    }
  }

  /** Starts the node again after kill9() (same port, same flags). */
  restart(): Promise<void> {
    return this.start();
  }

  /** SIGKILL (kill -9); resolves once the process is gone. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !(this.stateValue === 'running' || this.stateValue === 'frozen')) throw new Error(`node ${this.name} is not running`);
    this.earlierCpuTicks += this.currentCpuTicks();
    this.stateValue = 'killed';
    this.dropTransport();
    proc.kill('SIGKILL');
    await this.exitedPromise;
  }

  /** SIGSTOP: the process keeps its sockets and memory but runs nothing until thaw(). */
  freeze(): void {
    if (this.proc === undefined || this.stateValue !== 'running') throw new Error(`node ${this.name} is not running`);
    this.proc.kill('SIGSTOP');
    this.stateValue = 'frozen';
  }

  /** SIGCONT after freeze(). */
  thaw(): void {
    if (this.proc === undefined || this.stateValue !== 'frozen') throw new Error(`node ${this.name} is not frozen`);
    this.proc.kill('SIGCONT');
    this.stateValue = 'running';
  }

  /** Ends the process: SIGTERM (after SIGCONT if frozen), then SIGKILL when `graceMs` passes. */
  async terminate(graceMs = 5_000): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !(this.stateValue === 'running' || this.stateValue === 'frozen')) return;
    this.dropTransport();
    if (this.stateValue === 'frozen') proc.kill('SIGCONT');
    this.stateValue = 'exited';
    proc.kill('SIGTERM');
    const timer = setTimeout(this.killer, graceMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }

  /** SIGKILL whatever runs (also a frozen process); idempotent. */
  async destroy(): Promise<void> {
    this.dropTransport();
    if (this.proc !== undefined && (this.stateValue === 'running' || this.stateValue === 'frozen')) {
      this.stateValue = 'killed';
      this.killer();
    }
    await this.exitedPromise;
  }

  /**
   * A RegistryTransport to this node's current incarnation (one per incarnation, closed when the
   * node is killed or the cluster closed), with short reconnect back-off so a restarted node is
   * reached at once.
   */
  client(): RegistryTransport {
    this.transport ??= new RegistryTransport(this.address, {
      deadlineMs: this.options.callDeadlineMs,
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 500, 'grpc.min_reconnect_backoff_ms': 50 },
    });
    return this.transport;
  }

  /** This node's view of its peers (herald.v1.ClusterService/GetClusterStatus): queues, drops, state. */
  clusterStatus(): Promise<GetClusterStatusResponse> {
    this.statusClient ??= new ClusterServiceClient(this.address, credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 500, 'grpc.min_reconnect_backoff_ms': 50 });
    const client = this.statusClient;
    return new Promise((resolve, reject) => {
      client.getClusterStatus({}, new Metadata(), { deadline: Date.now() + this.options.callDeadlineMs }, (e: ServiceError | null, r: GetClusterStatusResponse) => {
        if (e) reject(e);
        else resolve(r);
      });
    });
  }

  /** The position after the newest log line; lines printed later have a greater `seq`. */
  logCursor(): number {
    return this.nextSeq;
  }

  /** Every kept log line (optionally only those after a cursor, or matching). */
  logs(filter: { after?: number; match?: LogMatcher } = {}): LogLine[] {
    const after = filter.after ?? -1;
    const match = filter.match;
    return this.lines.filter((l) => l.seq >= after && (match === undefined || matches(match, l)));
  }

  /**
   * Resolves with the first line after `after` (default: any line already kept) matching; rejects
   * when the node exits first or `timeoutMs` (default 30 s) passes.
   */
  waitForLog(matcher: LogMatcher, opts: { after?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    const after = opts.after ?? 0;
    const seen = this.lines.find((l) => l.seq >= after && matches(matcher, l));
    if (seen !== undefined) return Promise.resolve(seen);
    if (!(this.stateValue === 'running' || this.stateValue === 'frozen')) return Promise.reject(new Error(`node ${this.name} is not running (waiting for ${String(matcher)})`));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<LogLine>((resolve, reject) => {
      const waiter: Waiter = {
        matcher,
        after,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`node ${this.name}: no log line matching ${String(matcher)} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The last `n` log lines as text, one per line, prefixed with the node and incarnation. */
  tail(n = 20): string {
    return this.lines
      .slice(-n)
      .map((l) => `  ${this.name}#${l.incarnation} ${l.raw}`)
      .join('\n');
  }

  /** CPU time used by every incarnation so far, ms (Linux /proc; NaN elsewhere). */
  cpuMs(): number {
    return ((this.earlierCpuTicks + this.currentCpuTicks()) * 1000) / CLOCK_TICKS_PER_S;
  }

  summary(): NodeSummary {
    return { name: this.name, address: this.address, state: this.stateValue, pid: this.pid, incarnation: this.incarnationValue };
  }

  private currentCpuTicks(): number {
    const pid = this.pid;
    if (pid === undefined) return 0;
    try {
      // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime the 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(rest[11]) + Number(rest[12]);
    } catch {
      return Number.NaN;
    }
  }

  private dropTransport(): void {
    this.transport?.close();
    this.transport = undefined;
    this.statusClient?.close();
    this.statusClient = undefined;
  }

  private push(stream: 'stdout' | 'stderr', incarnation: number, raw: string): void {
    const { msg, level, fields } = parseLine(raw);
    const line: LogLine = { seq: this.nextSeq++, incarnation, stream, receivedAtMs: Date.now(), msg, level, fields, raw };
    this.lines.push(line);
    if (this.lines.length > this.options.maxLogLines) this.lines.splice(0, this.lines.length - this.options.maxLogLines);
    if (this.waiters.length === 0) return;
    for (const w of [...this.waiters]) {
      if (line.seq >= w.after && matches(w.matcher, line)) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(line);
      }
    }
  }
}

