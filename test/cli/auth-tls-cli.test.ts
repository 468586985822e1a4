/**
 * The `herald` command against `herald serve` with TLS and authentication on, as an operator sets
 * it up: `herald auth hash-password` (password on stdin) and `herald auth token` make the auth
 * file's entries; `register`, `list` and `auth login` talk TLS verified with the test CA and log
 * in or send the token; a wrong password ends `list` and `register` at once with exit 1 and one
 * line (a refusal is final: no retry loop).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { herald, heraldOnce, serve } from '../support/cli.js';
import { onCleanup } from '../support/server.js';
import { createTestPki, opensslMissing } from '../support/test-pki.js';

const missing = opensslMissing();

/** Runs `herald <args>` with `input` on stdin, to completion. */
function heraldWithInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['bin/herald.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

describe.skipIf(missing !== undefined)('herald with TLS and authentication', () => {
  it('auth file entries from `herald auth`; register, list and login over TLS; a wrong password exits 1 with one line', { timeout: 30_000 }, async () => {
    const pki = createTestPki();
    onCleanup(() => {
      pki.remove();
    });
    const cert = pki.issue('server');

    // The operator's side: a password hash from stdin, a static token and its digest.
    const hashed = await heraldWithInput(['auth', 'hash-password'], 'deployer-pw\n');
    expect(hashed).toMatchObject({ code: 0, stderr: '' });
    const hash = hashed.stdout.trim();
    expect(hash).toMatch(/^\$scrypt\$/);
    const made = await heraldOnce(['auth', 'token', '--json']);
    expect(made.code).toBe(0);
    const { token, digest } = JSON.parse(made.stdout) as { token: string; digest: string };
    const authFile = join(pki.dir, 'auth.yaml');
    writeFileSync(
      authFile,
      stringify({
        users: [
          { name: 'deployer', password: hash, roles: [{ namespace: 'public', permission: 'write' }] },
          { name: 'ci', tokens: [digest], roles: [{ namespace: 'public', permission: 'read' }] },
        ],
      }),
    );
    const server = await serve(['--tls-cert', cert.cert, '--tls-key', cert.key, '--auth-file', authFile]);
    const target = ['--server', `127.0.0.1:${server.port}`, '--tls-ca', pki.ca];

    // The hashed password logs in (the password from the environment, as the help advises).
    const reg = herald(['register', ...target, '--user', 'deployer', '--service', 'orders', '--ip', '10.0.0.5', '--port', '8080'], { HERALD_PASSWORD: 'deployer-pw' });
    await reg.line(/^registered 10\.0\.0\.5#8080#DEFAULT#DEFAULT_GROUP@@orders/);

    // The token reads.
    const listed = await heraldOnce(['list', ...target, '--service', 'orders', '--json'], { HERALD_TOKEN: token });
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { hosts: { instanceId: string }[] }).hosts.map((h) => h.instanceId)).toEqual(['10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@orders']);
    // The token cannot write (read only): refused at once.
    const readOnly = await heraldOnce(['register', ...target, '--token', token, '--service', 'orders', '--ip', '10.0.0.6', '--port', '8080']);
    expect(readOnly.code).toBe(4);
    expect(readOnly.stderr.split('\n')).toEqual(['herald: the server refused the registration: ci lacks write permission on namespace public']);

    // An access token from `herald auth login` works as HERALD_TOKEN.
    const login = await heraldOnce(['auth', 'login', ...target, '--user', 'deployer'], { HERALD_PASSWORD: 'deployer-pw' });
    expect(login.code).toBe(0);
    const accessToken = login.stdout.trim();
    expect(accessToken).toMatch(/^herald1\./);
    const withAccessToken = await heraldOnce(['list', ...target], { HERALD_TOKEN: accessToken });
    expect(withAccessToken.code).toBe(0);
    expect(withAccessToken.stdout).toMatch(/^DEFAULT_GROUP\s+orders\s+1\s+1\s/m);

    // A wrong password: one line, exit 4 (refused), for both commands.
    const wrongList = await heraldOnce(['list', ...target, '--user', 'deployer'], { HERALD_PASSWORD: 'wrong' });
    expect(wrongList.code).toBe(4);
    expect(wrongList.stderr.split('\n')).toEqual([`herald: 127.0.0.1:${server.port}: login as deployer failed: invalid credentials`]);
    expect(wrongList.stdout).toBe('');
    const wrongRegister = await heraldOnce(['register', ...target, '--user', 'deployer', '--service', 'orders', '--ip', '10.0.0.7', '--port', '8080'], {
      HERALD_PASSWORD: 'wrong',
    });
    expect(wrongRegister.code).toBe(4);
    expect(wrongRegister.stderr.split('\n')).toEqual(['herald: the server refused the registration: login as deployer failed: invalid credentials']);
    // No credentials at all: refused the same way.
    const anonymous = await heraldOnce(['list', ...target]);
    expect(anonymous.code).toBe(4);
    expect(anonymous.stderr.split('\n')).toEqual([`herald: 127.0.0.1:${server.port}: authentication required: read on namespace public needs credentials`]);

    // Only the first registration made it.
    const after = await heraldOnce(['list', ...target, '--service', 'orders', '--json'], { HERALD_TOKEN: token });
    expect((JSON.parse(after.stdout) as { hosts: unknown[] }).hosts).toHaveLength(1);
    reg.proc.kill('SIGINT');
    expect(await reg.exited).toBe(0);
  });
});

if (missing !== undefined) {
  describe('herald with TLS and authentication', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
}
