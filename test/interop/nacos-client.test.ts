import { describe, expect, it } from 'vitest';
import { NacosNamingClient, type Hosts } from 'nacos';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { Subject } from 'rxjs';
import { ManualClock } from '../../src/core/clock.js';
import type { HeraldServer, HeraldServerDeps } from '../../src/server/herald-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { connect, eventually, onCleanup, record, startServer, untilRegistry, type Recording } from '../support/server.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, log: () => undefined } as unknown as typeof console;

async function nacosClient(server: HeraldServer): Promise<NacosNamingClient> {
  const client = new NacosNamingClient({ logger: quiet, serverList: `127.0.0.1:${server.httpPort ?? 0}`, namespace: 'public' });
  await client.ready();
  onCleanup(() => (client as unknown as { close(): Promise<void> }).close());
  return client;
}

async function heraldWithNacos(config: Partial<ServerConfig> = {}, deps: Partial<HeraldServerDeps> = {}): Promise<HeraldServer> {
  return startServer({ mergeWindowMs: 2, ...config }, deps);
}

/** What a client's subscription to `service` is told, recorded (the client calls back only with non-empty lists). */
function watch(client: NacosNamingClient, service: string): Recording<Hosts> {
  const told = new Subject<Hosts>();
  const seen = record(told);
  client.subscribe(service, (hosts) => {
    told.next(hosts);
  });
  return seen;
}

/** A complete `nacos` Instance (its type wants every field; the client fills defaults the same way). */
function instance(ip: string, port: number, extra: { weight?: number; metadata?: Record<string, string> } = {}): Parameters<NacosNamingClient['registerInstance']>[1] {
  return { instanceId: '', ip, port, healthy: true, enabled: true, ...extra };
}

const ips = (hosts: Hosts | undefined) => (hosts ?? []).map((h) => `${h.ip}:${h.port}`).sort();

describe('the public `nacos` npm client against herald', () => {
  it('registers; a second client gets the change by UDP push, before any poll could have happened', async () => {
    // Polls every 60 s: anything sooner is a push.
    const server = await heraldWithNacos({ registry: { cacheMillis: 60_000 }, udpTargetExpiryMs: 120_000 });
    const owner = await nacosClient(server);
    const watcher = await nacosClient(server);
    const seen = watch(watcher, 'orders');
    // Neither the HTTP server nor the client says when a list call was served: these two poll.
    await eventually(() => (server.udp?.stats().targets ?? 0) === 1, 'watcher is a UDP target');
    // The client's update task pulls once, 1 s after subscribing; from then on the next poll is 60 s away.
    await eventually(() => (server.nacosRequests?.list ?? 0) >= 2, 'first scheduled poll');
    const listsBefore = server.nacosRequests?.list;
    await owner.registerInstance('orders', instance('10.0.0.1', 8080, { weight: 2, metadata: { v: '1' } }));
    await seen.until(() => true, 'push received');
    expect(server.nacosRequests?.list).toBe(listsBefore);
    expect(seen.values).toHaveLength(1);
    expect(seen.values[0]).toEqual([
      expect.objectContaining({ ip: '10.0.0.1', port: 8080, weight: 2, healthy: true, enabled: true, metadata: { v: '1' }, clusterName: 'DEFAULT' }),
    ]);
    // The client acks after its callback; the server counts the ack when it arrives (no event).
    await eventually(() => (server.udp?.stats().acked ?? 0) >= 1, 'the push acked');

    // Deregistration is pushed too (with a second instance: the client ignores empty lists).
    await owner.registerInstance('orders', instance('10.0.0.2', 8080));
    await seen.until((hosts) => ips(hosts).length === 2, 'second instance pushed');
    await owner.deregisterInstance('orders', instance('10.0.0.1', 8080));
    await seen.until((hosts) => ips(hosts).join() === '10.0.0.2:8080', 'deregistration pushed');
    expect(server.nacosRequests?.list).toBe(listsBefore);
  });

  it('decodes a gzip-compressed push of a large service', async () => {
    const server = await heraldWithNacos({ registry: { cacheMillis: 60_000 }, udpTargetExpiryMs: 120_000, mergeWindowMs: 50 });
    const watcher = await nacosClient(server);
    const seen = watch(watcher, 'big');
    // Nothing says when the client's list call was served.
    await eventually(() => (server.udp?.stats().targets ?? 0) === 1, 'watcher is a UDP target');
    const c = connect(server);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => c.register(RegisterRequest.fromPartial({ service: 'big', instance: { ip: '10.1.0.1', port: 1000 + i, metadata: { pad: 'y'.repeat(40) } } }))),
    );
    await seen.until((hosts) => hosts.length === 60, '60 hosts pushed');
  });

  it('beats keep an instance alive past its delete timeout while an unbeaten one is removed', { timeout: 40_000 }, async () => {
    // The server's clock moves only when the test moves it (its timers are real), so the npm
    // client's first beat, 10 s after it starts, can come as late as it likes: the server's time
    // waits for it. The unbeaten instance gets a 1 s lease through Nacos's preserved.* metadata.
    const clock = new ManualClock(Date.now());
    const server = await heraldWithNacos(
      { heartbeatCheckIntervalMs: 50, nacosBeatIntervalMs: 100, nacosBeatTimeoutMs: 1_500, nacosIpDeleteTimeoutMs: 3_000, registry: { selfPreservation: false } },
      { clock },
    );
    const owner = await nacosClient(server);
    await owner.registerInstance('orders', instance('10.0.0.1', 8080));
    const beaten = { service: 'orders', instanceId: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders' };
    const registeredAt = server.registry.getInstance(beaten).record.registrationTimestamp;
    const unbeaten = new URLSearchParams({
      serviceName: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.2',
      port: '8080',
      metadata: JSON.stringify({ 'preserved.heart.beat.interval': '300', 'preserved.heart.beat.timeout': '600', 'preserved.ip.delete.timeout': '1000' }),
    });
    await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/nacos/v1/ns/instance?${unbeaten.toString()}`, { method: 'POST' });
    expect(server.registry.query({ service: 'orders' }).hosts).toHaveLength(2);
    clock.advance(1_001);
    await untilRegistry(server, () => server.registry.query({ service: 'orders' }).hosts.length === 1, 'the unbeaten instance removed after its 1 s delete timeout');
    // Each round: a beat at the server's current time, then the clock moves on by less than the
    // beat timeout. Six rounds take the beaten instance 7 s past its registration, more than twice
    // its 3 s delete timeout: it is alive only because the beats renewed it.
    const beatNow = (): boolean => server.registry.getInstance(beaten).lastRenewalMs === clock.nowMs();
    await untilRegistry(server, beatNow, "the client's first beat (it comes 10 s after the client starts)", 20_000);
    for (let round = 1; round <= 6; round++) {
      clock.advance(1_000);
      await untilRegistry(server, beatNow, `beat ${round + 1}, after ${round} s more on the server's clock`);
    }
    expect(clock.nowMs() - registeredAt).toBe(7_001);
    expect(server.registry.query({ service: 'orders' }).hosts).toEqual([expect.objectContaining({ ip: '10.0.0.1', healthy: true })]);
    // The same registration all along: never evicted and registered again by a beat.
    expect(server.registry.getInstance(beaten).record.registrationTimestamp).toBe(registeredAt);
  });

  it('a gRPC subscriber sees a Nacos-registered instance, and a Nacos client sees a gRPC-registered one', async () => {
    const server = await heraldWithNacos();
    const nacos = await nacosClient(server);
    const grpc = connect(server);
    const pushes = record(grpc.subscribe(SubscribeRequest.fromPartial({ service: 'shared' })));
    await nacos.registerInstance('shared', instance('10.0.0.5', 5));
    await pushes.until((v) => v.hosts[0]?.ip === '10.0.0.5', 'gRPC subscriber sees the Nacos instance');
    await grpc.register(RegisterRequest.fromPartial({ service: 'shared', instance: { ip: '10.0.0.6', port: 6 } }));
    // Not subscribing: the client asks the server now, and a read after a write sees it.
    expect(ips(await nacos.getAllInstances('shared', 'DEFAULT_GROUP', '', false))).toEqual(['10.0.0.5:5', '10.0.0.6:6']);
    const healthy = await nacos.selectInstances('shared', 'DEFAULT_GROUP', '', true, false);
    expect(ips(healthy)).toEqual(['10.0.0.5:5', '10.0.0.6:6']);
  });
});
