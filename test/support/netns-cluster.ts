/**
 * A herald cluster on a real network for partition tests: one {@link PartitionNetwork}, one
 * `herald serve` process per node namespace, a {@link PeerWitness} listed last among the peers (to
 * see anti-entropy rounds), clients inside node namespaces, and gRPC transports from the test
 * process (root namespace) to every node. `close()` stops and removes all of it.
 *
 *   const c = await NetnsCluster.start({ nodes: 3, args: ['--verify-interval-ms', '1000'] });
 *   const inside3 = await c.client(3);          // a client process in node 3's namespace
 *   c.net.cut(3);                               // node 3 keeps running, alone
 *   await c.cleanRoundSince(Date.now());        // every node verified with every peer since
 *   await c.close();
 */
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { ActionType, InstanceView } from '../../src/gen/herald/v1/model.js';
import { PartitionNetwork } from './netns.js';
import { NetnsClient } from './netns-client.js';
import { NetnsNode, type LogLine } from './netns-node.js';
import { PeerWitness } from './peer-witness.js';

/**
 * The gRPC port of every node. It has to be fixed because every node's --peers list names it
 * before any node starts (port 0 is impossible), and it cannot collide with anything: each node
 * listens in a network namespace of its own (its own port space) on an address of this run's
 * private /24. The peer witness, which lives in the shared root namespace, binds port 0 instead
 * and is started before the nodes, so its real port is known when the lists are written.
 */
export const NODE_PORT = 7070;

/** What herald logs when an anti-entropy call to a peer fails (debug level). */
const VERIFY_FAILED = 'anti-entropy: peer did not answer';

export interface NetnsClusterOptions {
  readonly nodes: number;
  /** Further `herald serve` flags for every node. `--log-level debug` is always added. */
  readonly args?: readonly string[];
}

/** Polls `check` on the event loop until it holds; `boundMs` is a safety bound naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, boundMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > boundMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const logTime = (l: LogLine): number => Date.parse(l.time);

export class NetnsCluster {
  private readonly transports = new Map<number, RegistryTransport>();
  private readonly clients: NetnsClient[] = [];
  private closed = false;

  private constructor(
    readonly net: PartitionNetwork,
    readonly witness: PeerWitness,
    readonly nodes: readonly NetnsNode[],
  ) {}

  static async start(o: NetnsClusterOptions): Promise<NetnsCluster> {
    const net = PartitionNetwork.create({ nodes: o.nodes });
    let witness: PeerWitness | undefined;
    const nodes: NetnsNode[] = [];
    try {
      witness = await PeerWitness.start(net.rootIp, 0);
      const peers = [...Array.from({ length: o.nodes }, (_, i) => `${net.ip(i + 1)}:${NODE_PORT}`), witness.address];
      const started = await Promise.allSettled(
        Array.from({ length: o.nodes }, (_, i) => NetnsNode.start(net, { k: i + 1, port: NODE_PORT, peers, args: ['--log-level', 'debug', ...(o.args ?? [])] })),
      );
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return new NetnsCluster(net, witness, nodes);
    } catch (e) {
      await Promise.all(nodes.map((n) => n.stop(0)));
      witness?.close();
      net.close();
      throw e;
    }
  }

  /** Node k (1-based). */
  node(k: number): NetnsNode {
    const n = this.nodes[k - 1];
    if (n === undefined) throw new RangeError(`no node ${k}`);
    return n;
  }

  /** A transport from the test process to node k (through the bridge; fails while k is cut off). */
  transport(k: number): RegistryTransport {
    let t = this.transports.get(k);
    if (t === undefined) {
      t = new RegistryTransport(this.node(k).address, { deadlineMs: 3_000 });
      this.transports.set(k, t);
    }
    return t;
  }

  /** Starts a client process in node k's namespace, talking to node k. */
  async client(k: number): Promise<NetnsClient> {
    const c = await NetnsClient.start(this.net, k, this.node(k).address);
    this.clients.push(c);
    return c;
  }

  /** Node k's instances of `service` as id → version (metadata `v`), read from the test process. */
  async holdings(k: number, service: string): Promise<Map<string, number>> {
    const res = await this.transport(k).getService({ namespace: '', group: '', service, clusters: [], healthyOnly: false, udpPort: 0, view: InstanceView.INSTANCE_VIEW_UNSPECIFIED });
    return new Map((res.serviceInfo?.hosts ?? []).map((h) => [h.instanceId, Number(h.metadata.v ?? NaN)]));
  }

  /**
   * Node k's copy of each instance of `service` with its timestamps (ms since epoch), to tell where
   * a copy came from: `dirty` is the registrant's, `updated` the last local change (adoptions too),
   * `registered` when this node first stored it.
   */
  async copies(k: number, service: string): Promise<Map<string, { version: number; dirty: number; updated: number; registered: number }>> {
    const res = await this.transport(k).getService({ namespace: '', group: '', service, clusters: [], healthyOnly: false, udpPort: 0, view: InstanceView.INSTANCE_VIEW_UNSPECIFIED });
    return new Map(
      (res.serviceInfo?.hosts ?? []).map((h) => [
        h.instanceId,
        { version: Number(h.metadata.v ?? NaN), dirty: h.lastDirtyTimestamp, updated: h.lastUpdatedTimestamp, registered: h.lease?.registrationTimestamp ?? 0 },
      ]),
    );
  }

  /** The ids node k removed from `service` within its delta retention (3 min), with when. */
  async deletions(k: number, service: string): Promise<{ id: string; atMs: number }[]> {
    const res = await this.transport(k).fetchDelta({ namespace: '' });
    return res.changes.filter((c) => c.action === ActionType.ACTION_TYPE_DELETED && c.service === service).map((c) => ({ id: c.instance?.instanceId ?? '', atMs: c.changedAt }));
  }

  /** Node k's failed anti-entropy calls to a real peer (not the witness), logged in (fromMs, toMs]. */
  private verifyFailures(k: number, fromMs: number, toMs: number): LogLine[] {
    return this.node(k).logs((l) => l.msg === VERIFY_FAILED && l.peer !== this.witness.address && logTime(l) > fromMs && logTime(l) <= toMs);
  }

  /**
   * Whether node k has completed an anti-entropy round that started after `sinceMs` and in which
   * every real peer answered: a round lies between two witnessed round ends, and herald logs each
   * failed peer call (debug) before it asks the witness.
   */
  hasCleanRoundSince(k: number, sinceMs: number): boolean {
    const node = this.node(k);
    const ends = this.witness.rounds.filter((r) => r.nodeId === node.nodeId && r.atMs > sinceMs).map((r) => r.atMs);
    const lastLogged = node.lines.length === 0 ? 0 : logTime(node.lines[node.lines.length - 1] as LogLine);
    for (let i = 1; i < ends.length; i++) {
      const from = ends[i - 1] as number;
      const to = ends[i] as number;
      if (lastLogged < to) break; // its log has not caught up with that round yet
      if (this.verifyFailures(k, from, to).length === 0) return true;
    }
    return false;
  }

  /**
   * Waits until each of `ks` (default: every node) has completed a whole anti-entropy round, begun
   * after `sinceMs`, in which it verified with every other node successfully.
   */
  async cleanRoundSince(sinceMs: number, ks: readonly number[] = this.nodes.map((n) => n.k), boundMs = 40_000): Promise<void> {
    await until(() => ks.every((k) => this.hasCleanRoundSince(k, sinceMs)), `a clean anti-entropy round on node(s) ${ks.join(', ')} after ${new Date(sinceMs).toISOString()}`, boundMs);
  }

  /** Everything a failure report needs: the network, every node's log, the clients' events. */
  report(): string {
    const parts = [this.net.describe()];
    // Without the witness's line that ends every round (debug); failures with real peers stay.
    const keep = (l: LogLine): boolean => !(l.msg === VERIFY_FAILED && l.peer === this.witness.address);
    for (const n of this.nodes) parts.push(`--- node${n.k} (${n.address}) log:\n${n.dump(Infinity, keep)}`);
    for (const c of this.clients) parts.push(`--- client in node${c.k}'s namespace: ${c.events.map((e) => JSON.stringify(e)).join('\n  ')}${c.stderr.length > 0 ? `\n  stderr: ${c.stderr.join('\n  ')}` : ''}`);
    return parts.join('\n');
  }

  /** Stops clients, transports, nodes and the witness, then removes the network. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.clients.map((c) => c.stop()));
    for (const t of this.transports.values()) t.close();
    await Promise.all(this.nodes.map((n) => n.stop()));
    this.witness.close();
    this.net.close();
  }
}
