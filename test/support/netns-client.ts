/**
 * Drives a client process inside a node's namespace (netns-client-agent.ts, run with
 * `ip netns exec <ns> node --import tsx`): the test sends commands, the process runs them one at a
 * time against its node and reports each outcome as the server gave it. A client in node k's
 * namespace reaches node k even while node k is cut off from everyone else.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { AgentCommand, AgentEvent, AgentReply } from './netns-client-agent.js';
import { cleanEnv, REPO_ROOT } from './netns-node.js';
import type { PartitionNetwork } from './netns.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ClientCommand = DistributiveOmit<AgentCommand, 'seq'>;

export class NetnsClient {
  readonly events: AgentEvent[] = [];
  readonly stderr: string[] = [];
  private seq = 0;
  private readonly pending = new Map<number, (r: AgentReply) => void>();
  private readonly exited: Promise<number | null>;
  private ready: Promise<void>;

  private constructor(
    /** Which node's namespace it runs in, and the node it talks to. */
    readonly k: number,
    private readonly proc: ChildProcessByStdio<Writable, Readable, Readable>,
  ) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.stderr.push(line);
        return;
      }
      if (typeof msg.seq === 'number') {
        this.pending.get(msg.seq)?.(msg as unknown as AgentReply);
        this.pending.delete(msg.seq);
      } else {
        const event = msg as AgentEvent;
        this.events.push(event);
        if (event.event === 'ready') markReady();
      }
    });
    createInterface({ input: proc.stderr }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        const gone: AgentReply = { seq: -1, ok: false, code: -1, details: `client process in node${k}'s namespace exited (${code}): ${this.stderr.slice(-5).join(' | ')}` };
        for (const [seq, p] of this.pending) p({ ...gone, seq });
        this.pending.clear();
        resolve(code);
      });
    });
  }

  /** Starts a client in node k's namespace talking to `server` (host:port); resolves once it runs. */
  static async start(net: PartitionNetwork, k: number, server: string): Promise<NetnsClient> {
    const proc = spawn('ip', ['netns', 'exec', net.namespace(k), process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test', 'support', 'netns-client-agent.ts'), server], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: cleanEnv(),
      cwd: REPO_ROOT,
    });
    const client = new NetnsClient(k, proc);
    await Promise.race([
      client.ready,
      client.exited.then((code) => {
        throw new Error(`client in node${k}'s namespace exited (${code}) before it was ready: ${client.stderr.join('\n')}`);
      }),
    ]);
    return client;
  }

  /** Sends one command; resolves with its outcome (commands run in the order they are sent). */
  send(command: ClientCommand): Promise<AgentReply> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.proc.stdin.write(`${JSON.stringify({ ...command, seq })}\n`);
    });
  }

  /** Ends the process (closing stdin ends it; SIGKILL if it lingers). Idempotent. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2_000);
    await this.exited;
    clearTimeout(timer);
  }
}
