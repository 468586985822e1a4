/**
 * Authentication and permissions over gRPC on a real server (127.0.0.1:0) with an auth file: the
 * attacks of issue #12 refused with the right status and nothing changed, logins and their tokens,
 * a reloaded file taking effect at once (open Subscribe streams included), and the registrant rule.
 * The full method × identity matrix is auth-matrix-{grpc,http,http-attacks,peers}.test.ts.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import type { SecurityOptions } from '../../src/client/connection-security.js';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { authFixture, type TestUser } from '../support/auth-fixture.js';
import { onCleanup, record, recordingLogger, startServer } from '../support/server.js';

const USERS: TestUser[] = [
  { name: 'admin', password: 'admin-pw', roles: [{ namespace: '*', permission: 'admin' }] },
  { name: 'orders', roles: [{ namespace: 'public', permission: 'write' }] },
  { name: 'billing', password: 'billing-pw', roles: [{ namespace: 'public', permission: 'write' }] },
  { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
];

function client(server: HeraldServer, security?: SecurityOptions): RegistryTransport {
  const t = new RegistryTransport(`127.0.0.1:${server.port}`, security === undefined ? {} : { security });
  onCleanup(() => {
    t.close();
  });
  return t;
}

async function refused(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; details: string };
  }
  throw new Error('expected the call to be refused');
}

const order = (ip = '10.0.0.1') => RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip, port: 80 } });

async function setup() {
  const auth = await authFixture(USERS);
  const { logger, lines } = recordingLogger();
  const server = await startServer({ authFile: auth.path, reloadIntervalMs: 50 }, { logger });
  const as = (name: string): RegistryTransport => client(server, { token: auth.tokens[name] ?? '' });
  return { auth, server, as, lines };
}

describe('gRPC with authentication on', () => {
  it('refuses an anonymous caller (UNAUTHENTICATED, naming the permission and namespace) and a wrong token, and changes nothing', async () => {
    const { server } = await setup();
    const anonymous = await refused(client(server).register(order()));
    expect(anonymous).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED, details: 'authentication required: write on namespace public needs credentials' });
    const wrong = await refused(client(server, { token: 'not-a-token' }).register(order()));
    expect(wrong).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED, details: 'invalid credentials' });
    expect(await refused(client(server).fetchRegistry({ namespace: 'public' }))).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    expect(server.registry.stats().instances).toBe(0);
  });

  it('refuses a write without the permission (PERMISSION_DENIED) and one on another namespace', async () => {
    const { server, as } = await setup();
    expect(await refused(as('reader').register(order()))).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED, details: 'reader lacks write permission on namespace public' });
    expect(await refused(as('orders').register({ ...order(), namespace: 'prod' }))).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      details: 'orders lacks write permission on namespace prod',
    });
    expect(await refused(as('orders').updateService({ namespace: 'public', group: '', service: 'orders', protectThreshold: 0.5, metadata: {} }))).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      details: 'orders lacks admin permission on namespace public',
    });
    expect(server.registry.stats().instances).toBe(0);
  });

  it('does not let one service account take over, override or cancel another one’s instance; the registrant and an admin may', async () => {
    const { server, as } = await setup();
    await as('orders').register(order());
    const before = server.registry.getInstance({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', instanceId: 'o-1' }).record;
    expect(before.registrant).toBe('orders');
    const ref = { namespace: 'public', group: '', service: 'orders', instanceId: 'o-1' };
    for (const attempt of [
      as('billing').register(order('6.6.6.6')),
      as('billing').setStatus({ ...ref, status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, lastDirtyTimestamp: 0 }),
      as('billing').cancel(ref),
      as('billing').renew({ ...ref, lastDirtyTimestamp: 0 }),
    ]) {
      const e = await refused(attempt);
      expect(e.code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect(e.details).toContain('was registered by orders; billing may not change it');
    }
    expect(server.registry.getInstance({ ...ref, group: 'DEFAULT_GROUP' }).record).toBe(before);
    // GetInstance shows the registrant; pushes do not carry it.
    expect((await as('reader').getInstance(ref)).instance?.registrant).toBe('orders');
    await as('orders').renew({ ...ref, lastDirtyTimestamp: 0 });
    await as('admin').setStatus({ ...ref, status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, lastDirtyTimestamp: 0 });
    await as('admin').cancel(ref);
    expect(server.registry.stats().instances).toBe(0);
  });

  it('logs in with a user name and password (AuthService/Login) and uses the access token; a wrong password is UNAUTHENTICATED', async () => {
    const { server } = await setup();
    const billing = client(server, { username: 'billing', password: 'billing-pw' });
    await billing.register(order());
    expect(server.registry.getInstance({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', instanceId: 'o-1' }).record.registrant).toBe('billing');
    const wrong = await refused(client(server, { username: 'billing', password: 'nope' }).fetchRegistry({ namespace: 'public' }));
    expect(wrong).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED, details: 'login as billing failed: invalid credentials' });
  });

  it('applies a changed auth file without a restart, and ends a Subscribe stream whose caller lost read', async () => {
    const { server, auth, as } = await setup();
    const stream = record(as('reader').subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await stream.until((v) => v.name === 'orders', 'the first snapshot');
    await auth.rewrite([...USERS.filter((u) => u.name !== 'reader'), { name: 'reader', roles: [{ namespace: 'other', permission: 'read' }] }]);
    const ended = await stream.failure('the stream ended by the reload');
    expect(ended).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED, details: 'reader lacks read permission on namespace public' });
    expect(await refused(as('reader').fetchRegistry({ namespace: 'public' }))).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    expect(server.registry.stats().instances).toBe(0);
  });

  it('keeps the previous auth file when the new one has errors', async () => {
    const { auth, as, lines } = await setup();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(auth.path, 'users: [{ name: x, password: "plain-text" }]\n');
    const rejected = await lines.until((l) => l.message.startsWith('auth file not reloaded'), 'the broken file refused');
    expect(String(rejected.fields.err)).toContain('users[0].password must be a hash made by "herald auth hash-password"');
    // The previous users still work.
    await as('reader').fetchRegistry({ namespace: 'public' });
  });
});
