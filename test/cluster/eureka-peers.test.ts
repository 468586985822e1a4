/**
 * Eureka servers as peers (`--eureka-peers`): a node sends its changes to Eureka apps in Eureka's
 * peer batches, takes a 409's newer copy, re-sends the registration after a 404, and syncs from a
 * Eureka peer on start. Checked against a recording fake that answers as a Eureka server, for the
 * wire format, and against another herald's Eureka API, end to end.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InstanceStatus, InstanceView } from '../../src/gen/herald/v1/model.js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { otherEurekaPeers, parseEurekaPeers } from '../../src/cluster/peer-addresses.js';
import type { ServerConfig } from '../../src/server/config.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { BehaviorSubject } from 'rxjs';
import { connect, eventually, onCleanup, record, recordingLogger, startServer, untilRegistry } from '../support/server.js';

type Json = Record<string, unknown>;
type Item = Json & { action: string; appName: string; id: string };

interface FakeEureka {
  readonly url: string;
  readonly batches: { path: string; headers: IncomingHttpHeaders; items: Item[] }[];
  /** How the next items are answered; default 200. */
  answer: (item: Item) => Json;
  apps: Json;
  /** Resolves once `check` holds, looking now and after each batch received; fails after the wait limit with `what`. */
  until(check: () => boolean, what: string): Promise<void>;
}

/** A recording stand-in for a Eureka server's peer endpoints. */
async function fakeEureka(): Promise<FakeEureka> {
  const received = new BehaviorSubject<void>(undefined);
  const batches = record(received);
  const fake: FakeEureka = {
    url: '',
    batches: [],
    answer: () => ({ statusCode: 200 }),
    apps: { applications: { versions__delta: '1', apps__hashcode: '', application: [] } },
    until: async (check, what) => {
      await batches.until(check, what, () => `items received: ${items(fake).map((i) => `${i.action} ${i.appName}/${i.id}`).join(', ')}`);
    },
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url?.startsWith('/eureka/peerreplication/batch') === true) {
        const items = (JSON.parse(body) as { replicationList: Item[] }).replicationList;
        fake.batches.push({ path: req.url, headers: req.headers, items });
        received.next();
        res.end(JSON.stringify({ responseList: items.map((i) => fake.answer(i)) }));
      } else if (req.method === 'GET' && req.url === '/eureka/apps') {
        res.end(JSON.stringify(fake.apps));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  (fake as { url: string }).url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/eureka`;
  onCleanup(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections(); // the node's keep-alive connection would hold close() open
        server.close(resolve);
      }),
  );
  return fake;
}

const fast = (eurekaPeers: string[], extra: Partial<ServerConfig> = {}): Partial<ServerConfig> => ({
  eurekaPeers,
  mergeWindowMs: 2,
  replicationBatchDelayMs: 2,
  replicationRetryMaxMs: 200,
  syncTimeoutMs: 2_000,
  ...extra,
});

const reg = (service: string, id: string, group = '') => RegisterRequest.fromPartial({ group, service, instance: { instanceId: id, ip: '10.0.0.1', port: 8080, metadata: { zone: 'a' } } });
const items = (fake: FakeEureka): Item[] => fake.batches.flatMap((b) => b.items);

async function eurekaGet(server: HeraldServer, path: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka${path}`, { headers: { accept: 'application/json' } });
  const text = await res.text();
  return { status: res.status, json: res.status === 200 ? (JSON.parse(text) as Json) : {} };
}

describe('Eureka peers (--eureka-peers)', () => {
  it('sends register, heartbeat, status and cancel in Eureka batches, and only Eureka apps', async () => {
    const fake = await fakeEureka();
    const a = await startServer(fast([fake.url]));
    const c = connect(a);
    await c.register(reg('orders', 'o-1'));
    await c.register(reg('orders', 'other-group', 'TEAM_X'));
    await fake.until(() => items(fake).some((i) => i.action === 'Register'), 'register batch');
    const batch = fake.batches[0];
    expect(batch?.path).toMatch(/^\/eureka\/peerreplication\/batch/);
    expect(batch?.headers['x-netflix-discovery-replication']).toBe('true');
    expect(batch?.headers['content-type']).toContain('application/json');
    const register = items(fake).find((i) => i.action === 'Register');
    expect(register).toMatchObject({
      appName: 'ORDERS',
      id: 'o-1',
      status: 'UP',
      instanceInfo: {
        instanceId: 'o-1',
        app: 'ORDERS',
        ipAddr: '10.0.0.1',
        hostName: '10.0.0.1',
        status: 'UP',
        port: { $: 8080, '@enabled': 'true' },
        dataCenterInfo: { name: 'MyOwn' },
        leaseInfo: { durationInSecs: 90, renewalIntervalInSecs: 30 },
        metadata: { zone: 'a' },
      },
    });
    expect(typeof register?.lastDirtyTimestamp).toBe('number');

    await c.renew({ namespace: '', group: '', service: 'orders', instanceId: 'o-1', lastDirtyTimestamp: 0 });
    await c.setStatus({ namespace: '', group: '', service: 'orders', instanceId: 'o-1', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, lastDirtyTimestamp: 0 });
    await fake.until(() => items(fake).some((i) => i.action === 'StatusUpdate'), 'status batch');
    await c.cancel({ namespace: '', group: '', service: 'orders', instanceId: 'o-1' });
    await fake.until(() => items(fake).some((i) => i.action === 'Cancel'), 'cancel batch');

    const heartbeat = items(fake).find((i) => i.action === 'Heartbeat');
    expect(heartbeat).toMatchObject({ appName: 'ORDERS', id: 'o-1' });
    expect(heartbeat?.lastDirtyTimestamp).toBe(register?.lastDirtyTimestamp);
    const status = items(fake).find((i) => i.action === 'StatusUpdate');
    expect(status).toMatchObject({ appName: 'ORDERS', id: 'o-1', status: 'OUT_OF_SERVICE' });
    expect(typeof status?.lastDirtyTimestamp).toBe('number'); // Eureka's handler needs it
    expect(items(fake).find((i) => i.action === 'Cancel')).toMatchObject({ appName: 'ORDERS', id: 'o-1' });
    // The other group's instance is no Eureka app: never sent, and not a failure either.
    expect(items(fake).some((i) => i.id === 'other-group')).toBe(false);
    expect(a.clusterNode?.status()[0]).toMatchObject({ address: fake.url, failures: 0, dropped: 0, state: 'up' });
  });

  it("adopts the peer's newer copy from a 409, and re-sends the registration after a 404", async () => {
    const fake = await fakeEureka();
    const a = await startServer(fast([fake.url]));
    const c = connect(a);
    await c.register(reg('orders', 'o-1'));
    await fake.until(() => items(fake).some((i) => i.action === 'Register'), 'register batch');
    const sent = items(fake).find((i) => i.action === 'Register');
    const newer = { ...(sent?.instanceInfo as Json), port: { $: 9090, '@enabled': 'true' }, lastDirtyTimestamp: String(Number(sent?.lastDirtyTimestamp) + 1_000) };

    fake.answer = (i) => (i.action === 'Heartbeat' ? { statusCode: 409, responseEntity: newer } : { statusCode: 200 });
    await c.renew({ namespace: '', group: '', service: 'orders', instanceId: 'o-1', lastDirtyTimestamp: 0 });
    await untilRegistry(a, () => a.registry.query({ service: 'orders' }).hosts[0]?.port === 9090, 'adopted copy');
    expect((await c.getService({ namespace: '', group: '', service: 'orders', clusters: [], healthyOnly: false, udpPort: 0, view: InstanceView.INSTANCE_VIEW_UNSPECIFIED })).serviceInfo?.hosts[0]?.port).toBe(9090);

    fake.answer = (i) => (i.action === 'Heartbeat' ? { statusCode: 404 } : { statusCode: 200 });
    const registersBefore = items(fake).filter((i) => i.action === 'Register').length;
    await c.renew({ namespace: '', group: '', service: 'orders', instanceId: 'o-1', lastDirtyTimestamp: 0 });
    await fake.until(() => items(fake).filter((i) => i.action === 'Register').length > registersBefore, 're-sent registration');
    const resent = items(fake).filter((i) => i.action === 'Register').at(-1);
    expect(resent?.instanceInfo).toMatchObject({ instanceId: 'o-1', port: { $: 9090 } });
  });

  it('replicates to another herald over its Eureka API, which pushes to its gRPC subscribers', async () => {
    const b = await startServer({ mergeWindowMs: 2 });
    const bUrl = `http://127.0.0.1:${b.httpPort ?? 0}/eureka`;
    const a = await startServer(fast([bUrl], { nodeId: 'node-a' }));
    const pushes = record(connect(b).subscribe(SubscribeRequest.fromPartial({ service: 'ORDERS' })));
    await connect(a).register(reg('ORDERS', 'o-1'));
    await pushes.until((p) => p.hosts.some((h) => h.instanceId === 'o-1' && h.port === 8080), 'push on B');
    expect((await eurekaGet(b, '/apps/ORDERS/o-1')).json.instance).toMatchObject({ ipAddr: '10.0.0.1', metadata: { zone: 'a' } });
    // B answered with its node id. (A records it from the answer, which nothing announces.)
    await eventually(() => (a.clusterNode?.status()[0]?.nodeId ?? '') !== '', 'peer node id');
    expect(a.clusterNode?.status()[0]?.nodeId).toBe(b.clusterNode?.nodeId);

    await connect(a).cancel({ namespace: '', group: '', service: 'ORDERS', instanceId: 'o-1' });
    await untilRegistry(b, () => b.registry.query({ service: 'ORDERS' }).hosts.length === 0, 'cancel on B');
    expect((await eurekaGet(b, '/apps/ORDERS')).status).toBe(404);

    // A node starting with B as Eureka peer syncs B's apps before it serves.
    await connect(b).register(reg('PAYMENTS', 'p-1'));
    const c = await startServer(fast([bUrl]));
    expect((await eurekaGet(c, '/apps/PAYMENTS/p-1')).status).toBe(200);
  });

  it('a Eureka peer that is down delays neither the start (beyond the sync timeout) nor writes', async () => {
    const log = recordingLogger();
    const a = await startServer(fast(['http://127.0.0.1:1/eureka'], { syncTimeoutMs: 500 }), { logger: log.logger });
    await connect(a).register(reg('orders', 'o-1'));
    await log.lines.until((l) => l.message === 'peer unreachable; replication queued', 'peer down');
    expect(a.clusterNode?.status()[0]?.state).toBe('down');
    expect(a.clusterNode?.status()[0]?.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    await connect(a).register(reg('orders', 'o-2'));
    expect((await eurekaGet(a, '/apps/ORDERS')).json.application).toMatchObject({ instance: [{}, {}] });
  });

  it('parses service URLs and recognises its own', () => {
    expect(parseEurekaPeers(' http://e1:8761/eureka/ ,https://e2/eureka,http://e1:8761/eureka')).toEqual(['http://e1:8761/eureka', 'https://e2/eureka']);
    expect(() => parseEurekaPeers('e1:8761')).toThrow(/must be an http/);
    expect(() => parseEurekaPeers('not a url')).toThrow(/must be a URL/);
    expect(otherEurekaPeers(['http://127.0.0.1:8848/eureka', 'http://localhost:8848/eureka', 'http://10.9.9.9:8848/eureka', 'http://127.0.0.1:8761/eureka'], 8848, '0.0.0.0')).toEqual({
      self: ['http://127.0.0.1:8848/eureka', 'http://localhost:8848/eureka'],
      others: ['http://10.9.9.9:8848/eureka', 'http://127.0.0.1:8761/eureka'],
    });
  });
});
