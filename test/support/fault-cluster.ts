/**
 * A cluster of real `herald serve` processes for fault tests and benchmarks: N nodes on reserved
 * 127.0.0.1 ports that list each other as peers, each killable (SIGKILL), restartable on the same
 * port with the same flags, and freezable (SIGSTOP / SIGCONT). Every node's JSON log lines are
 * kept (with the incarnation they came from) so a caller can wait on events such as
 * "synced from peer" and print the tail of each log when something fails.
 *
 * No test framework here: tests and bench/cluster-faults.ts both use it. The caller owns the
 * cluster and must `close()` it (it SIGKILLs what is left); as a last resort every process still
 * running when this process exits is killed too.
 *
 *   const cluster = await FaultCluster.start({ flags: ['--verify-interval-ms', '1000'] });
 *   const c = cluster.node('C');
 *   await c.kill9();
 *   ... writes at A and B ...
 *   const since = c.logCursor();
 *   await c.restart();
 *   await c.waitForLog(/synced from peer/, { after: since });
 *   const snapshots = await cluster.snapshots();
 *   await cluster.close();
 */
import { FaultNode, freePorts, type LogLine, type LogMatcher } from './fault-node.js';
import type { RegistrySnapshot } from './write-history.js';
import { tempDataDir } from './data-dir.js';

export interface FaultClusterOptions {
  /** Node names, one per node; default A, B, C. Node ids are `node<name>` (nodeA, …). */
  readonly names?: readonly string[];
  /** Extra `herald serve` flags for every node (e.g. `['--verify-interval-ms', '1000']`). */
  readonly flags?: readonly string[];
  /** Extra flags for single nodes, by name (appended after `flags`, so they win). */
  readonly nodeFlags?: Readonly<Record<string, readonly string[]>>;
  /** How long a node may take to print "herald is serving" (its start-up sync included). Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Log lines kept per node (the oldest go first). Default 50,000. */
  readonly maxLogLines?: number;
  /** Deadline of the harness's own calls (snapshots, `client()`). Default 5 s. */
  readonly callDeadlineMs?: number;
}

/** Labelled `host:port` and state of a node, for failure messages. */
/**
 * Polls `check` every `everyMs` until it returns true; resolves with the number of polls, or
 * rejects with `what` (and the last error `check` threw) after `timeoutMs`. A bounded poll of the
 * nodes' state, never a fixed sleep.
 */
export async function pollUntil(what: string, check: () => boolean | Promise<boolean>, opts: { timeoutMs: number; everyMs?: number }): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  let polls = 0;
  let lastError: unknown;
  for (;;) {
    polls++;
    try {
      if (await check()) return polls;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : lastError === undefined ? '' : ' (last error: not an Error)';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 50));
  }
}

/** N `herald serve` processes that list each other as peers. */
export class FaultCluster {
  private closed = false;

  private constructor(readonly nodes: readonly FaultNode[]) {}

  /** Reserves ports, starts every node in parallel, resolves once all serve. */
  static async start(options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const names = options.names ?? ['A', 'B', 'C'];
    const ports = await freePorts(names.length);
    const peers = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const resolved = { startTimeoutMs: options.startTimeoutMs ?? 30_000, maxLogLines: options.maxLogLines ?? 50_000, callDeadlineMs: options.callDeadlineMs ?? 5_000 };
    const nodes = names.map((name, i) => {
      const port = ports[i] ?? 0;
      const args = [
        'bin/herald.js',
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        '0',
        '--peers',
        peers,
        '--node-id',
        `node${name}`,
        // Each node's own store, kept across its restarts.
        '--data-dir',
        tempDataDir(`herald-node${name}-`),
        ...(options.flags ?? []),
        ...(options.nodeFlags?.[name] ?? []),
      ];
      return new FaultNode(name, port, args, resolved);
    });
    const cluster = new FaultCluster(nodes);
    const started = await Promise.allSettled(nodes.map((n) => n.start()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await cluster.close();
      throw failed.reason;
    }
    return cluster;
  }

  node(name: string): FaultNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** Nodes that are running (not killed, exited or frozen). */
  live(): FaultNode[] {
    return this.nodes.filter((n) => n.state === 'running');
  }

  /** Every instance id per service (`group@@service`) of namespace `namespace` on one node (FetchRegistry). */
  async snapshot(node: FaultNode, namespace = 'public'): Promise<RegistrySnapshot> {
    const res = await node.client().fetchRegistry({ namespace });
    const out = new Map<string, Set<string>>();
    for (const s of res.services) {
      const key = `${s.group}@@${s.name}`;
      const ids = out.get(key) ?? new Set<string>();
      for (const h of s.hosts) ids.add(h.instanceId);
      out.set(key, ids);
    }
    return out;
  }

  /** Snapshots of every running node, by node name. */
  async snapshots(namespace = 'public'): Promise<Map<string, RegistrySnapshot>> {
    const live = this.live();
    const snaps = await Promise.all(live.map((n) => this.snapshot(n, namespace)));
    return new Map(live.map((n, i) => [n.name, snaps[i] ?? new Map<string, Set<string>>()]));
  }

  /** The last `n` log lines of every node, for failure messages. */
  tails(n = 15): string {
    return this.nodes.map((node) => `--- node ${node.name} (${node.address}, ${node.state}, incarnation ${node.incarnation}), last ${n} log lines:\n${node.tail(n)}`).join('\n');
  }

  /** Log lines of every node matching `match` (after per-node cursors, if given), oldest first per node. */
  logs(match: LogMatcher, after: ReadonlyMap<string, number> = new Map()): { node: string; line: LogLine }[] {
    return this.nodes.flatMap((n) => n.logs({ after: after.get(n.name) ?? 0, match }).map((line) => ({ node: n.name, line })));
  }

  /** Every node's log cursor, to find the lines printed after a moment. */
  cursors(): Map<string, number> {
    return new Map(this.nodes.map((n) => [n.name, n.logCursor()]));
  }

  /** Total CPU of every node's processes so far, ms. */
  cpuMs(): number {
    return this.nodes.reduce((sum, n) => sum + n.cpuMs(), 0);
  }

  /** SIGKILLs every node still running (frozen ones too) and closes the clients. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
