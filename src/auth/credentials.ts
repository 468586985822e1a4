/**
 * Secrets at rest and their checks: passwords as scrypt hashes (Node's crypto, OpenSSL's scrypt;
 * PHC-style strings `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`), static tokens as SHA-256 digests
 * (`sha256:<hex>`; a token is 32 random bytes, so a fast hash is enough), comparisons in constant
 * time. Nothing here logs or returns a secret.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** OWASP's scrypt parameters: N = 2^17 (128 MiB), r = 8, p = 1. */
export const DEFAULT_SCRYPT_LOG_N = 17;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scryptAsync(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 2 ** logN * r * 128 * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, options, (e, key) => {
      if (e) reject(e);
      else resolve(key);
    });
  });
}

/** A PHC-style scrypt hash of `password`. */
export async function hashPassword(password: string, logN = DEFAULT_SCRYPT_LOG_N): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, logN, R, P);
  return `$scrypt$ln=${logN},r=${R},p=${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface ParsedHash {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** Parses a stored hash; undefined when it is not one this module writes. */
export function parsePasswordHash(hash: string): ParsedHash | undefined {
  const m = PHC.exec(hash);
  if (m === null) return undefined;
  const [, ln, r, p, salt, key] = m;
  const logN = Number(ln);
  if (logN < 10 || logN > 22) return undefined;
  return { logN, r: Number(r), p: Number(p), salt: Buffer.from(salt ?? '', 'base64url'), key: Buffer.from(key ?? '', 'base64url') };
}

/** Whether `password` matches the stored `hash` (constant-time compare of the derived keys). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (parsed === undefined) return false;
  const key = await scryptAsync(password, parsed.salt, parsed.logN, parsed.r, parsed.p);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A new static token (32 random bytes, base64url) with the digest to store for it. */
export function newToken(): { token: string; digest: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, digest: tokenDigest(token) };
}

/** `sha256:<hex>` of a token: what the auth file stores. */
export function tokenDigest(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** Constant-time equality of two strings (by their SHA-256, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
