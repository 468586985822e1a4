/**
 * An auth file for tests, written to a temporary directory: users with passwords (hashed with a
 * small scrypt cost, so tests stay fast) and static tokens (digests stored, tokens returned), and
 * roles per namespace. `rewrite` replaces the file (the server reloads it).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashPassword, newToken } from '../../src/auth/credentials.js';
import type { Role } from '../../src/auth/permissions.js';
import { onCleanup } from './server.js';

export interface TestUser {
  readonly name: string;
  readonly roles: readonly Role[];
  /** Give the user a password (default: none). */
  readonly password?: string;
}

export interface AuthFixture {
  readonly path: string;
  /** Each user's static token. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Writes the file again with these users (tokens kept for names seen before) and anonymous roles. */
  rewrite(users: readonly TestUser[], anonymous?: readonly Role[]): Promise<void>;
}

/** scrypt cost for tests (2^10): the format and the check are the same, only faster. */
const TEST_LOG_N = 10;

/** `cleanup` removes the file's directory: after the test by default (a suite-wide server passes its own). */
export async function authFixture(users: readonly TestUser[], anonymous: readonly Role[] = [], cleanup: (fn: () => void) => void = onCleanup): Promise<AuthFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-auth-'));
  cleanup(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'auth.yaml');
  const tokens: Record<string, string> = {};
  const digests: Record<string, string> = {};
  const write = async (list: readonly TestUser[], anon: readonly Role[]): Promise<void> => {
    const entries = [];
    for (const u of list) {
      if (tokens[u.name] === undefined) {
        const t = newToken();
        tokens[u.name] = t.token;
        digests[u.name] = t.digest;
      }
      entries.push({
        name: u.name,
        ...(u.password === undefined ? {} : { password: await hashPassword(u.password, TEST_LOG_N) }),
        tokens: [digests[u.name]],
        roles: u.roles.map((r) => ({ namespace: r.namespace, permission: r.permission })),
      });
    }
    // Written whole, then renamed over the old file, as an operator's tools do.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, stringify({ users: entries, anonymous: { roles: anon.map((r) => ({ ...r })) } }));
    renameSync(tmp, path);
  };
  await write(users, anonymous);
  return { path, tokens, rewrite: (list, anon = []) => write(list, anon) };
}
