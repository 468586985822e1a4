/** Secrets at rest: scrypt hashes (format, salt, wrong passwords, malformed hashes), token digests, constant-time equality. */
import { describe, expect, it } from 'vitest';
import { hashPassword, newToken, parsePasswordHash, sameSecret, tokenDigest, verifyPassword } from '../../src/auth/credentials.js';

describe('credentials', () => {
  it('hashes a password as a PHC scrypt string with a fresh salt, and verifies only that password', async () => {
    const a = await hashPassword('s3cret', 10);
    const b = await hashPassword('s3cret', 10);
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('s3cret ', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('refuses hashes it does not write (never a plain password, nor silly costs)', async () => {
    for (const bad of ['s3cret', '$scrypt$ln=9,r=8,p=1$YWJj$YWJj', '$scrypt$ln=23,r=8,p=1$YWJj$YWJj', '$argon2id$v=19$m=65536,t=3,p=4$YWJj$YWJj', '']) {
      expect(parsePasswordHash(bad), bad).toBeUndefined();
      expect(await verifyPassword('s3cret', bad)).toBe(false);
    }
  });

  it('makes 256-bit tokens and stores their SHA-256 digest', () => {
    const { token, digest } = newToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(digest).toBe(tokenDigest(token));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(newToken().token).not.toBe(token);
  });

  it('compares secrets of any lengths', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', '')).toBe(true);
  });
});
