/**
 * UdpPusher, acks, retries and targets: which ack settles which push, resends and their end, and
 * how targets come, expire and go. Harness: test/support/udp-push-harness.ts.
 */
import { describe, expect, it } from 'vitest';
import type { UdpPushStats } from '../../src/push/udp-pusher.js';
import { eventually } from '../support/server.js';
import { DEFAULTS, ORDERS, USERS, setup, Receiver, balanced, last } from '../support/udp-push-harness.js';

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
