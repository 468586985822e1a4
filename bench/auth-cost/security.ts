/**
 * The four server configurations auth-cost compares and what each asks of a client: plain (auth
 * off, no TLS), auth (an auth file, plain text), tls (a certificate, no auth) and auth+tls. The
 * files are made once per benchmark in a temporary directory (removed on exit): a CA and a server
 * certificate for IP:127.0.0.1 (test/support/test-pki.ts, the openssl CLI), and an auth file with one
 * service account allowed to write the default namespace, as an application's would be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SecurityOptions } from '../../src/client/connection-security.js';
import { hashPassword, newToken } from '../../src/auth/credentials.js';
import { DEFAULT_NAMESPACE } from '../../src/core/model.js';
import { createTestPki } from '../../test/support/test-pki.js';
import type { BenchServerConfig } from '../lib/server-commands.js';

export const SECURITY_CONFIGS = ['plain', 'auth', 'tls', 'auth+tls'] as const;
export type SecurityConfig = (typeof SECURITY_CONFIGS)[number];

/**
 * How the clients authenticate: `static`, a static token from the auth file (the server looks up
 * its SHA-256 digest on every call); `access`, a user name and password exchanged once per client
 * for an access token (the server checks its HMAC on every call).
 */
export const CREDENTIALS = ['static', 'access'] as const;
export type Credential = (typeof CREDENTIALS)[number];

const USER = 'bench-app';
/** Only the logins pay scrypt, never a measured call; the lowest cost the auth file accepts. */
const LOGIN_LOG_N = 10;

export const hasAuth = (c: SecurityConfig): boolean => c === 'auth' || c === 'auth+tls';
export const hasTls = (c: SecurityConfig): boolean => c === 'tls' || c === 'auth+tls';

export interface SecurityFiles {
  /** The server settings of a configuration (auth file, certificate and key). */
  server(c: SecurityConfig): BenchServerConfig;
  /** What a client of that configuration sets (undefined = plain text, no credentials). */
  client(c: SecurityConfig): SecurityOptions | undefined;
}

/** Parses `plain,auth,tls,auth+tls`. */
export function parseConfigs(value: string, name: string): SecurityConfig[] {
  const out = value.split(',').map((part) => {
    const found = SECURITY_CONFIGS.find((c) => c === part.trim());
    if (found === undefined) throw new Error(`--${name}: "${part}" is not one of ${SECURITY_CONFIGS.join(', ')}`);
    return found;
  });
  if (!out.includes('plain')) throw new Error(`--${name} must include plain (every ratio is against it)`);
  return [...new Set(out)];
}

/** Makes the files (removed when this process exits). */
export async function securityFiles(credential: Credential): Promise<SecurityFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-auth-cost-'));
  const pki = createTestPki('herald-bench-ca');
  process.once('exit', () => {
    rmSync(dir, { recursive: true, force: true });
    pki.remove();
  });
  const serverCert = pki.issue('server', ['IP:127.0.0.1']);
  const token = newToken();
  const password = newToken().token;
  const authFile = join(dir, 'auth.yaml');
  writeFileSync(
    authFile,
    stringify({
      users: [
        {
          name: USER,
          ...(credential === 'access' ? { password: await hashPassword(password, LOGIN_LOG_N) } : {}),
          tokens: [token.digest],
          roles: [{ namespace: DEFAULT_NAMESPACE, permission: 'write' }],
        },
      ],
      anonymous: { roles: [] },
    }),
  );
  const credentials: SecurityOptions = credential === 'static' ? { token: token.token } : { username: USER, password };
  return {
    server: (c) => ({
      ...(hasAuth(c) ? { authFile } : {}),
      ...(hasTls(c) ? { tlsCert: serverCert.cert, tlsKey: serverCert.key } : {}),
    }),
    client: (c) => {
      if (c === 'plain') return undefined;
      return { ...(hasTls(c) ? { tls: { ca: pki.ca } } : {}), ...(hasAuth(c) ? credentials : {}) };
    },
  };
}
