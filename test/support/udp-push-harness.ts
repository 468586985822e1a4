/**
 * The harness of the UdpPusher tests: a real PushHub and Registry with timers and clock driven by
 * hand (ManualTimers), and real UDP sockets on 127.0.0.1 port 0 standing in for Nacos clients.
 * Time never passes by itself: retries, expiry and sends happen only when a test advances the
 * timers. The only waits are for datagrams to cross the loopback.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../src/common/logger.js';
import { nacosServiceInfoJson } from '../../src/common/nacos-json.js';
import type { ServiceRef } from '../../src/core/model.js';
import { PushHub } from '../../src/push/push-hub.js';
import { UdpPusher, type UdpPushOptions, type UdpPushStats } from '../../src/push/udp-pusher.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { ManualTimers } from './manual-timers.js';
import { onCleanup } from './server.js';

export const CACHE_MILLIS = 5_000;
export const DEFAULTS: UdpPushOptions = {
  targetExpiryMs: 60_000,
  ackTimeoutMs: 1_000,
  maxRetries: 3,
  sendBatchSize: 256,
  receiveBufferBytes: 1 << 20,
};

export const ORDERS: ServiceRef = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };
export const USERS: ServiceRef = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'users' };

/** Lets pending promise continuations (the pusher's async send path) run. Not a sleep: one turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}

export async function setup(options: Partial<UdpPushOptions> = {}, timers?: ManualTimers, bindHost = '127.0.0.1') {
  const { registry, clock } = makeRegistry();
  const t = timers ?? new ManualTimers(clock);
  if (t.clock !== clock) t.clock.set(clock.nowMs());
  const hub = new PushHub({ registry, timers: t, clock: t.clock, mergeWindowMs: 0, fanOutSliceSize: 1_000, logger: silentLogger });
  const encoded: { revision: number; clusters: string }[] = [];
  const pusher = new UdpPusher({
    hub,
    clock: t.clock,
    timers: t,
    logger: silentLogger,
    bindHost,
    options: { ...DEFAULTS, ...options },
    encodeServiceInfo: (view, clusters) => {
      encoded.push({ revision: view.revision, clusters });
      return nacosServiceInfoJson(view, clusters, CACHE_MILLIS);
    },
  });
  await pusher.start();
  onCleanup(async () => {
    await pusher.close();
    hub.close();
  });
  /** Moves time on by `ms`, runs what falls due, and lets the sends it started go out. */
  const tick = async (ms = 0): Promise<void> => {
    t.advance(ms);
    await settle();
  };
  const register = (service: string, id: string, overrides: Parameters<typeof inst>[0] = {}) =>
    registry.register({ service, instance: inst({ instanceId: id, ...overrides }) });
  return { registry, clock: t.clock, timers: t, hub, pusher, encoded, tick, register };
}

export interface Received {
  readonly raw: Buffer;
  readonly gzipped: boolean;
  readonly packet: { type: string; data: string; lastRefTime: number };
  readonly from: RemoteInfo;
}

/** A Nacos-like client socket that records the packets it gets and acks only when told to. */
export class Receiver {
  readonly packets: Received[] = [];
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (raw, from) => {
      const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
      const packet = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString('utf8')) as Received['packet'];
      this.packets.push({ raw, gzipped, packet, from });
      this.wake?.();
    });
  }

  static async open(host = '127.0.0.1'): Promise<Receiver> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => {
      socket.bind(0, host, resolve);
    });
    onCleanup(() => {
      socket.close();
    });
    return new Receiver(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Resolves once `count` packets in all have arrived. */
  async received(count: number): Promise<Received[]> {
    while (this.packets.length < count) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.packets;
  }

  /** Sends a push-ack (as a Nacos client does) to the pusher at 127.0.0.1:`port`; resolves once sent. */
  ack(lastRefTime: number | string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(JSON.stringify({ type: 'push-ack', lastRefTime, data: '' }), port, '127.0.0.1', (err) => {
        if (err === null) resolve();
        else reject(err);
      });
    });
  }
}

export function balanced(s: UdpPushStats): boolean {
  return s.sent === s.acked + s.failed + s.superseded + s.pendingAcks;
}

export function last<T>(items: readonly T[]): T {
  const item = items.at(-1);
  if (item === undefined) throw new Error('nothing received');
  return item;
}

/** ManualTimers whose setImmediate callbacks wait for `turn()`, so a test can count event-loop turns. */
export class TurnTimers extends ManualTimers {
  private immediates: (() => void)[] = [];

  override setImmediate(fn: () => void): void {
    this.immediates.push(fn);
  }

  get turns(): number {
    return this.immediates.length;
  }

  /** Runs the callbacks queued so far (one event-loop turn). */
  turn(): void {
    const now = this.immediates;
    this.immediates = [];
    for (const fn of now) fn();
  }
}
