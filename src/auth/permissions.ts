/**
 * Who may do what: identities (users and service accounts), the permissions roles grant on
 * namespaces, and the one authorization decision every transport asks. Pure.
 *
 * Permissions are ordered: admin includes write, write includes read. `read` covers queries,
 * Subscribe and fetches; `write` covers register, renew, cancel and status overrides; `admin`
 * covers service settings, users and cluster views. A role grants a permission on one namespace
 * or on every namespace (`*`).
 */

export const PERMISSIONS = ['read', 'write', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(v: unknown): v is Permission {
  return typeof v === 'string' && (PERMISSIONS as readonly string[]).includes(v);
}

const RANK: Readonly<Record<Permission, number>> = { read: 1, write: 2, admin: 3 };

export interface Role {
  /** A namespace name, or `*` for every namespace. */
  readonly namespace: string;
  readonly permission: Permission;
}

/** Who a request comes from. */
export interface Principal {
  /** The user or service account name; `anonymous` for a request without credentials. */
  readonly name: string;
  readonly anonymous: boolean;
  readonly roles: readonly Role[];
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly authenticated: boolean; readonly message: string };

/** The permission `principal` holds on `namespace` (the highest its roles grant), or undefined. */
export function permissionOn(principal: Principal, namespace: string): Permission | undefined {
  let best: Permission | undefined;
  for (const r of principal.roles) {
    if (r.namespace !== '*' && r.namespace !== namespace) continue;
    if (best === undefined || RANK[r.permission] > RANK[best]) best = r.permission;
  }
  return best;
}

/** Whether `principal` may do what needs `permission` on `namespace` (`*`: on every namespace). */
export function authorize(principal: Principal, permission: Permission, namespace: string): Decision {
  if (namespace === '*') {
    if (principal.roles.some((r) => r.namespace === '*' && RANK[r.permission] >= RANK[permission])) return { allowed: true };
  } else {
    const held = permissionOn(principal, namespace);
    if (held !== undefined && RANK[held] >= RANK[permission]) return { allowed: true };
  }
  const where = namespace === '*' ? 'every namespace' : `namespace ${namespace}`;
  if (principal.anonymous) {
    return { allowed: false, authenticated: false, message: `authentication required: ${permission} on ${where} needs credentials` };
  }
  return { allowed: false, authenticated: true, message: `${principal.name} lacks ${permission} permission on ${where}` };
}

/** Whether `principal` is admin somewhere on `namespace` (owners' rule: an admin may change any instance). */
export function isAdminOf(principal: Principal, namespace: string): boolean {
  return permissionOn(principal, namespace) === 'admin';
}
