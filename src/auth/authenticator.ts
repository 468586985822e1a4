/**
 * Who is calling: credentials as each transport finds them (a bearer token, a user name and
 * password from Basic auth or Nacos's parameters, or nothing) checked against the auth file, giving
 * a Principal or a refusal. Wrong credentials are refused, never treated as anonymous. A password
 * check (scrypt, deliberately slow) is remembered for a few minutes by a digest of the pair, so a
 * client that sends its password on every heartbeat (Eureka's Basic auth, Nacos's parameters) pays
 * it once; the memory is bounded and cleared when the file changes. At most a few checks run at a
 * time (each holds 128 MiB for a few hundred ms) and a bounded number wait: beyond that a password
 * is refused at once, so a flood of guesses cannot exhaust the node's memory. Secrets are never
 * logged.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AccessTokens } from './access-tokens.js';
import type { AuthFile, UserEntry } from './auth-file.js';
import { tokenDigest, verifyPassword } from './credentials.js';
import type { Principal } from './permissions.js';

export type Credentials =
  | { readonly kind: 'none' }
  /** A static token (auth file) or an access token (a login). */
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'password'; readonly username: string; readonly password: string };

export type AuthResult = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly message: string };

export interface AuthenticatorOptions {
  /** How long a successful password check is remembered. */
  readonly passwordCacheMs: number;
  /** Most password checks remembered. */
  readonly passwordCacheSize: number;
  /** Password checks (scrypt) running at once. */
  readonly maxConcurrentChecks: number;
  /** Password checks waiting for a turn; more are refused at once. */
  readonly maxQueuedChecks: number;
}

export const DEFAULT_AUTHENTICATOR_OPTIONS: AuthenticatorOptions = Object.freeze({ passwordCacheMs: 300_000, passwordCacheSize: 10_000, maxConcurrentChecks: 2, maxQueuedChecks: 64 });

const INVALID = 'invalid credentials';

export class Authenticator {
  private users = new Map<string, UserEntry>();
  private byTokenDigest = new Map<string, UserEntry>();
  private anonymous: Principal = { name: 'anonymous', anonymous: true, roles: [] };
  private readonly verified = new Map<string, { name: string; expiresAt: number }>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    readonly tokens: AccessTokens,
    private readonly options: AuthenticatorOptions = DEFAULT_AUTHENTICATOR_OPTIONS,
  ) {}

  /** Takes a (re)loaded auth file; remembered password checks are forgotten. */
  setFile(file: AuthFile): void {
    this.users = new Map(file.users.map((u) => [u.name, u]));
    this.byTokenDigest = new Map(file.users.flatMap((u) => u.tokenDigests.map((d) => [d, u] as const)));
    this.anonymous = { name: 'anonymous', anonymous: true, roles: file.anonymousRoles };
    this.verified.clear();
  }

  /** Names of the users and service accounts known. */
  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  async authenticate(c: Credentials): Promise<AuthResult> {
    switch (c.kind) {
      case 'none':
        return { ok: true, principal: this.anonymous };
      case 'bearer':
        return this.bearer(c.token);
      case 'password':
        return this.password(c.username, c.password);
    }
  }

  /** Checks a user name and password and issues an access token (Nacos's login). */
  async login(username: string, password: string): Promise<{ ok: true; token: string; ttlMs: number; principal: Principal } | { ok: false; message: string }> {
    const r = await this.password(username, password);
    if (!r.ok) return r;
    return { ok: true, token: this.tokens.issue(r.principal.name, this.clock.nowMs()), ttlMs: this.tokens.ttlMs, principal: r.principal };
  }

  /** Waits for a free check slot and takes it. */
  private async turn(): Promise<void> {
    while (this.running >= this.options.maxConcurrentChecks) {
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
      });
    }
    this.running++;
  }

  private principal(u: UserEntry): Principal {
    return { name: u.name, anonymous: false, roles: u.roles };
  }

  private bearer(token: string): AuthResult {
    if (AccessTokens.looksLike(token)) {
      const name = this.tokens.verify(token, this.clock.nowMs());
      const u = name === undefined ? undefined : this.users.get(name);
      return u === undefined ? { ok: false, message: `${INVALID} (the access token is not valid here, has expired, or names an unknown user)` } : { ok: true, principal: this.principal(u) };
    }
    const u = this.byTokenDigest.get(tokenDigest(token));
    return u === undefined ? { ok: false, message: INVALID } : { ok: true, principal: this.principal(u) };
  }

  private async password(username: string, password: string): Promise<AuthResult> {
    const u = this.users.get(username);
    if (u === undefined || u.passwordHash === undefined) return { ok: false, message: INVALID };
    const now = this.clock.nowMs();
    const memo = createHash('sha256').update(username).update('\u0000').update(password).digest('base64url');
    const hit = this.verified.get(memo);
    if (hit !== undefined && hit.expiresAt > now && hit.name === username) return { ok: true, principal: this.principal(u) };
    if (this.running >= this.options.maxConcurrentChecks && this.waiting.length >= this.options.maxQueuedChecks) {
      return { ok: false, message: 'too many password checks in progress; try again, or use a token' };
    }
    let matches: boolean;
    await this.turn();
    try {
      matches = await verifyPassword(password, u.passwordHash);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
    if (!matches) return { ok: false, message: INVALID };
    // The file may have changed while scrypt ran: take the user as it is now.
    const current = this.users.get(username);
    if (current === undefined || current.passwordHash !== u.passwordHash) return { ok: false, message: INVALID };
    if (this.verified.size >= this.options.passwordCacheSize) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(memo, { name: username, expiresAt: now + this.options.passwordCacheMs });
    return { ok: true, principal: this.principal(current) };
  }
}
