/**
 * Access tokens a login issues (Nacos's `POST /nacos/v1/auth/login` answers one with its TTL):
 * `herald1.<payload>.<signature>`, the payload `{"sub": name, "exp": ms}` in base64url, signed with
 * HMAC-SHA256 under the node's token key. Nodes that share the key (`--auth-token-key`) accept
 * each other's tokens. A token names a user; its roles are read from the auth file each time, so
 * removing a user or a role takes effect at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'herald1';

export class AccessTokens {
  constructor(
    private readonly key: Buffer,
    /** How long a token is valid. */
    readonly ttlMs: number,
  ) {}

  /** A token for `name`, valid from `nowMs` for the TTL. */
  issue(name: string, nowMs: number): string {
    const payload = Buffer.from(JSON.stringify({ sub: name, exp: nowMs + this.ttlMs }), 'utf8').toString('base64url');
    return `${PREFIX}.${payload}.${this.sign(payload)}`;
  }

  /** The user a token names, if it is one of ours (signature checked in constant time) and not expired. */
  verify(token: string, nowMs: number): string | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return undefined;
    const payload = parts[1] ?? '';
    const given = Buffer.from(parts[2] ?? '', 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp <= nowMs) return undefined;
      return claims.sub;
    } catch {
      return undefined;
    }
  }

  /** Whether a string looks like one of these tokens (rather than a static token). */
  static looksLike(token: string): boolean {
    return token.startsWith(`${PREFIX}.`);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(`${PREFIX}.${payload}`).digest('base64url');
  }
}
