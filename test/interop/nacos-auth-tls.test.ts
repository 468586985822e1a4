/**
 * The public `nacos` npm client against herald with authentication and TLS on, configured as its
 * users configure it: `username`/`password` (it sends them as parameters on every call) and
 * `ssl: true` (https://). It trusts the test CA through its own HTTP client: nacos-naming calls
 * `options.httpclient.request(url, opts)` (urllib by default), so the test hands it that same
 * urllib with the CA added to each request. Without credentials, or with a wrong password, every
 * call is refused (Nacos's 403) and the registry does not change.
 */
import { createRequire } from 'node:module';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { NacosNamingClient, type Hosts } from 'nacos';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { authFixture } from '../support/auth-fixture.js';
import { eventually, onCleanup, record, startServer, type Recording } from '../support/server.js';
import { createTestPki, opensslMissing } from '../support/test-pki.js';

const missing = opensslMissing();

type Request = (url: string, options: Record<string, unknown>) => Promise<{ status: number }>;
/** The urllib nacos-naming itself requires (its default `httpclient`). */
const urllib = createRequire(createRequire(import.meta.url).resolve('nacos-naming'))('urllib') as { request: Request };

/** What the client logged at warn level: it reports each refused call so, then tries the next server. */
interface Warnings {
  readonly statuses: number[];
}

function quietLogger(warnings: Warnings): typeof console {
  const warn = (e: unknown): void => {
    const status = (e as { status?: unknown }).status;
    if (typeof status === 'number') warnings.statuses.push(status);
  };
  return { info: () => undefined, warn, error: () => undefined, debug: () => undefined, log: () => undefined } as unknown as typeof console;
}

async function nacosClient(server: HeraldServer, ca: Buffer, credentials: { username?: string; password?: string } = {}): Promise<{ client: NacosNamingClient; warnings: Warnings }> {
  const warnings: Warnings = { statuses: [] };
  const client = new NacosNamingClient({
    logger: quietLogger(warnings),
    serverList: `127.0.0.1:${server.httpPort ?? 0}`,
    namespace: 'public',
    ssl: true,
    ...credentials,
    // The client's own urllib, trusting the test CA (a deployment would add the CA to the system's roots).
    httpclient: { request: (url: string, options: Record<string, unknown>) => urllib.request(url, { ...options, ca }) },
  } as unknown as ConstructorParameters<typeof NacosNamingClient>[0]);
  await client.ready();
  onCleanup(() => (client as unknown as { close(): Promise<void> }).close());
  return { client, warnings };
}

function watch(client: NacosNamingClient, service: string): Recording<Hosts> {
  const told = new Subject<Hosts>();
  const seen = record(told);
  client.subscribe(service, (hosts) => {
    told.next(hosts);
  });
  return seen;
}

function instance(ip: string, port: number): Parameters<NacosNamingClient['registerInstance']>[1] {
  return { instanceId: '', ip, port, healthy: true, enabled: true };
}

const ips = (hosts: Hosts | undefined) => (hosts ?? []).map((h) => `${h.ip}:${h.port}`).sort();

async function setup() {
  const pki = createTestPki();
  onCleanup(() => {
    pki.remove();
  });
  const cert = pki.issue('server');
  const auth = await authFixture([
    { name: 'orders', password: 'orders-pw', roles: [{ namespace: 'public', permission: 'write' }] },
    { name: 'watcher', password: 'watcher-pw', roles: [{ namespace: 'public', permission: 'read' }] },
  ]);
  // Lists are polled every 60 s: a change seen sooner was pushed.
  const server = await startServer({ tlsCert: cert.cert, tlsKey: cert.key, authFile: auth.path, mergeWindowMs: 2, registry: { cacheMillis: 60_000 }, udpTargetExpiryMs: 120_000 });
  return { server, ca: pki.read(pki.ca) };
}

describe.skipIf(missing !== undefined)('the public `nacos` npm client with authentication and TLS', () => {
  it('registers, discovers and gets pushes over https with a user name and password', async () => {
    const { server, ca } = await setup();
    const { client: owner } = await nacosClient(server, ca, { username: 'orders', password: 'orders-pw' });
    const { client: watcher } = await nacosClient(server, ca, { username: 'watcher', password: 'watcher-pw' });
    const seen = watch(watcher, 'orders');
    // Neither the HTTP server nor the client says when the subscription's list call was served.
    await eventually(() => (server.udp?.stats().targets ?? 0) === 1, 'the watcher is a UDP push target');
    await owner.registerInstance('orders', instance('10.0.0.1', 8080));
    const pushed = await seen.until((hosts) => ips(hosts).length === 1, 'the registration pushed');
    expect(ips(pushed)).toEqual(['10.0.0.1:8080']);
    expect(ips(await watcher.getAllInstances('orders', 'DEFAULT_GROUP', '', false))).toEqual(['10.0.0.1:8080']);
    // Written as the user who logged in (the registrant rule sees it).
    expect(server.registry.getInstance({ service: 'orders', instanceId: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders' }).record.registrant).toBe('orders');
    // The reader may read but not write.
    await expect(watcher.registerInstance('orders', instance('10.0.0.2', 8080))).rejects.toThrow(/failed to req API/);
    expect(server.registry.query({ service: 'orders' }).hosts.map((h) => h.instanceId)).toEqual(['10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders']);
  });

  it('refuses a client without credentials, or with a wrong password (403), and the registry does not change', async () => {
    const { server, ca } = await setup();
    const { client: owner } = await nacosClient(server, ca, { username: 'orders', password: 'orders-pw' });
    await owner.registerInstance('orders', instance('10.0.0.1', 8080));
    const before = server.registry.stats();

    const anonymous = await nacosClient(server, ca);
    await expect(anonymous.client.registerInstance('orders', instance('10.6.6.6', 80))).rejects.toThrow(/failed to req API/);
    await expect(anonymous.client.getAllInstances('orders', 'DEFAULT_GROUP', '', false)).rejects.toThrow(/failed to req API/);
    await expect(anonymous.client.deregisterInstance('orders', instance('10.0.0.1', 8080))).rejects.toThrow(/failed to req API/);
    // Each refusal is a 403, as from a Nacos server (its background beats may add more).
    expect(anonymous.warnings.statuses.length).toBeGreaterThanOrEqual(3);
    expect(new Set(anonymous.warnings.statuses)).toEqual(new Set([403]));

    const wrong = await nacosClient(server, ca, { username: 'orders', password: 'not-it' });
    await expect(wrong.client.registerInstance('orders', instance('10.6.6.7', 80))).rejects.toThrow(/failed to req API/);
    await expect(wrong.client.deregisterInstance('orders', instance('10.0.0.1', 8080))).rejects.toThrow(/failed to req API/);
    expect(wrong.warnings.statuses.length).toBeGreaterThanOrEqual(2);
    expect(new Set(wrong.warnings.statuses)).toEqual(new Set([403]));

    expect(server.registry.stats()).toEqual(before);
    expect(server.registry.query({ service: 'orders' }).hosts.map((h) => h.instanceId)).toEqual(['10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders']);
    expect(server.nacosRequests).toMatchObject({ register: 1, deregister: 0 });
  });
});

if (missing !== undefined) {
  describe('the public `nacos` npm client with authentication and TLS', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
