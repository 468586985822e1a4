import { describe, expect, it } from 'vitest';
import { NacosNamingClient, type Hosts } from 'nacos';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { connect, eventually, onCleanup, record, startServer } from '../support/server.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, log: () => undefined } as unknown as typeof console;

async function nacosClient(server: HeraldServer): Promise<NacosNamingClient> {
  const client = new NacosNamingClient({ logger: quiet, serverList: `127.0.0.1:${server.httpPort ?? 0}`, namespace: 'public' });
  await client.ready();
  onCleanup(() => (client as unknown as { close(): Promise<void> }).close());
  return client;
}

async function heraldWithNacos(config: Partial<ServerConfig> = {}): Promise<HeraldServer> {
  return startServer({ mergeWindowMs: 2, ...config });
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
    const seen: Hosts[] = [];
    watcher.subscribe('orders', (hosts) => seen.push(hosts));
    await eventually(() => (server.udp?.stats().targets ?? 0) === 1, 'watcher is a UDP target');
    // The client's update task pulls once, 1 s after subscribing; from then on the next poll is 60 s away.
    await eventually(() => (server.nacosRequests?.list ?? 0) >= 2, 'first scheduled poll');
    const listsBefore = server.nacosRequests?.list;
    await owner.registerInstance('orders', instance('10.0.0.1', 8080, { weight: 2, metadata: { v: '1' } }));
    await eventually(() => seen.length === 1, 'push received');
    expect(server.nacosRequests?.list).toBe(listsBefore);
    expect(seen[0]).toEqual([
      expect.objectContaining({ ip: '10.0.0.1', port: 8080, weight: 2, healthy: true, enabled: true, metadata: { v: '1' }, clusterName: 'DEFAULT' }),
    ]);
    expect(server.udp?.stats().acked).toBeGreaterThanOrEqual(1);

    // Deregistration is pushed too (with a second instance: the client ignores empty lists).
    await owner.registerInstance('orders', instance('10.0.0.2', 8080));
    await eventually(() => ips(seen.at(-1)).length === 2, 'second instance pushed');
    await owner.deregisterInstance('orders', instance('10.0.0.1', 8080));
    await eventually(() => ips(seen.at(-1)).join() === '10.0.0.2:8080', 'deregistration pushed');
    expect(server.nacosRequests?.list).toBe(listsBefore);
  });

  it('decodes a gzip-compressed push of a large service', async () => {
    const server = await heraldWithNacos({ registry: { cacheMillis: 60_000 }, udpTargetExpiryMs: 120_000, mergeWindowMs: 50 });
    const watcher = await nacosClient(server);
    const seen: Hosts[] = [];
    watcher.subscribe('big', (hosts) => seen.push(hosts));
    await eventually(() => (server.udp?.stats().targets ?? 0) === 1, 'watcher is a UDP target');
    const c = connect(server);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => c.register(RegisterRequest.fromPartial({ service: 'big', instance: { ip: '10.1.0.1', port: 1000 + i, metadata: { pad: 'y'.repeat(40) } } }))),
    );
    await eventually(() => seen.at(-1)?.length === 60, '60 hosts pushed');
  });

  it('beats keep an instance alive past its delete timeout while an unbeaten one is removed', { timeout: 40_000 }, async () => {
    // The npm client's beat loop sleeps 10 s before its first beat, so the beaten instance's lease is
    // longer than that; the unbeaten one gets a 1 s lease through Nacos's preserved.* metadata.
    const server = await heraldWithNacos({
      heartbeatCheckIntervalMs: 100,
      nacosBeatIntervalMs: 300,
      nacosBeatTimeoutMs: 11_000,
      nacosIpDeleteTimeoutMs: 11_500,
      registry: { selfPreservation: false },
    });
    const started = Date.now();
    const owner = await nacosClient(server);
    await owner.registerInstance('orders', instance('10.0.0.1', 8080));
    const unbeaten = new URLSearchParams({
      serviceName: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.2',
      port: '8080',
      metadata: JSON.stringify({ 'preserved.heart.beat.interval': '300', 'preserved.heart.beat.timeout': '600', 'preserved.ip.delete.timeout': '1000' }),
    });
    await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/nacos/v1/ns/instance?${unbeaten.toString()}`, { method: 'POST' });
    await eventually(() => server.registry.query({ service: 'orders' }).hosts.length === 1, 'unbeaten instance removed');
    await eventually(() => (server.nacosRequests?.beat ?? 0) >= 3, 'beats arriving');
    // Past the beaten instance's 11.5 s delete timeout, it is still there and healthy.
    await eventually(() => Date.now() - started > 12_500, 'past the delete timeout');
    expect(server.registry.query({ service: 'orders' }).hosts).toEqual([expect.objectContaining({ ip: '10.0.0.1', healthy: true })]);
  });

  it('a gRPC subscriber sees a Nacos-registered instance, and a Nacos client sees a gRPC-registered one', async () => {
    const server = await heraldWithNacos();
    const nacos = await nacosClient(server);
    const grpc = connect(server);
    const pushes = record(grpc.subscribe(SubscribeRequest.fromPartial({ service: 'shared' })));
    await nacos.registerInstance('shared', instance('10.0.0.5', 5));
    await eventually(() => pushes.values.at(-1)?.hosts[0]?.ip === '10.0.0.5', 'gRPC subscriber sees the Nacos instance');
    await grpc.register(RegisterRequest.fromPartial({ service: 'shared', instance: { ip: '10.0.0.6', port: 6 } }));
    await eventually(async () => ips(await nacos.getAllInstances('shared', 'DEFAULT_GROUP', '', false)).join() === '10.0.0.5:5,10.0.0.6:6', 'Nacos client sees both');
    const healthy = await nacos.selectInstances('shared', 'DEFAULT_GROUP', '', true, false);
    expect(ips(healthy)).toEqual(['10.0.0.5:5', '10.0.0.6:6']);
  });
});
