import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createRegistryClient, type RegistryClient } from '../../src/client/registry-client.js';
import type { ServiceChangeEvent } from '../../src/client/service-cache.js';
import type { RegistryClientOptions } from '../../src/client/options.js';
import { ServiceInfoUnavailableError } from '../../src/client/errors.js';
import { advanceTo, FakeServer, host } from './fake-transport.js';
import { onCleanup } from '../support/server.js';

function setup(options: Partial<RegistryClientOptions> = {}, addresses = ['a:1']) {
  const scheduler = new VirtualTimeScheduler();
  const servers = new Map(addresses.map((a) => [a, new FakeServer(a, scheduler)]));
  const client = createRegistryClient({
    servers: addresses,
    scheduler,
    random: () => 0.5,
    transportFactory: (address) => servers.get(address) as FakeServer,
    ...options,
  });
  onCleanup(async () => {
    const closing = client.close();
    await advanceTo(scheduler, scheduler.now() + 60_000);
    await closing;
  });
  const a = servers.get(addresses[0] ?? '') as FakeServer;
  return { scheduler, client, a, servers };
}

function collect(client: RegistryClient, service: string): ServiceChangeEvent[] {
  const events: ServiceChangeEvent[] = [];
  const sub = client.watch$(service).subscribe((e) => events.push(e));
  onCleanup(() => {
    sub.unsubscribe();
  });
  return events;
}

describe('getServiceInfo: the updating guard', () => {
  it('fetches an unknown key once for any number of concurrent callers', async () => {
    const { scheduler, client, a } = setup({ mode: 'poll' });
    a.latencyMs = 100;
    a.setHosts('orders', [host('i-1')]);
    const results = [client.getServiceInfo('orders'), client.getServiceInfo('orders'), client.getServiceInfo('orders')];
    const other = client.getServiceInfo('billing');
    await advanceTo(scheduler, 100);
    const [r1, r2, r3] = await Promise.all(results);
    expect(a.calls.filter((c) => c.startsWith('get:orders'))).toEqual(['get:orders@0']);
    expect(r1?.snapshot.hosts.map((h) => h.instanceId)).toEqual(['i-1']);
    expect(r2?.snapshot).toBe(r1?.snapshot);
    expect(r3?.snapshot).toBe(r1?.snapshot);
    expect(r1).toMatchObject({ stale: false, source: 'pull' });
    expect((await other).snapshot.hosts).toEqual([]);
    // A later read is answered from the cache, without a call.
    const again = client.getServiceInfo('orders');
    await advanceTo(scheduler, 101);
    expect((await again).snapshot).toBe(r1?.snapshot);
    expect(a.calls.filter((c) => c.startsWith('get:orders'))).toHaveLength(1);
  });

  it('waits at most the hold time for a slow fetch, then fails with no copy anywhere, and the fetch still lands', async () => {
    const { scheduler, client, a } = setup({ mode: 'poll', updateHoldMs: 5_000 });
    a.latencyMs = 8_000;
    a.setHosts('orders', [host('i-1')]);
    const first = client.getServiceInfo('orders');
    let settled: unknown;
    first.then(
      (v) => (settled = v),
      (e: unknown) => (settled = e),
    );
    await advanceTo(scheduler, 4_999);
    expect(settled).toBeUndefined();
    await advanceTo(scheduler, 5_000);
    expect(settled).toBeInstanceOf(ServiceInfoUnavailableError);
    await advanceTo(scheduler, 8_000);
    const later = client.getServiceInfo('orders');
    await advanceTo(scheduler, 8_001);
    expect((await later).snapshot.hosts).toHaveLength(1);
  });

  it('keeps exactly one update task per key', async () => {
    const { scheduler, client } = setup({ mode: 'poll' });
    void client.getServiceInfo('orders').catch(() => undefined);
    void client.getServiceInfo('orders', { clusters: [] }).catch(() => undefined);
    collect(client, 'orders');
    void client.getServiceInfo('orders', { clusters: ['b', 'a'] }).catch(() => undefined);
    void client.getServiceInfo('orders', { clusters: ['a', 'b'] }).catch(() => undefined);
    await advanceTo(scheduler, 10);
    expect(client.stats().updateTasks).toBe(2);
  });
});

describe('the poll fallback', () => {
  it('polls every cache_millis while no push arrives, and skips a poll after a newer push', async () => {
    const { scheduler, client, a } = setup({ mode: 'grpc' });
    a.setHosts('orders', [host('i-1')]);
    collect(client, 'orders');
    // The stream's first snapshot lands at 10 ms, after the task was created: the task's first
    // run (at the 1 s minimum) counts it as a refresh and does not pull.
    await advanceTo(scheduler, 10_999);
    expect(client.taskCounters('orders')).toEqual({ runs: 1, pulls: 0 });
    // No push since that run: the next run (after cache_millis, 10 s) pulls.
    await advanceTo(scheduler, 11_010);
    expect(client.taskCounters('orders')).toEqual({ runs: 2, pulls: 1 });
    await advanceTo(scheduler, 15_000);
    a.push('orders', [host('i-1'), host('i-2')]);
    // The push moved lastRefTime since the previous run: no pull.
    await advanceTo(scheduler, 21_010);
    expect(client.taskCounters('orders')).toEqual({ runs: 3, pulls: 1 });
    await advanceTo(scheduler, 31_020);
    expect(client.taskCounters('orders')).toEqual({ runs: 4, pulls: 2 });
  });

  it('never lets an older pull overwrite a newer push', async () => {
    const { scheduler, client, a } = setup({ mode: 'grpc' });
    a.setHosts('orders', [host('i-1')]);
    const events = collect(client, 'orders');
    await advanceTo(scheduler, 20);
    a.latencyMs = 500;
    // The task's pull at 10 s reads revision N; a push of N+1 lands before that pull answers.
    await advanceTo(scheduler, 10_005);
    a.push('orders', [host('i-1'), host('i-2')]);
    await advanceTo(scheduler, 11_000);
    const r = client.getServiceInfo('orders');
    await advanceTo(scheduler, 11_001);
    expect((await r).snapshot.hosts.map((h) => h.instanceId)).toEqual(['i-1', 'i-2']);
    expect(events.at(-1)?.diff.added.map((h) => h.instanceId)).toEqual(['i-2']);
    expect(events.filter((e) => e.diff.removed.length > 0)).toEqual([]);
  });

  it('backs off while the server is down and recovers its cadence', async () => {
    const { scheduler, client, a } = setup({ mode: 'poll', pollIntervalMinMs: 1_000, pollIntervalMaxMs: 8_000 });
    a.setHosts('orders', [host('i-1')]);
    await (async () => {
      const r = client.getServiceInfo('orders');
      await advanceTo(scheduler, 10);
      await r;
    })();
    a.down = true;
    a.calls.length = 0;
    await advanceTo(scheduler, 40_000);
    const times = a.calls.filter((c) => c.startsWith('get:')).map((c) => Number(c.split('@')[1]));
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // Retries after 2, 4, 8, 8 ... s (min × 2^failures, capped at the max).
    expect(gaps.slice(0, 4)).toEqual([2_010, 4_010, 8_010, 8_010]);
    const r = client.getServiceInfo('orders');
    await advanceTo(scheduler, 40_001);
    expect(await r).toMatchObject({ stale: true, source: 'pull' });
    a.down = false;
    a.calls.length = 0;
    await advanceTo(scheduler, 80_000);
    const after = a.calls.filter((c) => c.startsWith('get:')).map((c) => Number(c.split('@')[1]));
    // Back to every 8 s (cache_millis 10 s capped by the max of 8 s), no longer backing off.
    expect(after.slice(1).map((t, i) => t - (after[i] ?? 0))).toEqual(Array(after.length - 1).fill(8_010));
    expect(client.reachable).toBe(true);
  });
});

describe('push and watch$', () => {
  it('emits the current state first, then each change with its diff', async () => {
    const { scheduler, client, a } = setup();
    a.setHosts('orders', [host('i-1'), host('i-2', { weight: 1 })]);
    const events = collect(client, 'orders');
    await advanceTo(scheduler, 20);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ initial: true, source: 'push' });
    expect(events[0]?.diff.added.map((h) => h.instanceId)).toEqual(['i-1', 'i-2']);
    a.push('orders', [host('i-2', { weight: 5 }), host('i-3')]);
    await advanceTo(scheduler, 30);
    const d = events[1]?.diff;
    expect(d?.added.map((h) => h.instanceId)).toEqual(['i-3']);
    expect(d?.modified.map((h) => [h.instanceId, h.weight])).toEqual([['i-2', 5]]);
    expect(d?.removed.map((h) => h.instanceId)).toEqual(['i-1']);
    // A second watcher of the same key starts from the cache and shares the one stream.
    const second = collect(client, 'orders');
    expect(second[0]).toMatchObject({ initial: true });
    expect(a.openStreams('orders')).toBe(1);
  });

  it('closes the stream when the last watcher leaves', async () => {
    const { scheduler, client, a } = setup();
    const s1 = client.watch$('orders').subscribe();
    const s2 = client.watch$('orders').subscribe();
    await advanceTo(scheduler, 20);
    expect(a.openStreams('orders')).toBe(1);
    s1.unsubscribe();
    expect(a.openStreams('orders')).toBe(1);
    s2.unsubscribe();
    expect(a.openStreams('orders')).toBe(0);
    expect(client.stats().pushStreams).toBe(0);
  });

  it('resubscribes with back-off after the stream breaks', async () => {
    const { scheduler, client, a } = setup();
    const events = collect(client, 'orders');
    await advanceTo(scheduler, 20);
    a.down = true;
    a.breakStreams();
    await advanceTo(scheduler, 2_000);
    a.down = false;
    a.push('orders', [host('i-9')]);
    await advanceTo(scheduler, 10_000);
    expect(events.at(-1)?.snapshot.hosts.map((h) => h.instanceId)).toEqual(['i-9']);
    expect(a.openStreams('orders')).toBe(1);
    const subscribes = a.calls.filter((c) => c.startsWith('subscribe:')).map((c) => Number(c.split('@')[1]));
    expect(subscribes.slice(0, 4)).toEqual([0, 520, 1520, 3520]);
  });

  it('keeps the last non-empty host list against an empty push, unless protection is off', async () => {
    const protectedClient = setup();
    protectedClient.a.setHosts('orders', [host('i-1')]);
    const events = collect(protectedClient.client, 'orders');
    await advanceTo(protectedClient.scheduler, 20);
    protectedClient.a.push('orders', []);
    await advanceTo(protectedClient.scheduler, 30);
    expect(events).toHaveLength(1);
    const r = protectedClient.client.getServiceInfo('orders');
    await advanceTo(protectedClient.scheduler, 31);
    expect((await r).snapshot.hosts).toHaveLength(1);

    const open = setup({ emptyPushProtection: false });
    open.a.setHosts('orders', [host('i-1')]);
    const events2 = collect(open.client, 'orders');
    await advanceTo(open.scheduler, 20);
    open.a.push('orders', []);
    await advanceTo(open.scheduler, 30);
    expect(events2.at(-1)?.diff.removed.map((h) => h.instanceId)).toEqual(['i-1']);
  });
});

describe('several servers', () => {
  it('sticks to one server until it fails, then moves on; answers are stale only when none answers', async () => {
    const { scheduler, client, servers } = setup({ mode: 'poll' }, ['a:1', 'b:1']);
    const a = servers.get('a:1') as FakeServer;
    const b = servers.get('b:1') as FakeServer;
    a.setHosts('orders', [host('from-a')]);
    b.setHosts('orders', [host('from-b')]);
    const r1 = client.getServiceInfo('orders');
    await advanceTo(scheduler, 10);
    expect((await r1).snapshot.hosts[0]?.instanceId).toBe('from-a');
    a.down = true;
    // The next poll (its first run at 1 s skips: the fetch just filled the key) fails on a at 11 s,
    // moves to b and is answered there.
    await advanceTo(scheduler, 11_100);
    expect(client.stats().server).toBe('b:1');
    const r2 = client.getServiceInfo('orders');
    await advanceTo(scheduler, 11_101);
    expect(await r2).toMatchObject({ stale: false });
    expect((await r2).snapshot.hosts[0]?.instanceId).toBe('from-b');
    b.down = true;
    await advanceTo(scheduler, 30_000);
    const r3 = client.getServiceInfo('orders');
    await advanceTo(scheduler, 30_001);
    expect(await r3).toMatchObject({ stale: true });
    expect(client.reachable).toBe(false);
  });

  it('re-registers what it owns once a server answers again (redo)', async () => {
    const { scheduler, client, servers } = setup({ mode: 'poll' }, ['a:1', 'b:1']);
    const a = servers.get('a:1') as FakeServer;
    const b = servers.get('b:1') as FakeServer;
    const handle = client.register({ service: 'orders', instanceId: 'me', ip: '10.0.0.1', port: 80 });
    await advanceTo(scheduler, 20);
    expect(handle.state.kind).toBe('registered');
    expect(a.registered.has('me')).toBe(true);
    a.down = true;
    // The renewal at 30 s fails over to b, which does not know the instance: NOT_FOUND → register.
    await advanceTo(scheduler, 30_100);
    expect(b.registered.has('me')).toBe(true);
    expect(handle.state.kind).toBe('registered');
  });

  it('close() cancels registrations and stops every timer', async () => {
    const { scheduler, client, a } = setup();
    client.register({ service: 'orders', instanceId: 'me', ip: '10.0.0.1', port: 80 });
    collect(client, 'orders');
    await advanceTo(scheduler, 20);
    const closing = client.close();
    await advanceTo(scheduler, 100);
    await closing;
    expect(a.registered.has('me')).toBe(false);
    expect(a.openStreams('orders')).toBe(0);
    expect(scheduler.actions).toEqual([]);
    expect(a.calls.at(-1)).toBe('close');
    let error: unknown;
    client.watch$('x').subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toContain('the registry client is closed');
    await expect(client.getServiceInfo('x')).rejects.toThrow('the registry client is closed');
  });
});
