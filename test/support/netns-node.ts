/**
 * `herald serve` (bin/herald.js over dist/) run inside a node's network namespace with
 * `ip netns exec`, its stderr JSON log lines kept so tests can wait on what the node says it did
 * (evictions, anti-entropy repairs, peers going down) and print everything when they fail.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { PartitionNetwork } from './netns.js';
import { tempDataDir } from './data-dir.js';

import { NETNS_CLUSTER_SECRET } from './netns-secret.js';

export { NETNS_CLUSTER_SECRET };

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One pino line as herald writes it. */
export interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The environment of a child process, without HERALD_* settings that would override the flags' defaults. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return env;
}

export interface NetnsNodeOptions {
  /** Node number (1-based): namespace, address and node id `node<k>`. */
  readonly k: number;
  /** gRPC port, the same on every node. */
  readonly port: number;
  /** The --peers list (host:port). */
  readonly peers: readonly string[];
  /** Further `herald serve` flags. */
  readonly args?: readonly string[];
}

export class NetnsNode {
  readonly lines: LogLine[] = [];
  /** stderr lines that were not JSON (a crash's stack trace). */
  readonly other: string[] = [];
  readonly nodeId: string;
  readonly address: string;
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly k: number,
    private readonly proc: ChildProcessByStdio<null, Readable, Readable>,
    address: string,
  ) {
    this.nodeId = `node${k}`;
    this.address = address;
    createInterface({ input: proc.stderr }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as LogLine);
      } catch {
        this.other.push(l);
      }
      for (const w of [...this.waiters]) w();
    });
    createInterface({ input: proc.stdout }).on('line', (l) => this.other.push(l));
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        for (const w of [...this.waiters]) w();
        resolve(code);
      });
    });
  }

  /** Starts node k in its namespace; resolves once it logs "herald is serving". */
  static async start(net: PartitionNetwork, o: NetnsNodeOptions): Promise<NetnsNode> {
    const ip = net.ip(o.k);
    const args = [
      'netns', 'exec', net.namespace(o.k),
      process.execPath, join(REPO_ROOT, 'bin', 'herald.js'), 'serve',
      '--host', ip, '--port', String(o.port), '--http-port', '0',
      '--peers', o.peers.join(','), '--node-id', `node${o.k}`, '--cluster-secret', NETNS_CLUSTER_SECRET,
      '--data-dir', tempDataDir(`herald-netns${o.k}-`),
      ...(o.args ?? []),
    ];
    const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(), cwd: REPO_ROOT });
    const node = new NetnsNode(o.k, proc, `${ip}:${o.port}`);
    await node.waitLog((l) => l.msg === 'herald is serving', 'herald is serving', 20_000);
    return node;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Log lines matching `match` (message, or a predicate). */
  logs(match: string | ((l: LogLine) => boolean)): LogLine[] {
    return this.lines.filter(typeof match === 'string' ? (l) => l.msg === match : match);
  }

  /**
   * Resolves with the first line (already seen or coming) for which `predicate` holds; rejects if
   * the node exits first or after `boundMs` (a safety bound naming what was awaited).
   */
  waitLog(predicate: (l: LogLine) => boolean, what: string, boundMs = 30_000): Promise<LogLine> {
    return this.waitUntil(() => this.lines.find(predicate), what, boundMs);
  }

  /** Resolves once `count` lines satisfy `predicate`. */
  waitLogs(predicate: (l: LogLine) => boolean, count: number, what: string, boundMs = 30_000): Promise<LogLine[]> {
    return this.waitUntil(() => {
      const found = this.lines.filter(predicate);
      return found.length >= count ? found : undefined;
    }, what, boundMs);
  }

  private waitUntil<T>(probe: () => T | undefined, what: string, boundMs: number): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = probe();
        if (v !== undefined) {
          finish();
          resolve(v);
        } else if (!this.running) {
          finish();
          reject(new Error(`node${this.k} exited before logging ${what}\n${this.dump(40)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`node${this.k}: no "${what}" within ${boundMs} ms`));
      }, boundMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** The last `tail` log lines (all by default) that `keep` keeps, one per line, for failure reports. */
  dump(tail = Infinity, keep: (l: LogLine) => boolean = () => true): string {
    const text = this.lines.filter(keep).map((l) => {
      const { level, time, msg, service: _s, ...rest } = l;
      return `  ${time} node${this.k} ${level} ${msg} ${JSON.stringify(rest)}`;
    });
    const shown = Number.isFinite(tail) ? text.slice(-tail) : text;
    return [...shown, ...this.other.map((o) => `  node${this.k} (raw) ${o}`)].join('\n');
  }

  /** SIGTERM (graceful stop), SIGKILL if it has not exited after `graceMs`. Idempotent. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.proc.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
