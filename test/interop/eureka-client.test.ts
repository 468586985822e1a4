import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { BehaviorSubject } from 'rxjs';
import { connect, onCleanup, record, startServer, untilRegistry } from '../support/server.js';

/** The parts of eureka-js-client's (untyped, CommonJS) client the test uses. */
interface EurekaInstanceJson {
  instanceId: string;
  app: string;
  hostName: string;
  status: string;
  port: { $: number };
}
interface EurekaClient {
  start(cb: (err?: Error) => void): void;
  stop(cb: (err?: Error) => void): void;
  getInstancesByAppId(app: string): EurekaInstanceJson[];
  getInstancesByVipAddress(vip: string): EurekaInstanceJson[];
  /** Runs on the client's fetch interval (and at start): a full fetch, or a delta once it has one. */
  fetchRegistry(cb?: (err?: Error | null) => void): void;
  cache: { app: Record<string, EurekaInstanceJson[]> };
}

/** A client whose registry fetches can be waited on. */
interface WatchedEurekaClient extends EurekaClient {
  /** Resolves once `check` holds, looking now and after each registry fetch the client completes. */
  until(check: () => boolean, what: string): Promise<void>;
}
type EurekaCtor = new (config: unknown) => EurekaClient;

const { Eureka } = createRequire(import.meta.url)('eureka-js-client') as { Eureka: EurekaCtor };
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function eurekaClient(server: HeraldServer, app: string, id: string, port: number, extra: { registerWithEureka?: boolean } = {}): WatchedEurekaClient {
  const client = new Eureka({
    logger: quiet,
    shouldUseDelta: true,
    instance: {
      app,
      instanceId: id,
      hostName: `${id}.local`,
      ipAddr: '10.0.0.1',
      port: { $: port, '@enabled': true },
      vipAddress: `${app}.vip`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
    eureka: {
      host: '127.0.0.1',
      port: server.httpPort,
      servicePath: '/eureka/v2/apps/',
      registryFetchInterval: 100,
      heartbeatInterval: 200,
      maxRetries: 0,
      ...extra,
    },
  });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        client.stop(() => {
          resolve();
        });
      }),
  );
  // The client announces full fetches only ('registryUpdated'): each completed fetch, delta ones
  // included, is announced here, after the client has applied it to its cache.
  const fetched = new BehaviorSubject<void>(undefined);
  const fetches = record(fetched);
  const fetchRegistry = client.fetchRegistry.bind(client);
  client.fetchRegistry = (cb) => {
    fetchRegistry((err) => {
      cb?.(err);
      fetched.next();
    });
  };
  return Object.assign(client, {
    until: async (check: () => boolean, what: string) => {
      await fetches.until(check, what, () => `registry fetches: ${fetches.values.length - 1}; apps cached: ${Object.keys(client.cache.app).join(', ')}`);
    },
  });
}

const start = (c: EurekaClient): Promise<void> =>
  new Promise((resolve, reject) => {
    c.start((e) => {
      if (e) reject(e);
      else resolve();
    });
  });

/** Eureka's reconcile hash of a client's cache. */
function cacheHash(c: EurekaClient): string {
  const counts = new Map<string, number>();
  for (const list of Object.values(c.cache.app)) for (const i of list) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
  return [...counts.keys()].sort().map((s) => `${s}_${String(counts.get(s))}_`).join('');
}

async function serverHash(server: HeraldServer): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/eureka/apps`, { headers: { accept: 'application/json' } });
  return ((await res.json()) as { applications: { apps__hashcode: string } }).applications.apps__hashcode;
}

describe('the public eureka-js-client against herald', () => {
  it('two clients register and discover each other by app and VIP, with consistent delta fetches; a stopped one disappears', async () => {
    const server = await startServer();
    const alpha = eurekaClient(server, 'alpha', 'alpha-1', 8081);
    const beta = eurekaClient(server, 'beta', 'beta-1', 8082);
    await start(alpha);
    await start(beta);
    await alpha.until(() => alpha.getInstancesByAppId('beta').length === 1, 'alpha sees beta');
    await beta.until(() => beta.getInstancesByAppId('ALPHA').length === 1, 'beta sees alpha');
    expect(alpha.getInstancesByVipAddress('beta.vip').map((i) => i.instanceId)).toEqual(['beta-1']);
    expect(beta.getInstancesByVipAddress('alpha.vip')[0]).toMatchObject({ app: 'ALPHA', hostName: 'alpha-1.local', port: { $: 8081 } });
    // Deltas are in use and keep the cache consistent with the server's reconcile hash.
    await alpha.until(() => (server.eurekaRequests?.delta ?? 0) >= 2, 'delta fetches');
    await alpha.until(() => cacheHash(alpha) === 'UP_2_', 'both instances in the cache');
    expect(await serverHash(server)).toBe('UP_2_');
    // beta stops (deregisters): it leaves alpha's view, through a delta.
    await new Promise<void>((resolve) => {
      beta.stop(() => {
        resolve();
      });
    });
    await alpha.until(() => alpha.getInstancesByAppId('beta').length === 0, 'beta gone from alpha');
    expect(cacheHash(alpha)).toBe('UP_1_');
    expect(await serverHash(server)).toBe('UP_1_');
    expect(server.registry.query({ service: 'BETA' }).hosts).toEqual([]);
  });

  it('a Eureka-registered instance reaches gRPC subscribers, and a gRPC-registered one is visible to Eureka clients', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    const grpc = connect(server);
    const pushes = record(grpc.subscribe(SubscribeRequest.fromPartial({ service: 'ALPHA' })));
    const alpha = eurekaClient(server, 'alpha', 'alpha-1', 8081);
    await start(alpha);
    await pushes.until((v) => v.hosts[0]?.instanceId === 'alpha-1', 'gRPC subscriber sees the Eureka instance');
    await grpc.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.2.2.2', port: 9000 } }));
    await alpha.until(() => alpha.getInstancesByAppId('orders').length === 1, 'Eureka client sees the gRPC instance');
    expect(alpha.getInstancesByAppId('ORDERS')[0]).toMatchObject({ instanceId: 'o-1', app: 'ORDERS', status: 'UP', port: { $: 9000 } });
    expect(alpha.getInstancesByVipAddress('orders').map((i) => i.instanceId)).toEqual(['o-1']);
  });

  it("a client registered on one node reaches another node's Eureka clients through Eureka peer batches", async () => {
    const b = await startServer({ mergeWindowMs: 2 });
    const a = await startServer({ mergeWindowMs: 2, replicationBatchDelayMs: 2, eurekaPeers: [`http://127.0.0.1:${b.httpPort ?? 0}/eureka`] });
    const onB = eurekaClient(b, 'watcher', 'watcher-1', 8090, { registerWithEureka: false });
    await start(onB);
    const alpha = eurekaClient(a, 'alpha', 'alpha-1', 8081);
    await start(alpha);
    // Registered on A, replicated to B in a batch, fetched from B by another client.
    await onB.until(() => onB.getInstancesByAppId('ALPHA').length === 1, 'alpha on B');
    expect(onB.getInstancesByAppId('ALPHA')[0]).toMatchObject({ instanceId: 'alpha-1', hostName: 'alpha-1.local', status: 'UP', port: { $: 8081 } });
    // Its heartbeats travel too: B renews it (Heartbeat items), without a 404 re-registration.
    const before = b.registry.getInstance({ service: 'ALPHA', instanceId: 'alpha-1' }).lastRenewalMs;
    await untilRegistry(b, () => b.registry.getInstance({ service: 'ALPHA', instanceId: 'alpha-1' }).lastRenewalMs > before, 'heartbeat on B');
    expect(a.clusterNode?.status()[0]).toMatchObject({ failures: 0, dropped: 0 });
    // Stopping the client cancels on A, and the cancel reaches B.
    await new Promise<void>((resolve) => {
      alpha.stop(() => {
        resolve();
      });
    });
    await onB.until(() => onB.getInstancesByAppId('ALPHA').length === 0, 'alpha gone from B');
  });
});
