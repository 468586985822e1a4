/**
 * Credentials to identities on a manual clock: static tokens, access tokens (expiry, tampering,
 * another key, a removed user), passwords (remembered checks, forgotten on reload), and the bound
 * on password checks in flight.
 */
import { describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-tokens.js';
import { parseAuthFile } from '../../src/auth/auth-file.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { hashPassword, newToken } from '../../src/auth/credentials.js';
import { ManualClock } from '../../src/core/clock.js';

async function setup(options?: Partial<ConstructorParameters<typeof Authenticator>[2]>) {
  const clock = new ManualClock(1_000_000);
  const tokens = new AccessTokens(Buffer.alloc(32, 7), 60_000);
  const auth = new Authenticator(clock, tokens, { passwordCacheMs: 300_000, passwordCacheSize: 10, maxConcurrentChecks: 2, maxQueuedChecks: 64, ...options });
  const t = newToken();
  const hash = await hashPassword('pw', 10);
  const file = (extra = '') =>
    parseAuthFile(
      `users:\n  - name: alice\n    password: "${hash}"\n    tokens: ["${t.digest}"]\n    roles: [{ namespace: public, permission: write }]\n${extra}`,
      'f',
    );
  auth.setFile(file());
  return { clock, tokens, auth, token: t.token, file };
}

describe('Authenticator', () => {
  it('knows a static token and refuses any other (never anonymous)', async () => {
    const { auth, token } = await setup();
    expect(await auth.authenticate({ kind: 'bearer', token })).toMatchObject({ ok: true, principal: { name: 'alice', anonymous: false } });
    expect(await auth.authenticate({ kind: 'bearer', token: `${token}x` })).toEqual({ ok: false, message: 'invalid credentials' });
    expect(await auth.authenticate({ kind: 'none' })).toMatchObject({ ok: true, principal: { anonymous: true, roles: [] } });
  });

  it('issues access tokens at login that expire, cannot be altered, and name a user who must still exist', async () => {
    const { auth, clock, file } = await setup();
    const login = await auth.login('alice', 'pw');
    if (!login.ok) throw new Error(login.message);
    expect(login.ttlMs).toBe(60_000);
    expect(await auth.authenticate({ kind: 'bearer', token: login.token })).toMatchObject({ ok: true, principal: { name: 'alice' } });
    const [prefix, payload, sig] = login.token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'alice', exp: 9e15 })).toString('base64url');
    expect((await auth.authenticate({ kind: 'bearer', token: `${prefix}.${forged}.${sig}` })).ok).toBe(false);
    const otherKey = new AccessTokens(Buffer.alloc(32, 8), 60_000).issue('alice', clock.nowMs());
    expect((await auth.authenticate({ kind: 'bearer', token: otherKey })).ok).toBe(false);
    clock.advance(60_000);
    expect((await auth.authenticate({ kind: 'bearer', token: login.token })).ok).toBe(false);
    expect(payload).not.toContain('pw');
    // A removed user's tokens stop working at once.
    clock.set(1_000_000);
    auth.setFile(parseAuthFile('users: [{ name: bob, tokens: ["sha256:' + '0'.repeat(64) + '"] }]', 'f'));
    expect((await auth.authenticate({ kind: 'bearer', token: login.token })).ok).toBe(false);
    auth.setFile(file());
  });

  it('checks a password once per pair and remembers it; a wrong one is refused; a reload forgets', async () => {
    const { auth, file } = await setup({ maxConcurrentChecks: 1, maxQueuedChecks: 0 });
    expect((await auth.authenticate({ kind: 'password', username: 'alice', password: 'nope' })).ok).toBe(false);
    expect((await auth.authenticate({ kind: 'password', username: 'mallory', password: 'pw' })).ok).toBe(false);
    expect((await auth.authenticate({ kind: 'password', username: 'alice', password: 'pw' })).ok).toBe(true);
    // Remembered checks take no slot: with every slot busy and no room to wait, they still pass.
    const busy = [0, 1, 2].map(() => auth.authenticate({ kind: 'password', username: 'alice', password: 'guess' }));
    expect((await auth.authenticate({ kind: 'password', username: 'alice', password: 'pw' })).ok).toBe(true);
    await Promise.all(busy);
    auth.setFile(file());
    expect((await auth.authenticate({ kind: 'password', username: 'alice', password: 'nope' })).ok).toBe(false);
  });

  it('refuses a password at once when too many checks are waiting', async () => {
    const { auth } = await setup({ maxConcurrentChecks: 1, maxQueuedChecks: 1 });
    const checks = [0, 1, 2, 3].map(() => auth.authenticate({ kind: 'password', username: 'alice', password: `guess` }));
    const results = await Promise.all(checks);
    expect(results.filter((r) => !r.ok && r.message.startsWith('too many password checks')).length).toBe(2);
    expect(results.filter((r) => !r.ok && r.message === 'invalid credentials').length).toBe(2);
  });
});
