/**
 * UdpPusher, what it sends and to whom: the Nacos 1.x packets, gzip, the clusters string, the
 * views a target is given, and the batching of sends. Harness: test/support/udp-push-harness.ts.
 */
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { nacosServiceInfoJson } from '../../src/common/nacos-json.js';
import { silentLogger } from '../../src/common/logger.js';
import { PushHub } from '../../src/push/push-hub.js';
import { ManualTimers } from '../support/manual-timers.js';
import { inst, makeRegistry } from '../core/helpers.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../../src/core/model.js';
import { UdpPusher } from '../../src/push/udp-pusher.js';
import { onCleanup } from '../support/server.js';
import { CACHE_MILLIS, DEFAULTS, ORDERS, settle, setup, Receiver, last, TurnTimers } from '../support/udp-push-harness.js';

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
    timers.turn(); // the merge window's leading edge: the hub delivers to all five, the pusher queues them
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
    const hub = new PushHub({ registry: fake.source, timers, clock, mergeWindowMs: 0, fanOutSliceSize: 100, logger: silentLogger });
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

