/**
 * The public eureka-js-client against herald with authentication and TLS on, configured as its
 * README shows: `eureka.ssl: true`, and a `requestMiddleware` that adds HTTP Basic credentials
 * (`requestOpts.auth`) and here also the test CA (`requestOpts.ca`; a deployment would add it to
 * the system's roots). Clients register, fetch the registry (deltas included) and see each other;
 * without credentials, with a wrong password (401) or without write permission (403) they are
 * refused and the registry does not change.
 */
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { authFixture } from '../support/auth-fixture.js';
import { onCleanup, record, startServer } from '../support/server.js';
import { createTestPki, opensslMissing } from '../support/test-pki.js';

const missing = opensslMissing();

/** The parts of eureka-js-client's (untyped, CommonJS) client the test uses. */
interface EurekaInstanceJson {
  instanceId: string;
  app: string;
  status: string;
}
interface EurekaClient {
  start(cb: (err?: Error | null) => void): void;
  stop(cb: (err?: Error) => void): void;
  getInstancesByAppId(app: string): EurekaInstanceJson[];
  fetchRegistry(cb?: (err?: Error | null) => void): void;
  cache: { app: Record<string, EurekaInstanceJson[]> };
}
interface WatchedEurekaClient extends EurekaClient {
  /** Resolves once `check` holds, looking now and after each registry fetch the client completes. */
  until(check: () => boolean, what: string): Promise<void>;
  /** Errors of the registry fetches so far. */
  readonly fetchErrors: unknown[];
}
type RequestOptions = Record<string, unknown>;
type EurekaCtor = new (config: unknown) => EurekaClient;

const { Eureka } = createRequire(import.meta.url)('eureka-js-client') as { Eureka: EurekaCtor };
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function eurekaClient(server: HeraldServer, ca: Buffer, app: string, id: string, auth: { user: string; password: string } | undefined, extra: { registerWithEureka?: boolean } = {}): WatchedEurekaClient {
  const client = new Eureka({
    logger: quiet,
    shouldUseDelta: true,
    requestMiddleware: (requestOpts: RequestOptions, done: (o: RequestOptions) => void) => {
      done({ ...requestOpts, ca, ...(auth === undefined ? {} : { auth }) });
    },
    instance: {
      app,
      instanceId: id,
      hostName: `${id}.local`,
      ipAddr: '10.0.0.1',
      port: { $: 8080, '@enabled': true },
      vipAddress: `${app}.vip`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
    eureka: {
      host: '127.0.0.1',
      port: server.httpPort,
      ssl: true,
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
  // Each completed fetch (delta ones included) is announced after the client applied it.
  const fetched = new BehaviorSubject<void>(undefined);
  const fetches = record(fetched);
  const fetchErrors: unknown[] = [];
  const fetchRegistry = client.fetchRegistry.bind(client);
  client.fetchRegistry = (cb) => {
    fetchRegistry((err) => {
      if (err) fetchErrors.push(err);
      cb?.(err);
      fetched.next();
    });
  };
  return Object.assign(client, {
    fetchErrors,
    until: async (check: () => boolean, what: string) => {
      await fetches.until(check, what, () => `registry fetches: ${fetches.values.length - 1}; apps cached: ${Object.keys(client.cache.app).join(', ')}`);
    },
  });
}

/** start(), resolving with its error (undefined when it started). */
const start = (c: EurekaClient): Promise<Error | undefined> =>
  new Promise((resolve) => {
    c.start((e?: Error | null) => {
      resolve(e ?? undefined);
    });
  });

async function setup() {
  const pki = createTestPki();
  onCleanup(() => {
    pki.remove();
  });
  const cert = pki.issue('server');
  const auth = await authFixture([
    { name: 'alpha', password: 'alpha-pw', roles: [{ namespace: 'public', permission: 'write' }] },
    { name: 'beta', password: 'beta-pw', roles: [{ namespace: 'public', permission: 'write' }] },
    { name: 'viewer', password: 'viewer-pw', roles: [{ namespace: 'public', permission: 'read' }] },
  ]);
  const server = await startServer({ tlsCert: cert.cert, tlsKey: cert.key, authFile: auth.path, mergeWindowMs: 2 });
  return { server, ca: pki.read(pki.ca) };
}

/** GET over https, trusting `ca`, without credentials. */
function get(server: HeraldServer, ca: Buffer, path: string): Promise<{ status: number | undefined; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.httpPort, path, ca, headers: { accept: 'application/json' } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'] });
    });
    req.once('error', reject);
    req.end();
  });
}

const ids = (server: HeraldServer) =>
  server.registry
    .fetchRegistry('public')
    .services.flatMap((s) => s.hosts.map((h) => h.instanceId))
    .sort();

describe.skipIf(missing !== undefined)('the public eureka-js-client with authentication and TLS', () => {
  it('registers and fetches over https with Basic credentials, and sees another instance appear', async () => {
    const { server, ca } = await setup();
    const alpha = eurekaClient(server, ca, 'alpha', 'alpha-1', { user: 'alpha', password: 'alpha-pw' });
    expect(await start(alpha)).toBeUndefined();
    await alpha.until(() => alpha.getInstancesByAppId('ALPHA').length === 1, 'alpha sees itself');
    const beta = eurekaClient(server, ca, 'beta', 'beta-1', { user: 'beta', password: 'beta-pw' });
    expect(await start(beta)).toBeUndefined();
    // beta appears in alpha's cache through its (delta) fetches.
    await alpha.until(() => alpha.getInstancesByAppId('BETA').length === 1, 'alpha sees beta');
    expect(alpha.getInstancesByAppId('BETA')[0]).toMatchObject({ instanceId: 'beta-1', status: 'UP' });
    expect(server.eurekaRequests?.delta ?? 0).toBeGreaterThan(0);
    expect(alpha.fetchErrors).toEqual([]);
    // Each instance was written as its own user.
    expect(server.registry.getInstance({ service: 'BETA', instanceId: 'beta-1' }).record.registrant).toBe('beta');
    // A reader fetches, and sees both.
    const viewer = eurekaClient(server, ca, 'viewer', 'viewer-1', { user: 'viewer', password: 'viewer-pw' }, { registerWithEureka: false });
    expect(await start(viewer)).toBeUndefined();
    await viewer.until(() => viewer.getInstancesByAppId('ALPHA').length === 1 && viewer.getInstancesByAppId('BETA').length === 1, 'the viewer sees both');
  });

  it('refuses a client without credentials or with a wrong password (401) and one without write permission (403); the registry does not change', async () => {
    const { server, ca } = await setup();
    const alpha = eurekaClient(server, ca, 'alpha', 'alpha-1', { user: 'alpha', password: 'alpha-pw' });
    expect(await start(alpha)).toBeUndefined();
    const before = ids(server);
    expect(before).toEqual(['alpha-1']);

    const anonymous = eurekaClient(server, ca, 'mallory', 'mallory-1', undefined);
    expect((await start(anonymous))?.message).toMatch(/^eureka registration FAILED: status: 401 body: authentication required: write on namespace public needs credentials/);
    const wrong = eurekaClient(server, ca, 'mallory', 'mallory-2', { user: 'alpha', password: 'nope' });
    expect((await start(wrong))?.message).toMatch(/^eureka registration FAILED: status: 401 body: invalid credentials/);
    const readOnly = eurekaClient(server, ca, 'mallory', 'mallory-3', { user: 'viewer', password: 'viewer-pw' });
    expect((await start(readOnly))?.message).toMatch(/^eureka registration FAILED: status: 403 body: viewer lacks write permission on namespace public/);
    // Reads need credentials too.
    const fetcher = eurekaClient(server, ca, 'fetcher', 'fetcher-1', undefined, { registerWithEureka: false });
    expect((await start(fetcher))?.message).toBe('Unable to retrieve full registry from Eureka server');
    expect(fetcher.cache.app).toEqual({});
    // (The client does not say why: the server's answer, with its challenge.)
    expect(await get(server, ca, '/eureka/v2/apps')).toMatchObject({ status: 401, challenge: 'Basic realm="herald", charset="UTF-8"' });

    expect(ids(server)).toEqual(before);
    expect(server.registry.query({ service: 'MALLORY' }).hosts).toEqual([]);
  });
});

if (missing !== undefined) {
  describe('the public eureka-js-client with authentication and TLS', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
