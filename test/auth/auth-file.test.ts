/** The auth file: what it accepts, and every error named by its entry (a file with errors is refused whole). */
import { describe, expect, it } from 'vitest';
import { parseAuthFile } from '../../src/auth/auth-file.js';
import { tokenDigest } from '../../src/auth/credentials.js';

const HASH = '$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U';
const DIGEST = tokenDigest('t');

describe('parseAuthFile', () => {
  it('reads users, tokens, roles and anonymous roles from YAML or JSON', () => {
    const yaml = `users:\n  - name: admin\n    password: "${HASH}"\n    roles: [{ namespace: "*", permission: admin }]\n  - name: orders\n    tokens: ["${DIGEST}"]\n    roles: [{ namespace: public, permission: write }]\nanonymous:\n  roles: [{ namespace: public, permission: read }]\n`;
    const f = parseAuthFile(yaml, 'a.yaml');
    expect(f.users.map((u) => [u.name, u.passwordHash !== undefined, u.tokenDigests.length, u.roles])).toEqual([
      ['admin', true, 0, [{ namespace: '*', permission: 'admin' }]],
      ['orders', false, 1, [{ namespace: 'public', permission: 'write' }]],
    ]);
    expect(f.anonymousRoles).toEqual([{ namespace: 'public', permission: 'read' }]);
    expect(parseAuthFile(JSON.stringify({ users: [{ name: 'x', tokens: [DIGEST] }] }), 'a.json').users[0]?.name).toBe('x');
  });

  it('names the file and every bad entry, and refuses plain passwords and raw tokens', () => {
    const text = JSON.stringify({
      users: [
        { name: 'a', password: 'hunter2' },
        { name: 'b', tokens: ['raw-token'] },
        { name: 'c' },
        { name: 'a', tokens: [DIGEST] },
        { name: 'bad name!', tokens: [DIGEST], roles: [{ namespace: 'x y', permission: 'root' }] },
      ],
      extra: 1,
    });
    let message = '';
    try {
      parseAuthFile(text, '/etc/herald/auth.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('/etc/herald/auth.yaml: ');
    for (const part of [
      'users[0].password must be a hash made by "herald auth hash-password" (never the password itself)',
      'users[1].tokens must be a list of digests "sha256:<64 hex>" made by "herald auth token" (never the token itself)',
      'users[2] has neither a password nor a token',
      'users[3].name a appears twice',
      "users[4].name must be 1 to 128 letters, digits, '.', '_', '@' or '-'",
      'users[4].roles[0].namespace must be a namespace name or "*"',
      'users[4].roles[0].permission must be read, write or admin',
      'unknown key extra',
    ]) {
      expect(message).toContain(part);
    }
    expect(message).not.toContain('hunter2');
  });

  it('refuses text that is not YAML, and a document without users', () => {
    expect(() => parseAuthFile('users: [', 'f')).toThrow(/^f: not valid YAML or JSON/);
    expect(() => parseAuthFile('42', 'f')).toThrow('f: expected a mapping with "users"');
    expect(() => parseAuthFile('anonymous: {}', 'f')).toThrow('f: users must be a list');
  });
});
