/**
 * A Python gRPC client (Debian's grpcio, stubs generated from proto/ at test time) against herald
 * with TLS and authentication on: the server verified with the test CA, Register with
 * `authorization: Bearer <token>` metadata succeeds; without it, or with a wrong token, it is
 * UNAUTHENTICATED and nothing is registered.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authFixture } from '../support/auth-fixture.js';
import { onCleanup, startServer } from '../support/server.js';
import { createTestPki, opensslMissing } from '../support/test-pki.js';
import { generateHeraldStubs, pythonGrpcMissing, runPython } from './python.js';

const missing = pythonGrpcMissing() ?? opensslMissing();

interface AuthResult {
  anonymous: { code: string; details: string } | null;
  wrong: { code: string; details: string } | null;
  registered: { instance: { instance_id: string; registrant?: string } };
  read: { service_info: { hosts?: { instance_id: string }[] } };
}

describe.skipIf(missing !== undefined)('a Python gRPC client with a bearer token over TLS', () => {
  it('registers with the token, and is UNAUTHENTICATED without it or with a wrong one', async () => {
    const pki = createTestPki();
    onCleanup(() => {
      pki.remove();
    });
    const cert = pki.issue('server');
    const auth = await authFixture([{ name: 'py-service', roles: [{ namespace: 'public', permission: 'write' }] }]);
    const server = await startServer({ tlsCert: cert.cert, tlsKey: cert.key, authFile: auth.path });
    const stubs = generateHeraldStubs();
    onCleanup(() => {
      rmSync(stubs, { recursive: true, force: true });
    });
    const r = await runPython<AuthResult>('auth_client.py', [`127.0.0.1:${server.port}`, stubs, pki.ca, auth.tokens['py-service'] ?? '']);
    expect(r.anonymous).toEqual({ code: 'UNAUTHENTICATED', details: 'authentication required: write on namespace public needs credentials' });
    expect(r.wrong).toEqual({ code: 'UNAUTHENTICATED', details: 'invalid credentials' });
    const id = '10.9.9.9#9443#DEFAULT#DEFAULT_GROUP@@py-secure';
    expect(r.registered.instance.instance_id).toBe(id);
    expect(r.read.service_info.hosts?.map((h) => h.instance_id)).toEqual([id]);
    expect(server.registry.getInstance({ service: 'py-secure', instanceId: id }).record.registrant).toBe('py-service');
    expect(server.registry.stats().instances).toBe(1);
  });
});

if (missing !== undefined) {
  describe('a Python gRPC client with a bearer token over TLS', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
