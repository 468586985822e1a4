/**
 * The console's routes on a real server (HTTP on 127.0.0.1, port 0): the page and its assets with
 * their content types and caching, the JSON API, the event stream fed by the push hub, the actions
 * with their cross-site guard, and `console: false`.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceJson, NamespacesJson, NodeJson, ServiceJson, ServicesJson, SessionJson } from '../../../src/console/protocol.js';
import type { HeraldServer } from '../../../src/server/herald-server.js';
import { onCleanup, startServer } from '../../support/server.js';
import { isEvent, readConsoleEvents } from './sse-reader.js';

const ORDERS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

function base(server: HeraldServer): string {
  return `http://127.0.0.1:${server.httpPort ?? 0}`;
}

async function get(server: HeraldServer, path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${base(server)}${path}`);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function action(server: HeraldServer, method: 'PUT' | 'DELETE', path: string, body: unknown, headers: Record<string, string> = { 'x-herald-console': '1' }): Promise<Response> {
  return fetch(`${base(server)}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function withOrders(): Promise<HeraldServer> {
  const server = await startServer({ mergeWindowMs: 0 });
  server.registry.register({ ...ORDERS, instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 8080, metadata: { zone: 'a' } } }, { transport: 'grpc' });
  server.registry.register({ ...ORDERS, instance: { instanceId: 'o-2', ip: '10.0.0.2', port: 8080, healthy: false } }, { transport: 'nacos' });
  server.registry.register({ namespace: 'prod', group: 'DEFAULT_GROUP', service: 'db', instance: { instanceId: 'db-1', ip: '10.1.0.1', port: 5432 } });
  return server;
}

describe('console page and assets', () => {
  it('serves the page with a strict CSP and revalidation, and its assets under a versioned path, cached for good, with their content types', async () => {
    const server = await startServer();
    const page = await fetch(`${base(server)}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const script = /src="(\/console\/assets\/[0-9a-f]{16}\/main\.js)"/.exec(html)?.[1];
    const style = /href="(\/console\/assets\/[0-9a-f]{16}\/style\.css)"/.exec(html)?.[1];
    if (script === undefined || style === undefined) throw new Error(`no versioned assets in the page:\n${html}`);
    const js = await fetch(`${base(server)}${script}`);
    expect([js.status, js.headers.get('content-type'), js.headers.get('cache-control')]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    // Modules import each other relatively: they resolve under the same versioned path.
    expect(await js.text()).toContain("from './api.js'");
    const api = await fetch(`${base(server)}${script.replace('main.js', 'api.js')}`);
    expect(api.status).toBe(200);
    const css = await fetch(`${base(server)}${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const stale = await fetch(`${base(server)}/console/assets/0000000000000000/main.js`);
    expect(stale.status).toBe(404);
    const traversal = await fetch(`${base(server)}${script.replace('main.js', '..%2Findex.html')}`);
    expect(traversal.status).toBe(404);
  });

  it('is off with console: false (the Nacos API still serves on the port)', async () => {
    const server = await startServer({ console: false });
    expect((await fetch(`${base(server)}/`)).status).toBe(404);
    expect((await fetch(`${base(server)}/console/api/session`)).status).toBe(404);
    expect((await fetch(`${base(server)}/nacos/v1/ns/service/list?pageNo=1&pageSize=10`)).status).toBe(200);
  });
});

describe('console JSON API (auth off)', () => {
  it('says who is asking and that auth is off', async () => {
    const server = await startServer();
    expect((await get(server, '/console/api/session')).body as SessionJson).toEqual({ auth: false, user: 'anonymous', clusterView: true });
  });

  it('lists namespaces with counts, services with instance and healthy counts, and a service with every field the page shows', async () => {
    const server = await withOrders();
    expect(((await get(server, '/console/api/namespaces')).body as NamespacesJson).namespaces).toEqual([
      { name: 'prod', services: 1, instances: 1 },
      { name: 'public', services: 1, instances: 2 },
    ]);
    const services = await get(server, '/console/api/services?namespace=public');
    expect(services.headers.get('cache-control')).toBe('no-store');
    expect((services.body as ServicesJson).services).toEqual([
      { group: 'DEFAULT_GROUP', name: 'orders', instances: 2, healthy: 1, clusters: ['DEFAULT'], revision: expect.any(Number) as number },
    ]);
    const service = (await get(server, '/console/api/service?namespace=public&service=orders')).body as ServiceJson;
    expect(service).toMatchObject({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' });
    const o1 = service.instances.find((i) => i.id === 'o-1');
    expect(o1).toEqual({
      id: 'o-1',
      ip: '10.0.0.1',
      port: 8080,
      cluster: 'DEFAULT',
      weight: 1,
      healthy: true,
      enabled: true,
      ephemeral: true,
      status: 'UP',
      overriddenStatus: null,
      metadata: { zone: 'a' },
      registeredAt: server.registry.getInstance({ ...ORDERS, instanceId: 'o-1' }).record.registrationTimestamp,
      updatedAt: expect.any(Number) as number,
      leaseDurationMs: 90_000,
      renewalIntervalMs: 30_000,
      registrant: '',
      transport: 'grpc',
    } satisfies InstanceJson);
    expect(service.instances.find((i) => i.id === 'o-2')?.transport).toBe('nacos');
    expect((await get(server, '/console/api/service?namespace=public')).body as { error: string }).toEqual({ error: 'service is required' });
    expect((await get(server, '/console/api/services?namespace=bad%20name')).status).toBe(400);
  });

  it('reports the node: self-preservation, eviction and peers', async () => {
    const server = await withOrders();
    server.evictNow();
    const node = (await get(server, '/console/api/node')).body as NodeJson;
    expect(node).toMatchObject({
      instances: 3,
      services: 2,
      selfPreservation: { enabled: true, active: false },
      eviction: { intervalMs: 60_000, last: { outcome: 'nothing-expired' } },
      synced: true,
      peers: [],
    });
  });
});

describe('console node view with a peer that is down', () => {
  it('shows the peer with its replication queue and last error', async () => {
    // A peer nobody listens on: the start-up sync gives up quickly, replication fails and queues.
    const server = await startServer({ peers: ['127.0.0.1:1'], syncTimeoutMs: 200, peerCallTimeoutMs: 200, replicationRetryBaseMs: 60_000, replicationRetryMaxMs: 60_000 });
    server.registry.register({ ...ORDERS, instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 8080 } }, { transport: 'grpc' });
    let peer: NodeJson['peers'][number] | undefined;
    for (let i = 0; i < 400 && peer?.state !== 'down'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      peer = ((await get(server, '/console/api/node')).body as NodeJson).peers[0];
    }
    expect(peer).toMatchObject({ address: '127.0.0.1:1', state: 'down', failures: 1 });
    expect(peer?.queueDepth).toBeGreaterThanOrEqual(1);
    expect(peer?.lastError).not.toBe('');
  });
});

describe('console actions', () => {
  it('set and clear OUT_OF_SERVICE and deregister, with the same registry calls as gRPC', async () => {
    const server = await withOrders();
    const o1 = { ...ORDERS, instanceId: 'o-1' };
    const set = await action(server, 'PUT', '/console/api/instance/status', { ...o1, status: 'OUT_OF_SERVICE' });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { instance: InstanceJson }).instance).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    expect(server.registry.getInstance(o1).record.overriddenStatus).toBe('OUT_OF_SERVICE');
    const clear = await action(server, 'DELETE', '/console/api/instance/status', o1);
    expect(clear.status).toBe(200);
    expect(server.registry.getInstance(o1).record).toMatchObject({ status: 'UP', overriddenStatus: undefined });
    const gone = await action(server, 'DELETE', '/console/api/instance', o1);
    expect(gone.status).toBe(200);
    expect(server.registry.hasInstance(o1)).toBe(false);
    const again = await action(server, 'DELETE', '/console/api/instance', o1);
    expect([again.status, await again.json()]).toEqual([404, { error: 'instance o-1 of DEFAULT_GROUP@@orders in namespace public is not registered' }]);
  });

  it('refuses an action without the console header or from another site, changing nothing', async () => {
    const server = await withOrders();
    const o1 = { ...ORDERS, instanceId: 'o-1' };
    const bare = await action(server, 'DELETE', '/console/api/instance', o1, {});
    expect([bare.status, await bare.json()]).toEqual([403, { error: 'console actions need the x-herald-console: 1 header' }]);
    const cross = await action(server, 'DELETE', '/console/api/instance', o1, { 'x-herald-console': '1', 'sec-fetch-site': 'cross-site' });
    expect([cross.status, await cross.json()]).toEqual([403, { error: 'console actions are refused from other sites' }]);
    // A form post (what a cross-site page can send without a preflight) is not even parsed as an action.
    const form = await fetch(`${base(server)}/console/api/instance`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(o1).toString(),
    });
    expect(form.status).toBe(403);
    expect(server.registry.hasInstance(o1)).toBe(true);
  });
});

describe('console event stream', () => {
  it('sends the service list, the node and the service in full, then pushed deltas and new lists as the registry changes', async () => {
    const server = await withOrders();
    const stream = await readConsoleEvents(`${base(server)}/console/api/events?namespace=public&service=orders`);
    onCleanup(() => {
      stream.close();
    });
    expect(stream.status).toBe(200);
    const full = await stream.next(isEvent('service'), 'the service in full');
    expect(full.data.instances.map((i) => i.id)).toEqual(['o-1', 'o-2']);
    await stream.next(
      isEvent('services', (s) => s.services.length === 1),
      'the service list',
    );
    await stream.next(isEvent('node'), 'the node');
    const from = stream.events.length;
    server.registry.register({ ...ORDERS, instance: { instanceId: 'o-3', ip: '10.0.0.3', port: 8080 } }, { transport: 'grpc' });
    const added = await stream.next(
      isEvent('service-delta', (d) => d.upserts.some((i) => i.id === 'o-3')),
      'o-3 added',
      from,
    );
    expect(added.data).toMatchObject({ upserts: [{ id: 'o-3', transport: 'grpc' }], removed: [] });
    await stream.next(
      isEvent('services', (s) => s.services[0]?.instances === 3),
      'the list with three instances',
      from,
    );
    server.registry.cancel({ ...ORDERS, instanceId: 'o-1' });
    const removed = await stream.next(
      isEvent('service-delta', (d) => d.removed.length > 0),
      'o-1 removed',
      from,
    );
    expect(removed.data).toMatchObject({ upserts: [], removed: ['o-1'] });
  });

  it('refuses a bad service address before streaming', async () => {
    const server = await startServer();
    const res = await fetch(`${base(server)}/console/api/events?namespace=public&service=${'x'.repeat(300)}`);
    expect(res.status).toBe(400);
  });
});
