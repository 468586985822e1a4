/**
 * Real network partitions for cluster tests, built from Linux network namespaces with iproute2 only
 * (Debian package `iproute2`: `ip` and `bridge`; no nftables or iptables needed). Needs root.
 *
 * Topology of one {@link PartitionNetwork} (a star around a bridge in a namespace of its own, so
 * the only thing the root namespace gains is one veth and its /24 route):
 *
 * ```
 *   root ns (test process)          hub ns                     node ns k (herald serve, clients)
 *   hr<pid>x<seq> .254 ── veth ── up0 ─┐
 *                                      br0 ── nK ── veth ── eth0 .k
 * ```
 *
 * Names carry the test process's pid (`herald-<pid>-<seq>-hub`, `-n1`…, root link `hr<pid>x<seq>`),
 * so parallel runs never clash, and whatever a dead pid left behind is removed by the next run
 * ({@link removeStaleNetworks}). The subnet is a /24 of 198.18.0.0/15 (RFC 2544 benchmarking space,
 * never routed) that overlaps no address or route of the root namespace.
 *
 * Faults, all silent like a real partition (packets vanish, nobody is told):
 * - {@link PartitionNetwork.cut}: the hub side of node k's link goes down; node k keeps running and
 *   still reaches itself (clients inside its namespace keep working), nobody else reaches it.
 * - {@link PartitionNetwork.separate}: bridge port isolation; the listed nodes cannot reach each
 *   other, while every other node and the test process still reach all of them.
 * - {@link PartitionNetwork.dropConnections}: what TCP keepalive does to connections across a long
 *   cut (both ends give up, unsent bytes are gone), without waiting for it (`ss -K`).
 */
import { execFileSync, spawnSync } from 'node:child_process';

const NS_NAME = /^herald-(\d+)-(\d+)-(hub|n\d+)$/;
const ROOT_LINK = /^hr(\d+)x(\d+)$/;
/** 198.18.0.0/15: 512 /24s. */
const SUBNET_BASE = (198 << 24) | (18 << 16);
const SUBNETS = 512;

/** Runs `ip` (or `bridge`) and returns stdout; throws with the command and its stderr. */
export function ipCmd(args: readonly string[], tool: 'ip' | 'bridge' = 'ip'): string {
  try {
    return execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const stderr = typeof e === 'object' && e !== null && 'stderr' in e ? String(e.stderr) : '';
    throw new Error(`${tool} ${args.join(' ')} failed: ${stderr.trim() || String(e)}`, { cause: e });
  }
}

function tryIp(args: readonly string[]): void {
  try {
    ipCmd(args);
  } catch {
    // best effort (cleanup of something that may already be gone)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let support: { reason: string | undefined } | undefined;

/**
 * Why real partitions cannot be built here (not Linux, not root, no `ip`, or the kernel refuses
 * namespaces, bridges or veths), or undefined when they can. With HERALD_REQUIRE_NETNS=1 (CI) a
 * reason is an error instead of a skip. Probes once per process.
 */
export function netnsUnavailable(): string | undefined {
  support ??= { reason: probe() };
  if (support.reason !== undefined && process.env.HERALD_REQUIRE_NETNS === '1') {
    throw new Error(`HERALD_REQUIRE_NETNS=1 but network partitions cannot be built: ${support.reason}`);
  }
  return support.reason;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'building network namespaces needs root (run as root, as CI does)';
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error !== undefined) return 'the `ip` command is missing (Debian package iproute2)';
  for (const tool of ['bridge', 'ss']) {
    if (spawnSync(tool, ['-V'], { encoding: 'utf8' }).error !== undefined) return `the \`${tool}\` command is missing (Debian package iproute2)`;
  }
  const ns = `herald-${process.pid}-0-hub`;
  try {
    ipCmd(['netns', 'add', ns]);
    ipCmd(['-n', ns, 'link', 'add', 'name', 'br0', 'type', 'bridge']);
    ipCmd(['-n', ns, 'link', 'add', 'name', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    ipCmd(['-n', ns, 'link', 'set', 'va', 'master', 'br0']);
    ipCmd(['-n', ns, 'link', 'set', 'dev', 'va', 'isolated', 'on'], 'bridge');
    return undefined;
  } catch (e) {
    return `the kernel refused a namespace, bridge, veth or port isolation: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    tryIp(['netns', 'del', ns]);
  }
}

/**
 * Removes the namespaces and root links of every test process `owner` says to (by pid), first
 * killing the processes still inside those namespaces (that run's nodes and clients).
 */
function removeNetworks(owner: (pid: number) => boolean): void {
  for (const line of ipCmd(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = NS_NAME.exec(name);
    if (m === null || !owner(Number(m[1]))) continue;
    for (const pid of ipCmd(['netns', 'pids', name]).split('\n').filter((l) => l.trim() !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    tryIp(['netns', 'del', name]);
  }
  const links = JSON.parse(ipCmd(['-j', 'link', 'show'])) as { ifname: string }[];
  for (const { ifname } of links) {
    const m = ROOT_LINK.exec(ifname);
    if (m !== null && owner(Number(m[1]))) tryIp(['link', 'del', ifname]);
  }
}

/**
 * Removes what test processes that no longer run left behind (a killed vitest never reaches
 * afterAll). Never touches the network of a process that is still alive.
 */
export function removeStaleNetworks(): void {
  removeNetworks((pid) => !alive(pid));
}

/** Removes every network this process built and did not close (afterAll's safety net). */
export function removeOwnNetworks(): void {
  removeNetworks((pid) => pid === process.pid);
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseIpv4(s: string): number | undefined {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function overlaps(a: number, aLen: number, b: number, bLen: number): boolean {
  const len = Math.min(aLen, bLen);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Every IPv4 prefix the root namespace already uses (addresses and routes of all tables). */
function usedPrefixes(): { net: number; len: number; owner: string }[] {
  const used: { net: number; len: number; owner: string }[] = [];
  const addrs = JSON.parse(ipCmd(['-j', '-4', 'addr', 'show'])) as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
  for (const i of addrs) {
    for (const a of i.addr_info ?? []) {
      const net = parseIpv4(a.local);
      if (net !== undefined) used.push({ net, len: a.prefixlen, owner: i.ifname });
    }
  }
  const routes = JSON.parse(ipCmd(['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst: string; dev?: string }[];
  for (const r of routes) {
    if (r.dst === 'default') continue;
    const [addr = '', len = '32'] = r.dst.split('/');
    const net = parseIpv4(addr);
    if (net !== undefined) used.push({ net, len: Number(len), owner: r.dev ?? '' });
  }
  return used;
}

export interface PartitionNetworkOptions {
  /** How many node namespaces (addresses .1 to .n). */
  readonly nodes: number;
}

let sequence = 0;

/** One test's private network: a namespace per node, joined by a bridge, reachable from the root. */
export class PartitionNetwork {
  /** The node namespaces' names, index 0 = node 1. */
  readonly namespaces: readonly string[];
  private readonly hub: string;
  private readonly rootLink: string;
  /** What was done to the network and when, for failure reports. */
  readonly timeline: string[] = [];
  private subnet = 0;
  private closed = false;

  private constructor(
    private readonly seq: number,
    readonly size: number,
  ) {
    const base = `herald-${process.pid}-${seq}`;
    this.hub = `${base}-hub`;
    this.namespaces = Array.from({ length: size }, (_, i) => `${base}-n${i + 1}`);
    this.rootLink = `hr${process.pid}x${seq}`;
  }

  /** Builds the network (removing stale ones first). Tear it down with {@link close}. */
  static create(options: PartitionNetworkOptions): PartitionNetwork {
    removeStaleNetworks();
    const net = new PartitionNetwork(++sequence, options.nodes);
    try {
      net.build();
    } catch (e) {
      net.close();
      throw e;
    }
    return net;
  }

  /** Node k's address (k from 1). */
  ip(k: number): string {
    this.check(k);
    return ipv4(this.subnet + k);
  }

  /** The root namespace's address on the network (where the test process's calls come from). */
  get rootIp(): string {
    return ipv4(this.subnet + 254);
  }

  /** The subnet, for messages. */
  get cidr(): string {
    return `${ipv4(this.subnet)}/24`;
  }

  /** Node k's namespace name (k from 1). */
  namespace(k: number): string {
    this.check(k);
    return this.namespaces[k - 1] ?? '';
  }

  /** Cuts node k off from everyone (its process keeps running; its own namespace still works). */
  cut(k: number): void {
    ipCmd(['-n', this.hub, 'link', 'set', `n${this.check(k)}`, 'down']);
    this.note(`cut node ${k} off`);
  }

  /** Undoes {@link cut}. */
  heal(k: number): void {
    ipCmd(['-n', this.hub, 'link', 'set', `n${this.check(k)}`, 'up']);
    this.note(`healed node ${k}'s link`);
  }

  /**
   * The listed nodes can no longer reach each other (bridge port isolation: isolated ports talk
   * only to non-isolated ones); the others and the test process still reach all of them.
   */
  separate(...ks: number[]): void {
    for (const k of ks) ipCmd(['-n', this.hub, 'link', 'set', 'dev', `n${this.check(k)}`, 'isolated', 'on'], 'bridge');
    this.note(`separated nodes ${ks.join(', ')} from each other`);
  }

  /** Undoes {@link separate} for the listed nodes. */
  join(...ks: number[]): void {
    for (const k of ks) ipCmd(['-n', this.hub, 'link', 'set', 'dev', `n${this.check(k)}`, 'isolated', 'off'], 'bridge');
    this.note(`joined nodes ${ks.join(', ')} again`);
  }

  /**
   * Ends every TCP connection between node k and each of `others`, at both ends, with nothing on the
   * wire: what keepalive does to connections across a long cut (herald's peer links ping after 20 s
   * of silence and give up 10 s later, src/cluster/peer-link.ts), without the wait. Whatever a
   * sender had still queued on them (a replication batch it already gave up on) is gone, as it
   * would be; without this, TCP delivers it after the heal. Needs CONFIG_INET_DIAG_DESTROY.
   */
  dropConnections(k: number, others: readonly number[]): void {
    const kill = (inside: number, peer: number): void => {
      const r = spawnSync('ip', ['netns', 'exec', this.namespace(inside), 'ss', '-K', '-t', 'dst', this.ip(peer)], { encoding: 'utf8' });
      if (r.status !== 0 || r.stderr.includes('SOCK_DESTROY')) throw new Error(`ss -K in node ${inside}'s namespace failed (kernel without CONFIG_INET_DIAG_DESTROY?): ${r.stderr.trim()}`);
    };
    for (const o of others) {
      kill(k, o);
      kill(o, k);
    }
    this.note(`dropped the TCP connections between node ${k} and node(s) ${others.join(', ')}`);
  }

  /** The network, what was done to it, and (while it exists) its ports' state, for failure reports. */
  describe(): string {
    const lines = [`network ${this.cidr}: root ${this.rootLink} ${this.rootIp}, hub ${this.hub}`, ...this.timeline.map((t) => `  ${t}`)];
    if (this.closed) return lines.join('\n');
    try {
      const ports = JSON.parse(ipCmd(['-n', this.hub, '-j', '-d', 'link', 'show', 'master', 'br0'])) as { ifname: string; operstate: string; linkinfo?: { info_slave_data?: { isolated?: boolean } } }[];
      for (const p of ports) lines.push(`  port ${p.ifname}: ${p.operstate}${p.linkinfo?.info_slave_data?.isolated === true ? ', isolated' : ''}`);
    } catch (e) {
      lines.push(`  (cannot read the bridge: ${e instanceof Error ? e.message : String(e)})`);
    }
    return lines.join('\n');
  }

  /**
   * Deletes the root link and every namespace (their veths go with them). Processes still inside
   * are the caller's to stop first. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    tryIp(['link', 'del', this.rootLink]);
    for (const ns of [...this.namespaces, this.hub]) tryIp(['netns', 'del', ns]);
  }

  private note(what: string): void {
    this.timeline.push(`${new Date().toISOString()} ${what}`);
  }

  private check(k: number): number {
    if (!Number.isInteger(k) || k < 1 || k > this.size) throw new RangeError(`node ${k} is not in this ${this.size}-node network`);
    return k;
  }

  private build(): void {
    const { hub } = this;
    ipCmd(['netns', 'add', hub]);
    ipCmd(['-n', hub, 'link', 'set', 'lo', 'up']);
    ipCmd(['-n', hub, 'link', 'add', 'name', 'br0', 'type', 'bridge']);
    ipCmd(['-n', hub, 'link', 'set', 'br0', 'up']);
    for (const [i, ns] of this.namespaces.entries()) {
      const port = `n${i + 1}`;
      ipCmd(['netns', 'add', ns]);
      ipCmd(['-n', ns, 'link', 'set', 'lo', 'up']);
      // Created inside the hub, its peer straight in the node's namespace: no name ever lives in root.
      ipCmd(['-n', hub, 'link', 'add', 'name', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ipCmd(['-n', hub, 'link', 'set', port, 'master', 'br0']);
      ipCmd(['-n', hub, 'link', 'set', port, 'up']);
    }
    ipCmd(['link', 'add', 'name', this.rootLink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', hub]);
    ipCmd(['-n', hub, 'link', 'set', 'up0', 'master', 'br0']);
    ipCmd(['-n', hub, 'link', 'set', 'up0', 'up']);
    this.claimSubnet();
    for (const [i, ns] of this.namespaces.entries()) {
      ipCmd(['-n', ns, 'addr', 'add', `${this.ip(i + 1)}/24`, 'dev', 'eth0']);
      ipCmd(['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    ipCmd(['link', 'set', this.rootLink, 'up']);
  }

  /**
   * Picks a /24 of 198.18.0.0/15 that nothing in the root namespace uses, starting from one derived
   * from the pid, and claims it by putting the root address on it. Two runs choosing at the same
   * moment would both see the other's address after claiming: the higher link name backs off.
   */
  private claimSubnet(): void {
    const start = (process.pid * 7 + this.seq * 131) % SUBNETS;
    for (let attempt = 0; attempt < SUBNETS; attempt++) {
      const subnet = (SUBNET_BASE + ((start + attempt) % SUBNETS) * 256) >>> 0;
      if (usedPrefixes().some((u) => overlaps(u.net, u.len, subnet, 24))) continue;
      ipCmd(['addr', 'add', `${ipv4(subnet + 254)}/24`, 'dev', this.rootLink]);
      const rivals = usedPrefixes().filter((u) => u.owner !== this.rootLink && ROOT_LINK.test(u.owner) && overlaps(u.net, u.len, subnet, 24));
      if (rivals.some((r) => r.owner < this.rootLink)) {
        ipCmd(['addr', 'del', `${ipv4(subnet + 254)}/24`, 'dev', this.rootLink]);
        continue;
      }
      this.subnet = subnet;
      return;
    }
    throw new Error('no free /24 in 198.18.0.0/15 for a test network');
  }
}
