/**
 * The real `consul` npm client (2.x) against a real `herald serve` process: register with a TTL
 * check, keep it passing, watch the service with blocking queries and see another client's
 * registration pushed; registrations made over gRPC, Nacos, Eureka and Consul visible through all
 * four; bad input answered with Consul's status codes, changing nothing.
 */
import { describe, expect, it } from 'vitest';
import Consul from 'consul';
import { GetServiceRequest, RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { serve } from '../support/cli.js';
import { tempDataDir } from '../support/data-dir.js';
import { eurekaInstanceInfo } from '../support/eureka.js';
import { connect, onCleanup, within } from '../support/server.js';

/** A served herald: its gRPC port and HTTP base URL. */
async function herald(args: string[] = []): Promise<{ port: number; httpPort: number; base: string; stop: () => Promise<unknown> }> {
  const p = await serve(args);
  const line = await p.line(/herald is serving/, 'stderr');
  const { http } = JSON.parse(line) as { http: string };
  const httpPort = Number(http.split(':').at(-1));
  return {
    port: p.port,
    httpPort,
    base: `http://127.0.0.1:${httpPort}`,
    stop: () => {
      p.proc.kill('SIGTERM');
      return p.exited;
    },
  };
}

function consulClient(httpPort: number): Consul {
  return new Consul({ host: '127.0.0.1', port: httpPort });
}

interface Entry {
  Service: { ID: string; Address: string; Port: number; Tags: string[] };
  Checks: { Status: string }[];
}

/** The changes a watch emits, and a way to wait for one that satisfies a check. */
function watchHealth(client: Consul, service: string, passing = true): { until: (check: (entries: Entry[]) => boolean, what: string) => Promise<Entry[]>; changes: Entry[][] } {
  // The client calls `method` with `this` = { consul } (its documented use): it must be passed unbound.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const w = client.watch({ method: client.health.service, options: { service, ...(passing ? { passing: 'true' } : {}), wait: '30s' } });
  onCleanup(() => {
    w.end();
  });
  const changes: Entry[][] = [];
  const waiters: { check: (e: Entry[]) => boolean; resolve: (e: Entry[]) => void }[] = [];
  w.on('change', (data: Entry[]) => {
    changes.push(data);
    for (const x of [...waiters]) {
      if (x.check(data)) {
        waiters.splice(waiters.indexOf(x), 1);
        x.resolve(data);
      }
    }
  });
  w.on('error', () => undefined);
  return {
    changes,
    until: (check, what) => {
      const seen = changes.at(-1);
      if (seen !== undefined && check(seen)) return Promise.resolve(seen);
      return within(
        new Promise<Entry[]>((resolve) => waiters.push({ check, resolve })),
        what,
        () => `changes seen: ${JSON.stringify(changes.map((c) => c.map((e) => e.Service.ID)))}`,
      );
    },
  };
}

const ids = (entries: Entry[]): string[] => entries.map((e) => e.Service.ID).sort();

describe('the consul npm client against herald serve', () => {
  it('registers with a TTL check, keeps it passing, watches with blocking queries and sees another client pushed, deregisters', async () => {
    const h = await herald();
    const a = consulClient(h.httpPort);
    const b = consulClient(h.httpPort);
    await a.agent.service.register({
      name: 'web',
      id: 'web-1',
      address: '10.0.0.1',
      port: 80,
      tags: ['v1'],
      meta: { zone: 'a' },
      check: { name: 'web-1 alive', ttl: '10s', timeout: '1s' },
    });
    // A TTL check starts critical, as in Consul: not passing until the first pass.
    expect(await a.health.service({ service: 'web', passing: true })).toEqual([]);
    await a.agent.check.pass('service:web-1');
    const passing = (await a.health.service({ service: 'web', passing: true })) as Entry[];
    expect(passing.map((e) => [e.Service.ID, e.Service.Address, e.Service.Port, e.Service.Tags, e.Checks[0]?.Status])).toEqual([['web-1', '10.0.0.1', 80, ['v1'], 'passing']]);

    const watch = watchHealth(a, 'web');
    await watch.until((e) => ids(e).join() === 'web-1', 'the watch sees web-1');
    // Keeping it passing renews the lease without a change the watch would see.
    await a.agent.check.pass('service:web-1');
    await b.agent.service.register({ name: 'web', id: 'web-2', address: '10.0.0.2', port: 80, check: { name: 'web-2 alive', ttl: '10s', timeout: '1s', status: 'passing' } });
    await watch.until((e) => ids(e).join() === 'web-1,web-2', "the watch sees the other client's web-2");

    await a.agent.check.fail('service:web-1');
    await watch.until((e) => ids(e).join() === 'web-2', 'a failed check leaves the passing list');
    expect(((await a.health.service('web')) as Entry[]).find((e) => e.Service.ID === 'web-1')?.Checks[0]?.Status).toBe('critical');
    await a.agent.check.pass('service:web-1');
    await watch.until((e) => ids(e).join() === 'web-1,web-2', 'a passing check is back');

    await a.agent.service.deregister('web-1');
    await watch.until((e) => ids(e).join() === 'web-2', 'the watch sees web-1 deregistered');
    expect(await a.catalog.service.list()).toEqual({ web: [] });
    expect((await a.catalog.service.nodes('web')).map((n: { ServiceID: string }) => n.ServiceID)).toEqual(['web-2']);
  });

  it('a TTL check not passed within its TTL turns critical, and the service is removed after DeregisterCriticalServiceAfter', async () => {
    const h = await herald(['--heartbeat-check-interval-ms', '50', '--eviction-interval-ms', '50', '--self-preservation', 'off']);
    const c = consulClient(h.httpPort);
    await c.agent.service.register({
      name: 'lapse',
      id: 'lapse-1',
      address: '10.0.0.1',
      port: 80,
      check: { name: 'alive', ttl: '1s', timeout: '1s', status: 'passing', deregistercriticalserviceafter: '1s' },
    });
    const passing = watchHealth(c, 'lapse');
    const any = watchHealth(c, 'lapse', false);
    await passing.until((e) => ids(e).join() === 'lapse-1', 'the watch sees lapse-1 passing');
    await passing.until((e) => e.length === 0, 'without a pass the check turns critical and leaves the passing list');
    await any.until((e) => e.length === 0, 'the critical service is deregistered after DeregisterCriticalServiceAfter');
    expect(any.changes.some((e) => e[0]?.Checks[0]?.Status === 'critical')).toBe(true);
  });

  it('a service registered without checks is persistent: acknowledged once on disk, it is there after a restart', async () => {
    const dir = tempDataDir();
    const first = await herald(['--data-dir', dir]);
    await consulClient(first.httpPort).agent.service.register({ name: 'db', id: 'db-1', address: '10.0.0.5', port: 5432, tags: ['primary'] });
    await first.stop();
    const second = await herald(['--data-dir', dir]);
    const entries = (await consulClient(second.httpPort).health.service({ service: 'db', passing: true })) as Entry[];
    expect(entries.map((e) => [e.Service.ID, e.Service.Address, e.Service.Port, e.Service.Tags, e.Checks[0]?.Status])).toEqual([
      ['db-1', '10.0.0.5', 5432, ['primary'], 'passing'],
    ]);
  });

  it('a blocking query is answered when the service changes and carries X-Consul-Index (after another was aborted by its caller)', async () => {
    const h = await herald();
    const c = consulClient(h.httpPort);
    await c.agent.service.register({ name: 'api', id: 'api-1', address: '10.0.0.1', port: 81 });
    const first = await fetch(`${h.base}/v1/health/service/api`);
    const index = Number(first.headers.get('x-consul-index'));
    expect(index).toBeGreaterThan(0);
    // The same index again is held: abort one such request (its waiter must go), then hold another until a change.
    const aborted = new AbortController();
    const gone = fetch(`${h.base}/v1/health/service/api?index=${index}&wait=1m`, { signal: aborted.signal }).catch((e: unknown) => e);
    aborted.abort();
    await gone;
    const held = fetch(`${h.base}/v1/health/service/api?index=${index}&wait=1m`);
    await c.agent.service.register({ name: 'api', id: 'api-2', address: '10.0.0.2', port: 81 });
    const answer = await within(held, 'the blocking query is answered after the change');
    expect(Number(answer.headers.get('x-consul-index'))).toBeGreaterThan(index);
    expect(((await answer.json()) as Entry[]).map((e) => e.Service.ID)).toEqual(['api-1', 'api-2']);
    // A short wait with no change answers with the same index.
    const idle = await fetch(`${h.base}/v1/health/service/api?index=${answer.headers.get('x-consul-index') ?? ''}&wait=50ms`);
    expect(idle.headers.get('x-consul-index')).toBe(answer.headers.get('x-consul-index'));
    // The catalog's index moves with any service.
    const services = await fetch(`${h.base}/v1/catalog/services`);
    const held2 = fetch(`${h.base}/v1/catalog/services?index=${services.headers.get('x-consul-index') ?? ''}&wait=1m`);
    await c.agent.service.register({ name: 'other', address: '10.0.0.3', port: 82 });
    expect(await (await within(held2, 'the catalog blocking query is answered')).json()).toEqual({ api: [], other: [] });
  });

  it('registrations made over gRPC, Nacos, Eureka and Consul are visible through all four', async () => {
    const h = await herald();
    const grpc = connect(h.port);
    const consul = consulClient(h.httpPort);
    await grpc.register(RegisterRequest.fromPartial({ service: 'SHARED', instance: { instanceId: 'g-1', ip: '10.0.0.1', port: 1 } }));
    const nacos = await fetch(`${h.base}/nacos/v1/ns/instance?serviceName=SHARED&ip=10.0.0.2&port=2&ephemeral=false`, { method: 'POST' });
    expect(nacos.status).toBe(200);
    const eureka = await fetch(`${h.base}/eureka/apps/SHARED`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instance: eurekaInstanceInfo('SHARED', 'e-1') }),
    });
    expect(eureka.status).toBe(204);
    await consul.agent.service.register({ name: 'SHARED', id: 'c-1', address: '10.0.0.4', port: 4 });
    const want = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.4:4', '10.0.0.9:8080'];

    const viaGrpc = await grpc.getService(GetServiceRequest.fromPartial({ service: 'SHARED' }));
    expect((viaGrpc.serviceInfo?.hosts ?? []).map((x) => `${x.ip}:${x.port}`).sort()).toEqual(want);
    const viaNacos = (await (await fetch(`${h.base}/nacos/v1/ns/instance/list?serviceName=SHARED`)).json()) as { hosts: { ip: string; port: number }[] };
    expect(viaNacos.hosts.map((x) => `${x.ip}:${x.port}`).sort()).toEqual(want);
    const viaEureka = (await (await fetch(`${h.base}/eureka/apps`, { headers: { accept: 'application/json' } })).json()) as {
      applications: { application: { name: string; instance: { ipAddr: string; port: { $: number } }[] }[] };
    };
    const app = viaEureka.applications.application.find((a) => a.name === 'SHARED');
    expect((app?.instance ?? []).map((x) => `${x.ipAddr}:${x.port.$}`).sort()).toEqual(want);
    const viaConsul = (await consul.health.service('SHARED')) as Entry[];
    expect(viaConsul.map((e) => `${e.Service.Address}:${e.Service.Port}`).sort()).toEqual(want);
    expect(viaConsul.every((e) => e.Checks[0]?.Status === 'passing')).toBe(true);
  });

  it("bad input on the Consul endpoints gets Consul's status codes and changes nothing", async () => {
    const h = await herald();
    const consul = consulClient(h.httpPort);
    await consul.agent.service.register({ name: 'keep', id: 'keep-1', address: '10.0.0.1', port: 80, check: { name: 'keep alive', ttl: '30s', timeout: '1s', status: 'passing' } });
    const before = await fetch(`${h.base}/v1/catalog/services`);
    const beforeIndex = before.headers.get('x-consul-index');
    const beforeBody: unknown = await before.json();
    const put = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${h.base}${path}`, { method: 'PUT', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    const cases: [Promise<Response>, number, RegExp][] = [
      [put('/v1/agent/service/register', { Port: 80 }), 400, /Missing service name/],
      [put('/v1/agent/service/register', { Name: 'bad', Port: 'x' }), 400, /Invalid Port/],
      [put('/v1/agent/service/register', { Name: 'bad', Port: 1, Address: 'not an address!' }), 400, /instance.ip/],
      [put('/v1/agent/service/register', { Name: 'bad', Port: 1, Check: { TTL: 'soon' } }), 400, /TTL/],
      [put('/v1/agent/service/register', { Name: 'bad', Port: 1, Check: { HTTP: 'http://x/', Interval: '1s' } }), 400, /TTL checks/],
      [put('/v1/agent/service/deregister/nope'), 404, /Unknown service ID "nope"/],
      [put('/v1/agent/check/pass/service:nope'), 404, /Unknown check ID "service:nope"/],
      [put('/v1/agent/check/update/service:keep-1', { Status: 'great' }), 400, /Invalid status/],
      [fetch(`${h.base}/v1/health/service/keep?index=abc`), 400, /Invalid index/],
      [fetch(`${h.base}/v1/health/service/keep?index=5&wait=later`), 400, /Invalid wait time/],
      [put('/v1/kv/config', 'x'), 501, /KV/],
      [fetch(`${h.base}/v1/acl/token/self`), 401, /ACL support disabled/],
      [fetch(`${h.base}/v1/connect/ca/roots`), 501, /Connect/],
      [fetch(`${h.base}/v1/no/such/endpoint`), 404, /does not serve/],
    ];
    for (const [res, status, text] of cases) {
      const r = await res;
      expect([r.url, r.status]).toEqual([r.url, status]);
      expect(await r.text()).toMatch(text);
    }
    const after = await fetch(`${h.base}/v1/catalog/services`);
    expect(after.headers.get('x-consul-index')).toBe(beforeIndex);
    expect(await after.json()).toEqual(beforeBody);
    const entries = (await consul.health.service('keep')) as Entry[];
    expect(entries.map((e) => [e.Service.ID, e.Checks[0]?.Status])).toEqual([['keep-1', 'passing']]);
  });
});
