/**
 * UDP push (the Nacos 1.x mode for clients that cannot hold a stream). A pull that carries a UDP
 * port makes the caller's address a target for that service and filter; a target that has not
 * pulled again within the expiry is dropped. Targets are ordinary PushHub targets, so they share the
 * merge window and the per-filter views with gRPC subscribers.
 *
 * Each push is a "dom" packet (encoded once per view and clusters string, gzip at 1 KiB) whose
 * `lastRefTime` is the view's revision; the client acks it with `push-ack`. An unacked push is sent
 * again after the ack timeout, at most maxRetries times, then counted as failed; a newer push to the
 * same target replaces an older unacked one. Empty host lists are never pushed. Sends are drained in
 * batches across event-loop turns, so a large fan-out never holds up gRPC calls.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../core/model.js';
import { ackPushId, decodeDatagram, encodePushPacket } from '../common/nacos-json.js';
import type { Logger } from '../common/logger.js';
import type { PushHub, PushTarget } from './push-hub.js';
import type { Timers } from '../common/timers.js';

export interface UdpPushOptions {
  /** A target that has not pulled again within this long is dropped. */
  readonly targetExpiryMs: number;
  /** How long to wait for an ack before sending again. */
  readonly ackTimeoutMs: number;
  /** Resends of an unacked push before it counts as failed. */
  readonly maxRetries: number;
  /** Packets sent per event-loop turn. */
  readonly sendBatchSize: number;
  /** Receive buffer of the push socket, where acks queue (the kernel may cap it). */
  readonly receiveBufferBytes: number;
}

export interface UdpPusherDeps {
  readonly hub: PushHub;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly options: UdpPushOptions;
  /** The Nacos ServiceInfo JSON of a view, for a target that asked for `clusters`. */
  readonly encodeServiceInfo: (view: ServiceView, clusters: string) => string;
  /** Local address for the sending socket (acks come back to it). */
  readonly bindHost: string;
}

export interface UdpPushStats {
  readonly targets: number;
  readonly pendingAcks: number;
  readonly sent: number;
  readonly resent: number;
  readonly acked: number;
  readonly failed: number;
  /** Unacked pushes replaced by a newer push to the same target before their ack came. */
  readonly superseded: number;
  readonly expiredTargets: number;
}

class UdpTarget implements PushTarget {
  expiresAt = 0;
  unsubscribe: () => void = () => undefined;
  initialSkipped = false;
  lastChecksum: string | undefined;
  lastRevision = -1;
  /** Key of this target's unacked push, if any. */
  pendingKey: string | undefined;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly port: number,
    readonly clusters: string,
    readonly filter: ServiceFilter,
    private readonly onDeliver: (t: UdpTarget, view: ServiceView) => void,
  ) {}

  deliver(view: ServiceView): void {
    this.onDeliver(this, view);
  }
}

interface Pending {
  readonly target: UdpTarget;
  readonly packet: Buffer;
  /** `address, port, push id`: its entry in the exact ack index. */
  readonly exactKey: string;
  /** `port, push id`: its entry in the loose ack index. */
  readonly looseKey: string;
  attempts: number;
  timer: unknown;
}

interface Queued {
  readonly target: UdpTarget;
  readonly packet: Buffer;
  /** The push id (the view's revision) the packet carries. */
  readonly pushId: number;
}

export class UdpPusher {
  private udp4: Socket | undefined;
  private udp6: Socket | undefined;
  private readonly targets = new Map<string, UdpTarget>();
  /** Unacked pushes by `target key, push id`: a client port that is a target through two filters has two. */
  private readonly pending = new Map<string, Pending>();
  /** `address, port, push id` → pending keys: what an ack names. */
  private readonly byAddressPortAndId = new Map<string, Set<string>>();
  /** `port, push id` → pending keys: matches acks whose source address differs from the target's. */
  private readonly byPortAndId = new Map<string, Set<string>>();
  private readonly queue: Queued[] = [];
  private draining = false;
  private sweeper: unknown;
  private closed = false;
  private counters = { sent: 0, resent: 0, acked: 0, failed: 0, superseded: 0, expiredTargets: 0 };
  /** Packets per view and clusters string: encoded once per change, shared by every target. */
  private readonly packets = new WeakMap<ServiceView, Map<string, Buffer>>();

  constructor(private readonly deps: UdpPusherDeps) {}

  /** Binds the sending socket(s). */
  async start(): Promise<void> {
    const family = isIP(this.deps.bindHost) === 6 ? 6 : 4;
    if (family === 4) this.udp4 = await this.bind('udp4', this.deps.bindHost);
    else this.udp6 = await this.bind('udp6', this.deps.bindHost);
    this.scheduleSweep();
  }

  /** The local UDP port pushes come from (and acks go to); 0 once closed. */
  get port(): number {
    if (this.closed) return 0;
    return (this.udp4 ?? this.udp6)?.address().port ?? 0;
  }

  /**
   * Records a pull with a UDP port: `address:port` becomes (or stays) a push target for the service
   * through `filter`, until `targetExpiryMs` pass without another pull.
   */
  touch(ref: ServiceRef, address: string, port: number, clusters: string, filter: ServiceFilter): void {
    if (this.closed || isIP(address) === 0 || port < 1 || port > 65_535) return;
    const key = `${ref.namespace}\u0000${ref.group}\u0000${ref.service}\u0000${clusters}\u0000${filter.healthyOnly === true ? 'h' : ''}\u0000${address}\u0000${port}`;
    const now = this.deps.clock.nowMs();
    let target = this.targets.get(key);
    if (target === undefined) {
      target = new UdpTarget(key, address, port, clusters, filter, (t, v) => {
        this.onDeliver(t, v);
      });
      this.targets.set(key, target);
      target.unsubscribe = this.deps.hub.subscribe(ref, target);
    }
    target.expiresAt = now + this.deps.options.targetExpiryMs;
  }

  stats(): UdpPushStats {
    return { targets: this.targets.size, pendingAcks: this.pending.size, ...this.counters };
  }

  /** Drops targets whose expiry passed. */
  sweep(): void {
    const now = this.deps.clock.nowMs();
    for (const t of [...this.targets.values()]) if (t.expiresAt <= now) this.drop(t);
  }

  /** Stops pushing, cancels retries, closes the sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== undefined) this.deps.timers.clearTimeout(this.sweeper);
    for (const t of [...this.targets.values()]) this.drop(t);
    for (const p of this.pending.values()) this.deps.timers.clearTimeout(p.timer);
    this.pending.clear();
    this.queue.length = 0;
    await Promise.all(
      [this.udp4, this.udp6].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s === undefined) resolve();
            else
              s.close(() => {
                resolve();
              });
          }),
      ),
    );
  }

  private bind(type: 'udp4' | 'udp6', host: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type });
      socket.once('error', reject);
      socket.bind({ address: host, port: 0 }, () => {
        socket.off('error', reject);
        try {
          // Acks from a large fan-out arrive together; the default buffer (~208 KiB) drops some.
          socket.setRecvBufferSize(this.deps.options.receiveBufferBytes);
        } catch (e) {
          this.deps.logger.warn({ err: e, bytes: this.deps.options.receiveBufferBytes }, 'cannot enlarge the UDP receive buffer');
        }
        socket.on('error', (e) => {
          this.deps.logger.warn({ err: e }, 'udp push socket error');
        });
        socket.on('message', (msg, rinfo) => {
          this.onMessage(msg, rinfo);
        });
        socket.unref();
        resolve(socket);
      });
    });
  }

  /** The socket for a target's family, bound on first use next to the configured one (any-address to any-address, loopback to loopback). */
  private async socketFor(address: string): Promise<Socket | undefined> {
    const host = this.deps.bindHost;
    if (isIP(address) === 6) {
      this.udp6 ??= await this.bind('udp6', isIP(host) === 6 ? host : host === '0.0.0.0' ? '::' : '::1');
      return this.udp6;
    }
    this.udp4 ??= await this.bind('udp4', isIP(host) === 4 ? host : host === '::' ? '0.0.0.0' : '127.0.0.1');
    return this.udp4;
  }

  private scheduleSweep(): void {
    this.sweeper = this.deps.timers.setTimeout(() => {
      this.sweep();
      if (!this.closed) this.scheduleSweep();
    }, this.deps.options.targetExpiryMs);
  }

  private drop(t: UdpTarget): void {
    this.targets.delete(t.key);
    t.unsubscribe();
    if (t.pendingKey !== undefined) {
      // Sent and never acknowledged: it failed (the target stopped asking before it answered).
      if (!this.closed) this.counters.failed++;
      this.clearPending(t.pendingKey);
    }
    this.counters.expiredTargets++;
  }

  private onDeliver(t: UdpTarget, view: ServiceView): void {
    if (this.targets.get(t.key) !== t) return; // dropped while a sliced fan-out was under way
    if (!t.initialSkipped) {
      // The subscription's first view is what the caller just pulled.
      t.initialSkipped = true;
      t.lastChecksum = view.checksum;
      t.lastRevision = view.revision;
      return;
    }
    if (t.expiresAt <= this.deps.clock.nowMs()) {
      this.drop(t);
      return;
    }
    if (view.revision <= t.lastRevision || view.hosts.length === 0 || view.checksum === t.lastChecksum) return;
    t.lastChecksum = view.checksum;
    t.lastRevision = view.revision;
    this.queue.push({ target: t, packet: this.packet(view, t.clusters), pushId: view.revision });
    this.drain();
  }

  private packet(view: ServiceView, clusters: string): Buffer {
    let byClusters = this.packets.get(view);
    if (byClusters === undefined) {
      byClusters = new Map();
      this.packets.set(view, byClusters);
    }
    let p = byClusters.get(clusters);
    if (p === undefined) {
      p = encodePushPacket(this.deps.encodeServiceInfo(view, clusters), view.revision);
      byClusters.set(clusters, p);
    }
    return p;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.deps.timers.setImmediate(() => {
      this.draining = false;
      const batch = this.queue.splice(0, this.deps.options.sendBatchSize);
      for (const q of batch) void this.sendNew(q);
      if (this.queue.length > 0) this.drain();
    });
  }

  private async sendNew({ target: t, packet, pushId }: Queued): Promise<void> {
    if (this.closed || !this.targets.has(t.key)) return;
    if (t.pendingKey !== undefined) {
      // Replaced by this newer push before its ack came.
      this.counters.superseded++;
      this.clearPending(t.pendingKey);
    }
    const key = `${t.key}\u0000${String(pushId)}`;
    const exactKey = `${t.address}\u0000${t.port}\u0000${String(pushId)}`;
    const looseKey = `${t.port}\u0000${String(pushId)}`;
    const p: Pending = { target: t, packet, exactKey, looseKey, attempts: 0, timer: undefined };
    this.pending.set(key, p);
    index(this.byAddressPortAndId, exactKey, key);
    index(this.byPortAndId, looseKey, key);
    t.pendingKey = key;
    await this.transmit(key, p);
  }

  private async transmit(key: string, p: Pending): Promise<void> {
    if (this.closed || this.pending.get(key) !== p) return;
    const socket = await this.socketFor(p.target.address);
    if (socket === undefined) return;
    p.attempts++;
    if (p.attempts === 1) this.counters.sent++;
    else this.counters.resent++;
    socket.send(p.packet, p.target.port, p.target.address, (err) => {
      if (err !== null) this.deps.logger.debug({ err, target: `${p.target.address}:${p.target.port}` }, 'udp push send failed');
    });
    p.timer = this.deps.timers.setTimeout(() => {
      if (this.pending.get(key) !== p) return;
      if (p.attempts > this.deps.options.maxRetries) {
        this.counters.failed++;
        this.clearPending(key);
        this.deps.logger.debug({ target: `${p.target.address}:${p.target.port}`, attempts: p.attempts }, 'udp push not acknowledged');
        return;
      }
      void this.transmit(key, p);
    }, this.deps.options.ackTimeoutMs);
  }

  private clearPending(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.deps.timers.clearTimeout(p.timer);
    this.pending.delete(key);
    unindex(this.byAddressPortAndId, p.exactKey, key);
    unindex(this.byPortAndId, p.looseKey, key);
    if (p.target.pendingKey === key) p.target.pendingKey = undefined;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const ack = decodeDatagram(msg);
    if (ack?.type !== 'push-ack') return;
    const id = ackPushId(ack.lastRefTime);
    if (id === undefined) return;
    // One ack acknowledges one push: a client port that is a target through two filters got two
    // packets with the same id and answers each.
    let key = first(this.byAddressPortAndId.get(`${rinfo.address}\u0000${rinfo.port}\u0000${id}`));
    if (key === undefined) {
      // The client may answer from another local address than the one we sent to (a host reached
      // at its LAN address replying to a loopback-bound server); the port and push id still match,
      // and the candidates must all be one client's.
      const candidates = [...(this.byPortAndId.get(`${rinfo.port}\u0000${id}`) ?? [])];
      const clients = new Set(candidates.map((k) => this.pending.get(k)?.exactKey));
      key = clients.size === 1 ? candidates[0] : undefined;
    }
    if (key !== undefined && this.pending.has(key)) {
      this.counters.acked++;
      this.clearPending(key);
    }
  }
}

function index(map: Map<string, Set<string>>, at: string, key: string): void {
  const set = map.get(at) ?? new Set<string>();
  set.add(key);
  map.set(at, set);
}

function unindex(map: Map<string, Set<string>>, at: string, key: string): void {
  const set = map.get(at);
  set?.delete(key);
  if (set?.size === 0) map.delete(at);
}

function first(set: ReadonlySet<string> | undefined): string | undefined {
  if (set === undefined) return undefined;
  for (const k of set) return k;
  return undefined;
}
