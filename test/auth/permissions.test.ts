/** The one decision, exhaustively: every permission against every role on the namespace, on another, and on `*`. */
import { describe, expect, it } from 'vitest';
import { authorize, isAdminOf, permissionOn, PERMISSIONS, type Permission, type Principal } from '../../src/auth/permissions.js';

const RANK: Record<Permission, number> = { read: 1, write: 2, admin: 3 };
const who = (roles: Principal['roles'], anonymous = false): Principal => ({ name: anonymous ? 'anonymous' : 'alice', anonymous, roles });

describe('authorize', () => {
  it('allows exactly what a role on the namespace or on * grants, for every pair of permissions', () => {
    for (const held of PERMISSIONS) {
      for (const needed of PERMISSIONS) {
        const allowed = RANK[held] >= RANK[needed];
        expect(authorize(who([{ namespace: 'public', permission: held }]), needed, 'public').allowed, `${held} on public for ${needed}`).toBe(allowed);
        expect(authorize(who([{ namespace: '*', permission: held }]), needed, 'public').allowed, `${held} on * for ${needed}`).toBe(allowed);
        expect(authorize(who([{ namespace: 'prod', permission: held }]), needed, 'public').allowed, `${held} on prod for ${needed}`).toBe(false);
        // A question about every namespace needs a role on *.
        expect(authorize(who([{ namespace: 'public', permission: held }]), needed, '*').allowed).toBe(false);
        expect(authorize(who([{ namespace: '*', permission: held }]), needed, '*').allowed).toBe(allowed);
      }
    }
  });

  it('takes the highest of several roles', () => {
    const p = who([
      { namespace: 'public', permission: 'read' },
      { namespace: '*', permission: 'write' },
      { namespace: 'public', permission: 'admin' },
    ]);
    expect(permissionOn(p, 'public')).toBe('admin');
    expect(permissionOn(p, 'prod')).toBe('write');
    expect(isAdminOf(p, 'public')).toBe(true);
    expect(isAdminOf(p, 'prod')).toBe(false);
  });

  it('says why: credentials needed (anonymous) or the permission lacking (named), naming the namespace', () => {
    expect(authorize(who([], true), 'write', 'public')).toEqual({ allowed: false, authenticated: false, message: 'authentication required: write on namespace public needs credentials' });
    expect(authorize(who([{ namespace: 'public', permission: 'read' }]), 'write', 'public')).toEqual({
      allowed: false,
      authenticated: true,
      message: 'alice lacks write permission on namespace public',
    });
    expect(authorize(who([]), 'read', '*')).toMatchObject({ message: 'alice lacks read permission on every namespace' });
  });

  it('lets anonymous callers do what the file grants anonymous', () => {
    expect(authorize(who([{ namespace: 'public', permission: 'read' }], true), 'read', 'public').allowed).toBe(true);
  });
});
