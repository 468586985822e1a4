import { describe, expect, it } from 'vitest';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { connect, record, startServer } from '../support/server.js';
import { eurekaInstanceInfo } from '../support/eureka.js';

type Json = Record<string, unknown>;

const instance = eurekaInstanceInfo;

async function call(
  server: HeraldServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: () => Json }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka${path}`, {
    method,
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Json };
}

describe('Eureka REST API', () => {
  it('registers (204) and reads back InstanceInfo as Eureka writes it', async () => {
    const server = await startServer();
    expect((await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1') })).status).toBe(204);
    const got = (await call(server, 'GET', '/apps/ORDERS/o-1')).json().instance as Json;
    expect(got).toMatchObject({
      instanceId: 'o-1',
      hostName: 'o-1.local',
      app: 'ORDERS',
      ipAddr: '10.0.0.9',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 8443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      metadata: { zone: 'a' },
      vipAddress: 'orders.vip',
      lastDirtyTimestamp: '1000',
    });
    expect(typeof got.lastUpdatedTimestamp).toBe('string');
    expect((got.leaseInfo as Json).lastRenewalTimestamp).toBeGreaterThan(0);
    // The same instance through every read path.
    const all = (await call(server, 'GET', '/apps')).json().applications as Json;
    expect(all).toMatchObject({ apps__hashcode: 'UP_1_', application: [{ name: 'ORDERS', instance: [{ instanceId: 'o-1' }] }] });
    expect(Number(all.versions__delta)).toBeGreaterThan(0);
    expect((await call(server, 'GET', '/apps/orders')).json()).toMatchObject({ application: { name: 'ORDERS', instance: [{ instanceId: 'o-1' }] } });
    expect((await call(server, 'GET', '/instances/o-1')).json()).toMatchObject({ instance: { app: 'ORDERS' } });
    expect((await call(server, 'GET', '/vips/orders.vip')).json()).toMatchObject({ applications: { application: [{ name: 'ORDERS' }] } });
    expect((await call(server, 'GET', '/svips/orders.vip')).status).toBe(200);
    // /eureka/v2 works too.
    const v2 = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka/v2/apps/ORDERS`, { headers: { accept: 'application/json' } });
    expect(v2.status).toBe(200);
  });

  it.each([
    [{ instanceId: '', hostName: '' }, 'Missing instanceId'],
    [{ hostName: ' ' }, 'Missing hostname'],
    [{ ipAddr: undefined }, 'Missing ip address'],
    [{ app: '' }, 'Missing appName'],
    [{ app: 'other' }, 'Mismatched appName, expecting ORDERS but was OTHER'],
    [{ dataCenterInfo: undefined }, 'Missing dataCenterInfo'],
    [{ dataCenterInfo: { '@class': 'x' } }, 'Missing dataCenterInfo Name'],
    [{ ipAddr: 'not an ip' }, 'instance.ip "not an ip" is not an IPv4 or IPv6 address or a host name'],
  ])('refuses a registration with %j: 400 "%s", nothing stored', async (override, message) => {
    const server = await startServer();
    const r = await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1', override) });
    expect([r.status, r.text]).toEqual([400, message]);
    expect(server.registry.stats().instances).toBe(0);
  });

  it('renews: 200; 404 when unknown or the client copy is newer; 409 with the server copy on a replication', async () => {
    const server = await startServer();
    await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1') });
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1?status=UP&lastDirtyTimestamp=1000')).status).toBe(200);
    expect((await call(server, 'PUT', '/apps/ORDERS/nope')).status).toBe(404);
    const before = server.registry.getInstance({ service: 'ORDERS', instanceId: 'o-1' });
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1?lastDirtyTimestamp=2000')).status).toBe(404);
    expect(server.registry.getInstance({ service: 'ORDERS', instanceId: 'o-1' }).lastRenewalMs).toBe(before.lastRenewalMs);
    // An older client copy: 200 for a client...
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1?lastDirtyTimestamp=500')).status).toBe(200);
    // ...409 with the server copy for a replicating peer.
    const conflict = await call(server, 'PUT', '/apps/ORDERS/o-1?lastDirtyTimestamp=500', undefined, { 'x-netflix-discovery-replication': 'true' });
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({ instanceId: 'o-1', lastDirtyTimestamp: '1000' });
  });

  it('cancels (200, then 404), overrides status and deletes the override, updates metadata', async () => {
    const server = await startServer();
    await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1') });
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1/status?value=OUT_OF_SERVICE')).status).toBe(200);
    expect(((await call(server, 'GET', '/apps/ORDERS/o-1')).json().instance as Json).status).toBe('OUT_OF_SERVICE');
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1/status?value=SLEEPY')).status).toBe(400);
    expect((await call(server, 'DELETE', '/apps/ORDERS/o-1/status')).status).toBe(200);
    expect(((await call(server, 'GET', '/apps/ORDERS/o-1')).json().instance as Json).status).toBe('UP');
    expect((await call(server, 'PUT', '/apps/ORDERS/o-1/metadata?version=2')).status).toBe(200);
    expect(((await call(server, 'GET', '/apps/ORDERS/o-1')).json().instance as Json).metadata).toEqual({ zone: 'a', version: '2' });
    expect((await call(server, 'PUT', '/apps/ORDERS/nope/metadata?x=1')).status).toBe(404);
    expect((await call(server, 'DELETE', '/apps/ORDERS/o-1')).status).toBe(200);
    expect((await call(server, 'DELETE', '/apps/ORDERS/o-1')).status).toBe(404);
    expect((await call(server, 'GET', '/apps/ORDERS')).status).toBe(404);
  });

  it('returns recent changes as a delta with actionType and the full registry hash', async () => {
    const server = await startServer();
    await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1') });
    await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-2') });
    await call(server, 'PUT', '/apps/ORDERS/o-2/status?value=DOWN');
    await call(server, 'DELETE', '/apps/ORDERS/o-1');
    const delta = (await call(server, 'GET', '/apps/delta')).json().applications as { apps__hashcode: string; application: { instance: Json[] }[] };
    expect(delta.application[0]?.instance.map((i) => [i.instanceId, i.actionType])).toEqual([
      ['o-1', 'ADDED'],
      ['o-2', 'ADDED'],
      ['o-2', 'MODIFIED'],
      ['o-1', 'DELETED'],
    ]);
    expect(delta.apps__hashcode).toBe('DOWN_1_');
  });

  it('refuses what it cannot read or answer: an empty XML instance 400, an Accept of neither XML nor JSON 406', async () => {
    const server = await startServer();
    const xml = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka/apps/orders`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<instance/>' });
    expect(xml.status).toBe(400);
    const accept = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka/apps`, { headers: { accept: 'text/html' } });
    expect(accept.status).toBe(406);
    expect(await accept.text()).toContain('accept application/xml or application/json');
    expect(server.registry.stats().instances).toBe(0);
  });

  it('pushes a Eureka registration to gRPC subscribers; a read after a write sees it', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    const pushes = record(connect(server).subscribe(SubscribeRequest.fromPartial({ service: 'ORDERS' })));
    await call(server, 'POST', '/apps/orders', { instance: instance('orders', 'o-1') });
    const pushed = await pushes.until((v) => v.hosts[0]?.instanceId === 'o-1', 'gRPC push');
    expect(pushed.hosts[0]?.metadata).toMatchObject({ zone: 'a', 'eureka.hostName': 'o-1.local' });
  });
});
