/**
 * Eureka's peer batches received: a Eureka server that lists herald as a peer POSTs its
 * ReplicationList to <base>/peerreplication/batch; each item is applied as a replication and
 * answered on its own, as Eureka's PeerReplicationResource answers.
 */
import { describe, expect, it, vi } from 'vitest';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { ManualClock } from '../../src/core/clock.js';
import { connect, record, startServer, untilRegistry } from '../support/server.js';
import { eurekaInstanceInfo } from '../support/eureka.js';

type Json = Record<string, unknown>;

const info = eurekaInstanceInfo;

const register = (app: string, id: string, extra: Json = {}): Json => ({
  appName: app,
  id,
  lastDirtyTimestamp: Number(extra.lastDirtyTimestamp ?? 1000),
  overriddenStatus: 'UNKNOWN',
  status: 'UP',
  instanceInfo: info(app, id, extra),
  action: 'Register',
});

async function batch(server: HeraldServer, items: unknown, path = '/eureka/peerreplication/batch/'): Promise<{ status: number; json: Json; text: string; nodeId: string | null }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}${path}`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-netflix-discovery-replication': 'true' },
    body: JSON.stringify(Array.isArray(items) ? { replicationList: items } : items),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON: the test looks at text
  }
  return { status: res.status, json, text, nodeId: res.headers.get('x-herald-node-id') };
}

async function get(server: HeraldServer, path: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka${path}`, { headers: { accept: 'application/json' } });
  const text = await res.text();
  return { status: res.status, json: text === '' || res.status !== 200 ? {} : (JSON.parse(text) as Json) };
}

const codes = (r: { json: Json }): number[] => (r.json.responseList as { statusCode: number }[]).map((x) => x.statusCode);

describe("Eureka peer batches received (POST <base>/peerreplication/batch)", () => {
  it('registers every valid item, answers each on its own, and stores nothing for an invalid one', async () => {
    const server = await startServer();
    const r = await batch(server, [register('ORDERS', 'o-1'), register('ORDERS', 'o-2'), { ...register('ORDERS', 'bad'), instanceInfo: info('ORDERS', 'bad', { ipAddr: '' }) }]);
    expect(r.status).toBe(200);
    expect(codes(r)).toEqual([200, 200, 400]);
    const app = (await get(server, '/apps/ORDERS')).json.application as { instance: Json[] };
    expect(app.instance.map((i) => i.instanceId).sort()).toEqual(['o-1', 'o-2']);
    expect(app.instance[0]).toMatchObject({ hostName: expect.stringMatching(/\.local$/) as unknown, metadata: { zone: 'a' }, lastDirtyTimestamp: '1000' });
    expect(server.eurekaRequests?.batch).toBe(1);
    // Jersey's path has a trailing slash; the v2 form and no slash are served too.
    expect((await batch(server, [], '/eureka/v2/peerreplication/batch')).status).toBe(200);
    expect((await batch(server, [], '/eureka/peerreplication/batch')).status).toBe(200);
  });

  it('heartbeats: 200, 404 when unknown or the sender is newer, 409 with the newer server copy', async () => {
    const clock = new ManualClock(Date.now());
    const server = await startServer({}, { clock });
    await batch(server, [register('ORDERS', 'o-1', { lastDirtyTimestamp: '5000' })]);
    const before = (await get(server, '/apps/ORDERS/o-1')).json.instance as { leaseInfo: { lastRenewalTimestamp: number } };
    clock.advance(5); // so the renewal's timestamp moves
    const hb = (id: string, dirty: number): Json => ({ appName: 'orders', id, lastDirtyTimestamp: dirty, overriddenStatus: null, status: null, action: 'Heartbeat' });
    const r = await batch(server, [hb('o-1', 5000), hb('nope', 5000), hb('o-1', 9000), hb('o-1', 2000)]);
    expect(codes(r)).toEqual([200, 404, 404, 409]);
    const list = r.json.responseList as Json[];
    expect(list[0]).not.toHaveProperty('responseEntity');
    // The 409 carries the server's copy as InstanceInfo, so the sender can adopt it.
    expect(list[3]?.responseEntity).toMatchObject({ instanceId: 'o-1', app: 'ORDERS', lastDirtyTimestamp: '5000', port: { $: 8080 } });
    const after = (await get(server, '/apps/ORDERS/o-1')).json.instance as { leaseInfo: { lastRenewalTimestamp: number }; lastDirtyTimestamp: string };
    expect(after.leaseInfo.lastRenewalTimestamp).toBe(before.leaseInfo.lastRenewalTimestamp + 5);
    expect(after.lastDirtyTimestamp).toBe('5000'); // neither 404 nor 409 changed the record
  });

  it('finds the instance of a heartbeat without walking the registry (batch and PUT)', async () => {
    const server = await startServer();
    await batch(server, [register('ORDERS', 'o-1'), register('PAYMENTS', 'p-1')]);
    // A gRPC-registered service in lower case is an app too.
    await connect(server).register(RegisterRequest.fromPartial({ service: 'stock', instance: { instanceId: 's-1', ip: '10.0.0.2', port: 80 } }));
    const walks = [vi.spyOn(server.registry, 'listServices'), vi.spyOn(server.registry, 'query'), vi.spyOn(server.registry, 'serviceNames')];
    const hb = (app: string, id: string): Json => ({ appName: app, id, lastDirtyTimestamp: null, overriddenStatus: null, status: null, action: 'Heartbeat' });
    expect(codes(await batch(server, [hb('orders', 'o-1'), hb('STOCK', 's-1'), hb('stock', 's-1')]))).toEqual([200, 200, 200]);
    const put = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka/apps/ORDERS/o-1`, { method: 'PUT' });
    expect(put.status).toBe(200);
    for (const w of walks) expect(w).not.toHaveBeenCalled();
    // An app spelled another way still resolves, through the service names (not the instances).
    expect(codes(await batch(server, [hb('Stock', 's-1'), hb('orders', 'nope')]))).toEqual([200, 404]);
    expect(walks[0]).not.toHaveBeenCalled();
    expect(walks[1]).not.toHaveBeenCalled();
  });

  it('status update, delete override and cancel: 200, or 404 for an unknown instance', async () => {
    const server = await startServer();
    await batch(server, [register('ORDERS', 'o-1')]);
    const item = (action: string, extra: Json = {}): Json => ({ appName: 'ORDERS', id: 'o-1', lastDirtyTimestamp: 1000, overriddenStatus: null, status: null, action, ...extra });

    expect(codes(await batch(server, [item('StatusUpdate', { status: 'OUT_OF_SERVICE' })]))).toEqual([200]);
    expect((await get(server, '/apps/ORDERS/o-1')).json.instance).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    expect(codes(await batch(server, [item('DeleteStatusOverride', { status: 'UP' })]))).toEqual([200]);
    expect((await get(server, '/apps/ORDERS/o-1')).json.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });

    expect(codes(await batch(server, [item('Cancel'), item('Cancel'), item('StatusUpdate', { status: 'DOWN' })]))).toEqual([200, 404, 404]);
    expect((await get(server, '/apps/ORDERS')).status).toBe(404);
  });

  it('answers a bad item 400 without stopping the batch, and a body that is no ReplicationList 400', async () => {
    const server = await startServer();
    const r = await batch(server, [{ appName: 'ORDERS', id: 'x', action: 'Explode' }, 'not an object', register('ORDERS', 'o-1'), { ...register('ORDERS', 'o-2'), instanceInfo: info('PAYMENTS', 'o-2') }]);
    expect(codes(r)).toEqual([400, 400, 200, 400]);
    expect(((await get(server, '/apps/ORDERS')).json.application as { instance: Json[] }).instance.map((i) => i.instanceId)).toEqual(['o-1']);
    const bad = await batch(server, { list: [] });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('replicationList');
  });

  it('pushes batch-registered instances to gRPC subscribers and never replicates them again', async () => {
    const b = await startServer({ verifyIntervalMs: 3_600_000 });
    const a = await startServer({ peers: [`127.0.0.1:${b.port}`], nodeId: 'node-a', verifyIntervalMs: 3_600_000 });
    const pushes = record(connect(a).subscribe(SubscribeRequest.fromPartial({ namespace: 'public', service: 'ORDERS' })));
    const r = await batch(a, [register('ORDERS', 'o-1')]);
    expect(codes(r)).toEqual([200]);
    expect(r.nodeId).toBe('node-a');
    await pushes.until((p) => p.hosts.some((h) => h.instanceId === 'o-1'), 'push on A');
    // A replication is not replicated again: B (A's gRPC peer) is never sent it.
    const peer = a.clusterNode?.status()[0];
    expect(peer).toMatchObject({ queueDepth: 0, inFlight: 0, delivered: 0 });
    // Control: a client's own registration on A does reach B, so the link works.
    const res = await fetch(`http://127.0.0.1:${a.httpPort ?? 0}/eureka/apps/PAYMENTS`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instance: info('PAYMENTS', 'p-1') }),
    });
    expect(res.status).toBe(204);
    await untilRegistry(b, () => b.registry.query({ service: 'PAYMENTS' }).hosts.length === 1, 'PAYMENTS replicated to B');
    expect((await get(b, '/apps/PAYMENTS')).status).toBe(200);
    expect((await get(b, '/apps/ORDERS')).status).toBe(404);
  });
});
