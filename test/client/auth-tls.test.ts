/**
 * The SDK against a server with TLS and authentication on, as an application meets it: a static
 * token over TLS verified with the test CA; a user name and password whose access tokens expire
 * (a short --auth-token-ttl-ms) while registrations renew and watches stay open; an access token
 * the server no longer accepts (it restarted with a new token key) is replaced by a new login,
 * while a wrong password is a final refusal.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryClient, type RegistrationState, type RegistryClient, type RegistryClientOptions } from '../../src/client/index.js';
import { CallCredentials, channelCredentialsOf, type SecurityOptions } from '../../src/client/connection-security.js';
import { ManualClock } from '../../src/core/clock.js';
import { authFixture, type TestUser } from '../support/auth-fixture.js';
import { onCleanup, record, startServer, untilRegistry } from '../support/server.js';
import { createTestPki, opensslMissing } from '../support/test-pki.js';

const missing = opensslMissing();

const USERS: TestUser[] = [
  { name: 'orders', password: 'orders-pw', roles: [{ namespace: 'public', permission: 'write' }] },
  { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
];

/** How long an access token lives on these servers (short, so tests outlive several). */
const TOKEN_TTL_MS = 2_000;

async function setup() {
  const pki = createTestPki();
  onCleanup(() => {
    pki.remove();
  });
  const server = pki.issue('server');
  const auth = await authFixture(USERS);
  const config = { tlsCert: server.cert, tlsKey: server.key, authFile: auth.path, authTokenTtlMs: TOKEN_TTL_MS, mergeWindowMs: 2 };
  return { pki, auth, config, ca: pki.read(pki.ca) };
}

function client(port: number, security: SecurityOptions, options: Partial<RegistryClientOptions> = {}): RegistryClient {
  const c = createRegistryClient({ servers: [`127.0.0.1:${port}`], security, heartbeatBackoffMaxMs: 200, resubscribeBackoffMaxMs: 200, ...options });
  onCleanup(() => c.close());
  return c;
}

const ids = (hosts: readonly { instanceId: string }[]) => hosts.map((h) => h.instanceId).sort();

describe.skipIf(missing !== undefined)('the SDK with TLS and authentication', () => {
  it('registers and watches over TLS with a static token, verified with the CA; without the CA it does not connect', async () => {
    const { auth, config, ca } = await setup();
    const server = await startServer(config);
    const watcher = client(server.port, { tls: { ca }, token: auth.tokens.reader ?? '' });
    const events = record(watcher.watch$('orders'));
    await events.until(() => true, 'the first snapshot');
    const owner = client(server.port, { tls: { ca }, token: auth.tokens.orders ?? '' });
    const handle = owner.register({ service: 'orders', ip: '10.0.0.1', port: 80 });
    const states = record(handle.state$);
    await states.until((s) => s.kind === 'registered', 'registered');
    const pushed = await events.until((e) => e.snapshot.hosts.length === 1, 'the registration pushed');
    expect(pushed.snapshot.hosts[0]).toMatchObject({ ip: '10.0.0.1', port: 80 });
    expect(server.registry.getInstance({ service: 'orders', instanceId: handle.instanceId }).record.registrant).toBe('orders');
    // The system roots do not know the test CA: the handshake fails, and the reason says why.
    const untrusting = client(server.port, { tls: true, token: auth.tokens.reader ?? '' }, { callTimeoutMs: 2_000 });
    await expect(untrusting.getServiceInfo('orders')).rejects.toThrow(`cannot reach 127.0.0.1:${server.port} (unable to verify the first certificate)`);
  });

  it('logs in with a user name and password and keeps registering, renewing and watching past two token lifetimes', { timeout: 30_000 }, async () => {
    const { config, ca } = await setup();
    const server = await startServer(config);
    const security: SecurityOptions = { tls: { ca }, username: 'orders', password: 'orders-pw' };
    const owner = client(server.port, security);
    const watcher = client(server.port, security);
    const events = record(watcher.watch$('orders'));
    await events.until(() => true, 'the first snapshot');
    const handle = owner.register({ service: 'orders', ip: '10.0.0.1', port: 80, leaseDurationMs: 1_500, renewalIntervalMs: 200 });
    const states = record(handle.state$);
    const first = (await states.until((s) => s.kind === 'registered', 'registered')) as Extract<RegistrationState, { kind: 'registered' }>;
    // Renewals go on past two lifetimes of the token it logged in with (the lease expiry is the
    // server's clock plus the lease): each needed a token from a later login.
    await states.until((s) => s.kind === 'registered' && s.leaseExpiresAt > first.leaseExpiresAt + 2 * TOKEN_TTL_MS, 'a renewal two token lifetimes later', () => '', 15_000);
    expect(states.values.filter((s) => s.kind !== 'registered')).toEqual([{ kind: 'registering', attempt: 1 }]);
    // The watch opened with the first token still gets pushes, and new calls are answered.
    owner.register({ service: 'orders', ip: '10.0.0.2', port: 80 });
    const both = await events.until((e) => e.snapshot.hosts.length === 2, 'the second registration pushed');
    expect(ids(both.snapshot.hosts)).toEqual(['10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@orders', '10.0.0.2#80#DEFAULT#DEFAULT_GROUP@@orders']);
    // A service not cached yet is read from the server now.
    expect(await watcher.getServiceInfo('payments')).toMatchObject({ stale: false, snapshot: { hosts: [] } });
  });

  it('logs in again when the server no longer accepts its access token (restarted with a new token key), and stays registered', async () => {
    const { config, ca } = await setup();
    const first = await startServer({ ...config, authTokenTtlMs: 3_600_000 });
    const port = first.port;
    const owner = client(port, { tls: { ca }, username: 'orders', password: 'orders-pw' }, { heartbeatBackoffMaxMs: 100 });
    const handle = owner.register({ service: 'orders', ip: '10.0.0.1', port: 80, leaseDurationMs: 3_000, renewalIntervalMs: 100 });
    const states = record(handle.state$);
    await states.until((s) => s.kind === 'registered', 'registered');
    await first.close();
    // A new process on the same port: a new random token key, an empty registry.
    const second = await startServer({ ...config, port, authTokenTtlMs: 3_600_000 });
    await untilRegistry(second, () => second.registry.stats().instances === 1, `registered again on the restarted server (states: ${JSON.stringify(states.values.slice(-3))})`);
    expect(states.values.map((s) => s.kind)).not.toContain('rejected');
  });

  it('a client idle past the lifetime of its access token waits for a new login rather than send the expired token', async () => {
    const { config, ca } = await setup();
    const clock = new ManualClock(Date.now());
    const server = await startServer(config, { clock });
    // The client's clock (it also sets the login's deadline): real time, moved on by the test.
    let ahead = 0;
    const security: SecurityOptions = { tls: { ca }, username: 'orders', password: 'orders-pw' };
    const credentials = new CallCredentials(security, `127.0.0.1:${server.port}`, channelCredentialsOf(security), 5_000, () => Date.now() + ahead);
    onCleanup(() => {
      credentials.close();
    });
    const bearer = (v: string) => ({ kind: 'bearer' as const, token: v.replace(/^Bearer /, '') });
    const first = await credentials.value();
    expect(await server.access.authenticate(bearer(first))).toMatchObject({ ok: true });
    // Both clocks move one lifetime on: the first token has expired on the server and in the client.
    ahead += TOKEN_TTL_MS;
    clock.advance(TOKEN_TTL_MS);
    expect(await server.access.authenticate(bearer(first))).toMatchObject({ ok: false });
    const second = await credentials.value();
    expect(second).not.toBe(first);
    expect(await server.access.authenticate(bearer(second))).toMatchObject({ ok: true });
  });

  it('a wrong password is refused once, for good: the registration ends rejected', async () => {
    const { config, ca } = await setup();
    const server = await startServer(config);
    const owner = client(server.port, { tls: { ca }, username: 'orders', password: 'wrong' });
    const states = record(owner.register({ service: 'orders', ip: '10.0.0.1', port: 80 }).state$);
    const rejected = await states.until((s) => s.kind === 'rejected', 'the refusal');
    expect(rejected).toEqual({ kind: 'rejected', code: 'UNAUTHENTICATED', reason: 'login as orders failed: invalid credentials' });
    expect(server.registry.stats().instances).toBe(0);
  });
});

if (missing !== undefined) {
  describe('the SDK with TLS and authentication', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
