/**
 * The auth file (`--auth-file`, YAML or JSON): users and service accounts with their credentials
 * (password hashes and token digests only, never secrets) and roles, and what an anonymous caller
 * may do. Parsed and checked as a whole; an error names the file and the entry.
 *
 * ```yaml
 * users:
 *   - name: admin
 *     password: "$scrypt$ln=17,r=8,p=1$…$…"      # herald auth hash-password
 *     roles: [{ namespace: "*", permission: admin }]
 *   - name: orders
 *     tokens: ["sha256:9f86…"]                     # herald auth token
 *     roles: [{ namespace: public, permission: write }]
 * anonymous:
 *   roles: []                                      # e.g. [{ namespace: public, permission: read }]
 * ```
 */
import { parse as parseYaml } from 'yaml';
import { parsePasswordHash } from './credentials.js';
import { isPermission, type Role } from './permissions.js';

export interface UserEntry {
  readonly name: string;
  /** A PHC-style scrypt hash, or undefined when the user logs in with tokens only. */
  readonly passwordHash: string | undefined;
  /** `sha256:<hex>` digests of the user's static tokens. */
  readonly tokenDigests: readonly string[];
  readonly roles: readonly Role[];
}

export interface AuthFile {
  readonly users: readonly UserEntry[];
  readonly anonymousRoles: readonly Role[];
}

const NAME = /^[A-Za-z0-9._@-]{1,128}$/;
const NAMESPACE = /^(\*|[A-Za-z0-9._:-]{1,256})$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function roles(v: unknown, where: string, problems: string[]): Role[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`${where}.roles must be a list`);
    return [];
  }
  const out: Role[] = [];
  v.forEach((r: unknown, i) => {
    const at = `${where}.roles[${i}]`;
    if (!isObject(r)) {
      problems.push(`${at} must be {namespace, permission}`);
      return;
    }
    const namespace = typeof r.namespace === 'string' ? r.namespace : '';
    if (!NAMESPACE.test(namespace)) problems.push(`${at}.namespace must be a namespace name or "*"`);
    if (!isPermission(r.permission)) problems.push(`${at}.permission must be read, write or admin`);
    else if (NAMESPACE.test(namespace)) out.push({ namespace, permission: r.permission });
  });
  return out;
}

/** Parses the text of an auth file. Throws an Error listing every problem, prefixed with `path`. */
export function parseAuthFile(text: string, path: string): AuthFile {
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (e) {
    throw new Error(`${path}: not valid YAML or JSON (${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)})`, { cause: e });
  }
  if (!isObject(doc)) throw new Error(`${path}: expected a mapping with "users" (and optionally "anonymous")`);
  const problems: string[] = [];
  const users: UserEntry[] = [];
  const seen = new Set<string>();
  if (!Array.isArray(doc.users)) problems.push('users must be a list');
  else {
    doc.users.forEach((u: unknown, i) => {
      const at = `users[${i}]`;
      if (!isObject(u)) {
        problems.push(`${at} must be a mapping`);
        return;
      }
      const name = typeof u.name === 'string' ? u.name : '';
      if (!NAME.test(name)) problems.push(`${at}.name must be 1 to 128 letters, digits, '.', '_', '@' or '-'`);
      else if (seen.has(name)) problems.push(`${at}.name ${name} appears twice`);
      seen.add(name);
      const password = u.password;
      if (password !== undefined && (typeof password !== 'string' || parsePasswordHash(password) === undefined)) {
        problems.push(`${at}.password must be a hash made by "herald auth hash-password" (never the password itself)`);
      }
      const tokens = u.tokens ?? [];
      if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string' && DIGEST.test(t))) {
        problems.push(`${at}.tokens must be a list of digests "sha256:<64 hex>" made by "herald auth token" (never the token itself)`);
      }
      const userRoles = roles(u.roles, at, problems);
      if (password === undefined && (!Array.isArray(tokens) || tokens.length === 0)) problems.push(`${at} has neither a password nor a token`);
      users.push({
        name,
        passwordHash: typeof password === 'string' ? password : undefined,
        tokenDigests: Array.isArray(tokens) ? tokens.filter((t): t is string => typeof t === 'string') : [],
        roles: userRoles,
      });
    });
  }
  const anonymous = doc.anonymous;
  let anonymousRoles: Role[] = [];
  if (anonymous !== undefined && anonymous !== null) {
    if (!isObject(anonymous)) problems.push('anonymous must be a mapping with roles');
    else anonymousRoles = roles(anonymous.roles, 'anonymous', problems);
  }
  for (const k of Object.keys(doc)) if (k !== 'users' && k !== 'anonymous') problems.push(`unknown key ${k}`);
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return { users, anonymousRoles };
}
