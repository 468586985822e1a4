/**
 * UdpPusher on its own: a real PushHub and Registry, timers and clock driven by hand (ManualTimers),
 * and real UDP sockets on 127.0.0.1 port 0 standing in for Nacos clients. Time never passes by
 * itself: retries, expiry and sends happen only when a test advances the timers. The only waits
 * are for datagrams to cross the loopback (a packet to arrive, an ack to be taken).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { nacosServiceInfoJson } from '../../src/common/nacos-json.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../../src/core/model.js';
import { PushHub } from '../../src/push/push-hub.js';
import { UdpPusher, type UdpPushOptions, type UdpPushStats } from '../../src/push/udp-pusher.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { ManualTimers } from '../support/manual-timers.js';
import { eventually, onCleanup } from '../support/server.js';

const CACHE_MILLIS = 5_000;
const DEFAULTS: UdpPushOptions = {
  targetExpiryMs: 60_000,
  ackTimeoutMs: 1_000,
  maxRetries: 3,
  sendBatchSize: 256,
  receiveBufferBytes: 1 << 20,
};

const ORDERS: ServiceRef = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };
const USERS: ServiceRef = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'users' };

/** Lets pending promise continuations (the pusher's async send path) run. Not a sleep: one turn. */
function settle(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}

async function setup(options: Partial<UdpPushOptions> = {}, timers?: ManualTimers, bindHost = '127.0.0.1') {
  const { registry, clock } = makeRegistry();
  const t = timers ?? new ManualTimers(clock);
  if (t.clock !== clock) t.clock.set(clock.nowMs());
  const hub = new PushHub({ registry, timers: t, mergeWindowMs: 0, fanOutSliceSize: 1_000, logger: silentLogger });
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

interface Received {
  readonly raw: Buffer;
  readonly gzipped: boolean;
  readonly packet: { type: string; data: string; lastRefTime: number };
  readonly from: RemoteInfo;
}

/** A Nacos-like client socket that records the packets it gets and acks only when told to. */
class Receiver {
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

function balanced(s: UdpPushStats): boolean {
  return s.sent === s.acked + s.failed + s.superseded + s.pendingAcks;
}

function last<T>(items: readonly T[]): T {
  const item = items.at(-1);
  if (item === undefined) throw new Error('nothing received');
  return item;
}

describe('UdpPusher: what it sends', () => {
  it('pushes a change to a target as a Nacos 1.x dom packet whose lastRefTime is the revision', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    // Touching is not a push: the caller has just pulled this view.
    await h.tick();
    expect(h.pusher.stats()).toMatchObject({ targets: 1, sent: 0, pendingAcks: 0 });

    h.register('orders', 'i-1');
    await h.tick();
    const [p] = await client.received(1);
    if (p === undefined) throw new Error('no packet');
    const view = h.registry.query({ service: 'orders' });
    expect(p.gzipped).toBe(false);
    expect(p.packet).toEqual({ type: 'dom', data: nacosServiceInfoJson(view, '', CACHE_MILLIS), lastRefTime: view.revision });
    expect(JSON.parse(p.packet.data)).toMatchObject({ name: 'DEFAULT_GROUP@@orders', clusters: '', hosts: [{ instanceId: 'i-1' }] });
    expect(p.from.port).toBe(h.pusher.port);
    expect(h.pusher.stats()).toMatchObject({ targets: 1, sent: 1, resent: 0, pendingAcks: 1, acked: 0 });
  });

  it('gzips a packet of 1 KiB or more', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    for (let i = 0; i < 8; i++) h.register('orders', `i-${i}`, { metadata: { description: 'x'.repeat(100) } });
    await h.tick();
    const p = last(await client.received(1));
    expect(p.gzipped).toBe(true);
    expect(gunzipSync(p.raw).length).toBeGreaterThanOrEqual(1_024);
    expect(JSON.parse(p.packet.data)).toMatchObject({ hosts: expect.arrayContaining([expect.objectContaining({ instanceId: 'i-7' })]) as unknown });
  });

  it('echoes the clusters string of the pull, and encodes each view once per clusters string', async () => {
    const h = await setup();
    const east1 = await Receiver.open();
    const east2 = await Receiver.open();
    const all = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', east1.port, 'east', { clusters: ['east'] });
    h.pusher.touch(ORDERS, '127.0.0.1', east2.port, 'east', { clusters: ['east'] });
    h.pusher.touch(ORDERS, '127.0.0.1', all.port, '', {});
    h.register('orders', 'e', { cluster: 'east' });
    await h.tick();
    const [a] = await east1.received(1);
    const [b] = await east2.received(1);
    const [c] = await all.received(1);
    expect(a?.raw.equals(b?.raw ?? Buffer.alloc(0))).toBe(true);
    expect(JSON.parse(a?.packet.data ?? '{}')).toMatchObject({ clusters: 'east' });
    expect(JSON.parse(c?.packet.data ?? '{}')).toMatchObject({ clusters: '' });
    const revision = h.registry.query({ service: 'orders' }).revision;
    expect(h.encoded.filter((e) => e.revision === revision).map((e) => e.clusters).sort()).toEqual(['', 'east']);
  });

  it('does not push a change that leaves the target’s hosts as they were (a cluster outside its filter)', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.register('orders', 'e', { cluster: 'east' });
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, 'east', { clusters: ['east'] });
    h.register('orders', 'w', { cluster: 'west' });
    await h.tick();
    expect(h.pusher.stats().sent).toBe(0);
    h.register('orders', 'e2', { cluster: 'east' });
    await h.tick();
    expect(h.pusher.stats().sent).toBe(1);
    expect(JSON.parse(last(await client.received(1)).packet.data)).toMatchObject({ hosts: [{ instanceId: 'e' }, { instanceId: 'e2' }] });
  });

  it('never pushes an empty host list, and pushes the next non-empty one', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.register('orders', 'i-1');
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.registry.cancel({ service: 'orders', instanceId: 'i-1' });
    await h.tick();
    expect(h.registry.query({ service: 'orders' }).hosts).toHaveLength(0);
    expect(h.pusher.stats().sent).toBe(0);
    h.register('orders', 'i-2');
    await h.tick();
    expect(h.pusher.stats().sent).toBe(1);
    expect(JSON.parse(last(await client.received(1)).packet.data)).toMatchObject({ hosts: [{ instanceId: 'i-2' }] });
  });

  it('ignores pulls it cannot push to', async () => {
    const h = await setup();
    h.pusher.touch(ORDERS, 'not-an-ip', 5_000, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', 0, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', 65_536, '', {});
    expect(h.pusher.stats().targets).toBe(0);
    expect(h.hub.stats().subscribers).toBe(0);
  });

  it('sends at most sendBatchSize packets per event-loop turn', async () => {
    const timers = new TurnTimers();
    const h = await setup({ sendBatchSize: 2 }, timers);
    const clients = await Promise.all([0, 1, 2, 3, 4].map(() => Receiver.open()));
    for (const c of clients) h.pusher.touch(ORDERS, '127.0.0.1', c.port, '', {});
    h.register('orders', 'i-1');
    h.timers.advance(0); // the merge window: the hub delivers to all five, the pusher queues them
    await settle();
    expect(h.pusher.stats().sent).toBe(0);
    const sentAfterEachTurn: number[] = [];
    while (timers.turns > 0) {
      timers.turn();
      await settle();
      sentAfterEachTurn.push(h.pusher.stats().sent);
    }
    expect(sentAfterEachTurn).toEqual([2, 4, 5]);
    for (const c of clients) await c.received(1);
  });
});

/** ManualTimers whose setImmediate callbacks wait for `turn()`, so a test can count event-loop turns. */
class TurnTimers extends ManualTimers {
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

describe('UdpPusher: acks and retries', () => {
  it('takes an ack from the target whose lastRefTime is the push id, as a number or a string', async () => {
    const h = await setup();
    const numeric = await Receiver.open();
    const textual = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', numeric.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', textual.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    const a = last(await numeric.received(1));
    const b = last(await textual.received(1));
    await numeric.ack(a.packet.lastRefTime, h.pusher.port);
    // The Nacos 1.x Java client writes lastRefTime as a string.
    await textual.ack(String(b.packet.lastRefTime), h.pusher.port);
    await eventually(() => h.pusher.stats().acked === 2, 'both acks');
    expect(h.pusher.stats()).toMatchObject({ sent: 2, acked: 2, pendingAcks: 0 });
    // Acked pushes are not sent again.
    await h.tick(DEFAULTS.ackTimeoutMs * 5);
    expect(h.pusher.stats()).toMatchObject({ resent: 0, failed: 0 });
    expect(numeric.packets).toHaveLength(1);
  });

  it('matches an ack from another local address of the client by its port and push id', async () => {
    const h = await setup();
    // Bound to every address: the push goes to 127.0.0.2, the ack leaves from 127.0.0.1.
    const client = await Receiver.open('0.0.0.0');
    h.pusher.touch(ORDERS, '127.0.0.2', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    const p = last(await client.received(1));
    await client.ack(p.packet.lastRefTime, h.pusher.port);
    await eventually(() => h.pusher.stats().acked === 1, 'the ack');
    expect(h.pusher.stats().pendingAcks).toBe(0);
  });

  it('does not guess when such an ack could be for two targets, nor take acks for other ids or from other ports', async () => {
    const h = await setup();
    const client = await Receiver.open('0.0.0.0');
    const stranger = await Receiver.open();
    // Two targets on the same port at two addresses: an ack from a third address is ambiguous.
    h.pusher.touch(ORDERS, '127.0.0.2', client.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.3', client.port, '', {});
    // And one at the ack's own address, for another service: the marker that acks were read.
    h.pusher.touch(USERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    h.register('users', 'u-1');
    await h.tick();
    await client.received(3);
    const ordersId = h.registry.query({ service: 'orders' }).revision;
    const usersId = h.registry.query({ service: 'users' }).revision;
    expect(ordersId).not.toBe(usersId);

    await client.ack(ordersId, h.pusher.port); // ambiguous
    await client.ack(123_456, h.pusher.port); // no such push
    await stranger.ack(ordersId, h.pusher.port); // another port
    await stranger.ack(usersId, h.pusher.port); // another port
    await client.ack(usersId, h.pusher.port); // exact: the marker
    await eventually(() => h.pusher.stats().acked > 0, 'the marker ack');
    expect(h.pusher.stats()).toMatchObject({ acked: 1, pendingAcks: 2 });
    // The two orders pushes are still unacked: they are sent again.
    await h.tick(DEFAULTS.ackTimeoutMs);
    expect(h.pusher.stats().resent).toBe(2);
  });

  it('resends an unacked push after each ack timeout, maxRetries times, then counts it failed', async () => {
    const h = await setup({ maxRetries: 2, ackTimeoutMs: 500 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    await client.received(1);
    await h.tick(499);
    expect(h.pusher.stats()).toMatchObject({ sent: 1, resent: 0 });
    await h.tick(1);
    expect(h.pusher.stats()).toMatchObject({ sent: 1, resent: 1, pendingAcks: 1 });
    await h.tick(500);
    expect(h.pusher.stats()).toMatchObject({ sent: 1, resent: 2, pendingAcks: 1, failed: 0 });
    const packets = await client.received(3);
    expect(packets.every((p) => p.raw.equals(packets[0]?.raw ?? Buffer.alloc(0)))).toBe(true);
    await h.tick(500);
    expect(h.pusher.stats()).toMatchObject({ sent: 1, resent: 2, pendingAcks: 0, failed: 1 });
    await h.tick(5_000);
    expect(h.pusher.stats()).toMatchObject({ resent: 2, failed: 1 });
    expect(h.pusher.stats().targets).toBe(1); // a failed push does not end the target
    expect(client.packets).toHaveLength(3);
  });

  it('stops resending once a late ack comes', async () => {
    const h = await setup({ maxRetries: 5, ackTimeoutMs: 500 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    await h.tick(500);
    const second = last(await client.received(2));
    await client.ack(second.packet.lastRefTime, h.pusher.port);
    await eventually(() => h.pusher.stats().acked === 1, 'the ack');
    await h.tick(5_000);
    expect(h.pusher.stats()).toMatchObject({ sent: 1, resent: 1, acked: 1, failed: 0, pendingAcks: 0 });
  });

  it('replaces an unacked push by a newer one to the same target; the old one is neither resent nor acked', async () => {
    const h = await setup({ ackTimeoutMs: 500 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    const first = last(await client.received(1));
    h.register('orders', 'i-2');
    await h.tick();
    const second = last(await client.received(2));
    expect(second.packet.lastRefTime).toBeGreaterThan(first.packet.lastRefTime);
    expect(h.pusher.stats()).toMatchObject({ sent: 2, superseded: 1, pendingAcks: 1 });

    await client.ack(first.packet.lastRefTime, h.pusher.port); // too late: it was replaced
    await client.ack(second.packet.lastRefTime, h.pusher.port);
    await eventually(() => h.pusher.stats().pendingAcks === 0, 'the second ack');
    expect(h.pusher.stats()).toMatchObject({ sent: 2, superseded: 1, acked: 1, resent: 0 });
    await h.tick(5_000);
    expect(h.pusher.stats().resent).toBe(0);
  });

  it('keeps sent = acked + failed + superseded + pending across a mixed run', async () => {
    const h = await setup({ maxRetries: 1, ackTimeoutMs: 500 });
    const acking = await Receiver.open();
    const silent = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', acking.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', silent.port, '', {});
    const steps: UdpPushStats[] = [];
    for (let i = 0; i < 4; i++) {
      h.register('orders', `i-${i}`);
      await h.tick();
      const p = last(await acking.received(i + 1));
      if (i % 2 === 0) {
        await acking.ack(p.packet.lastRefTime, h.pusher.port);
        await eventually(() => h.pusher.stats().acked === i / 2 + 1, 'the ack');
      }
      steps.push(h.pusher.stats());
      if (i === 2) {
        await h.tick(500);
        await h.tick(500); // the silent target's push fails
        steps.push(h.pusher.stats());
      }
    }
    expect(steps.map(balanced)).toEqual(steps.map(() => true));
    // Each change went to both; `silent` had three pushes replaced and one failed, `acking` one replaced.
    expect(last(steps)).toMatchObject({ sent: 8, acked: 2, superseded: 3, failed: 1, pendingAcks: 2 });
  });
});

describe('UdpPusher: targets', () => {
  it('drops a target that does not pull again within targetExpiryMs, and unsubscribes it', async () => {
    const h = await setup({ targetExpiryMs: 10_000 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    await h.tick(6_000);
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {}); // a pull renews it: now until 16 000
    expect(h.pusher.stats().targets).toBe(1);
    await h.tick(4_000); // the sweep at 10 000 keeps it
    expect(h.pusher.stats()).toMatchObject({ targets: 1, expiredTargets: 0 });
    await h.tick(10_000); // the sweep at 20 000 drops it
    expect(h.pusher.stats()).toMatchObject({ targets: 0, expiredTargets: 1 });
    expect(h.hub.stats().subscribers).toBe(0);
    h.register('orders', 'i-1');
    await h.tick();
    expect(h.pusher.stats().sent).toBe(0);
  });

  it('drops an expired target on the next change, before the sweep comes round', async () => {
    const h = await setup({ targetExpiryMs: 10_000 });
    const client = await Receiver.open();
    await h.tick(1);
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {}); // expires at 10 001; sweeps at 10 000, 20 000
    await h.tick(10_000);
    expect(h.pusher.stats().targets).toBe(1);
    h.register('orders', 'i-1');
    await h.tick();
    expect(h.pusher.stats()).toMatchObject({ targets: 0, expiredTargets: 1, sent: 0 });
    expect(h.hub.stats().subscribers).toBe(0);
  });

  it('stops resending to a target that expired with a push unacked', async () => {
    const h = await setup({ targetExpiryMs: 10_000, ackTimeoutMs: 4_000, maxRetries: 10 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    await h.tick(4_000);
    await h.tick(4_000);
    expect(h.pusher.stats()).toMatchObject({ resent: 2, pendingAcks: 1 });
    await h.tick(2_000); // the sweep at 10 000
    expect(h.pusher.stats()).toMatchObject({ targets: 0, pendingAcks: 0 });
    await h.tick(20_000);
    expect(h.pusher.stats().resent).toBe(2);
  });

it('counts a push whose target expired unacked as failed, keeping sent = acked + failed + superseded + pending', async () => {
    const h = await setup({ targetExpiryMs: 10_000, ackTimeoutMs: 4_000, maxRetries: 10 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    expect(balanced(h.pusher.stats())).toBe(true);
    await h.tick(10_000);
    expect(h.pusher.stats()).toMatchObject({ targets: 0, sent: 1, pendingAcks: 0 });
    expect(balanced(h.pusher.stats())).toBe(true);
  });

it('retries and counts each push when one client port is a target through two filters', async () => {
    const h = await setup({ maxRetries: 1, ackTimeoutMs: 500 });
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, 'east', { clusters: ['east'] });
    h.register('orders', 'e', { cluster: 'east' });
    await h.tick();
    const [a, b] = await client.received(2);
    expect(a?.packet.lastRefTime).toBe(b?.packet.lastRefTime);
    expect(h.pusher.stats()).toMatchObject({ sent: 2, pendingAcks: 2 });
    await h.tick(500);
    await h.tick(500);
    expect(h.pusher.stats()).toMatchObject({ sent: 2, resent: 2, failed: 2, pendingAcks: 0 });
  });

it('pushes to an IPv4 target when bound to the IPv6 any-address', async () => {
    const h = await setup({}, undefined, '::');
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    expect(h.pusher.stats()).toMatchObject({ sent: 1, pendingAcks: 1 });
    await client.received(1);
  });

  it('keeps one target per address, port, service, clusters string and healthy-only flag', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    expect(h.pusher.stats().targets).toBe(1);
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', { healthyOnly: true });
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, 'east', { clusters: ['east'] });
    h.pusher.touch(USERS, '127.0.0.1', client.port, '', {});
    h.pusher.touch(ORDERS, '127.0.0.2', client.port, '', {});
    expect(h.pusher.stats().targets).toBe(5);
    expect(h.hub.stats().subscribers).toBe(5);
  });

  it('close() cancels retries and the sweep, drops targets and ignores later pulls; it is idempotent', async () => {
    const h = await setup();
    const client = await Receiver.open();
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    h.register('orders', 'i-1');
    await h.tick();
    expect(h.pusher.stats().pendingAcks).toBe(1);
    await h.pusher.close();
    await h.pusher.close();
    expect(h.timers.pending).toBe(0);
    expect(h.pusher.stats()).toMatchObject({ targets: 0, pendingAcks: 0 });
    expect(h.hub.stats().subscribers).toBe(0);
    h.pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    expect(h.pusher.stats().targets).toBe(0);
  });
});

describe('UdpPusher: the views a target is given', () => {
  /** A ViewSource whose views the test writes, to reach what the registry never produces. */
  function fakeSource(first: ServiceView) {
    let current = first;
    const listeners: ((c: { namespace: string; group: string; service: string; revision: number }) => void)[] = [];
    return {
      source: {
        query: (_ref: Partial<ServiceRef>, _filter?: ServiceFilter): ServiceView => current,
        onServiceChanged: (l: (c: { namespace: string; group: string; service: string; revision: number }) => void) => {
          listeners.push(l);
          return () => undefined;
        },
      },
      publish(view: ServiceView): void {
        current = view;
        for (const l of listeners) l({ namespace: view.namespace, group: view.group, service: view.name, revision: view.revision });
      },
    };
  }

  it('never pushes an older or equal revision, or a newer one with the hosts it last pushed', async () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-2', ip: '10.0.0.2' }) });
    const base = registry.query({ service: 'orders' });
    const at = (revision: number, checksum: string): ServiceView => ({ ...base, revision, lastRefTime: revision, checksum });
    const fake = fakeSource(at(10, 'a'));
    const timers = new ManualTimers(clock);
    const hub = new PushHub({ registry: fake.source, timers, mergeWindowMs: 0, fanOutSliceSize: 100, logger: silentLogger });
    const pusher = new UdpPusher({
      hub,
      clock,
      timers,
      logger: silentLogger,
      bindHost: '127.0.0.1',
      options: DEFAULTS,
      encodeServiceInfo: (view, clusters) => nacosServiceInfoJson(view, clusters, CACHE_MILLIS),
    });
    await pusher.start();
    onCleanup(async () => {
      await pusher.close();
      hub.close();
    });
    const client = await Receiver.open();
    pusher.touch(ORDERS, '127.0.0.1', client.port, '', {});
    const publish = async (view: ServiceView): Promise<void> => {
      fake.publish(view);
      timers.advance(0);
      await settle();
    };
    await publish(at(11, 'a')); // same hosts as the pulled view
    await publish(at(12, 'b'));
    await publish(at(12, 'c')); // same revision
    await publish(at(11, 'd')); // older
    await publish(at(13, 'b')); // the hosts it last pushed
    await publish(at(14, 'a'));
    expect(pusher.stats().sent).toBe(2);
    const packets = await client.received(2);
    expect(packets.map((p) => p.packet.lastRefTime)).toEqual([12, 14]);
  });
});
