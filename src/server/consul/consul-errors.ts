/**
 * The Consul transport's one status table: the registry's errors as Consul answers them (plain text
 * bodies, as the Consul agent writes them). Anything else is a bug: 500 with a generic message and a
 * log line, never a stack trace.
 */
import { RegistryError, type RegistryErrorCode } from '../../core/errors.js';
import type { Logger } from '../../common/logger.js';

/** HTTP statuses of the registry's errors, as Consul answers them. */
export const CONSUL_STATUS_OF: Readonly<Record<RegistryErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LIMIT_EXCEEDED: 429,
  PERMISSION_DENIED: 403,
};

export function consulError(e: unknown, logger: Logger, where: string): { readonly status: number; readonly message: string } {
  if (e instanceof RegistryError) return { status: CONSUL_STATUS_OF[e.code], message: e.message };
  logger.error({ err: e, where }, 'unexpected error in the Consul API');
  return { status: 500, message: 'internal error' };
}

/**
 * Consul endpoints herald does not serve, by path prefix under /v1, with the status and text they
 * get: ACLs as a Consul agent with ACLs disabled answers (401 "ACL support disabled"), everything
 * else 501 naming what is missing: not 404, which a Consul client reads as "no such key" (a KV
 * get answers undefined) and would go on as if the store were empty (docs/consul.md).
 */
export const UNSERVED: readonly { readonly prefix: string; readonly status: number; readonly message: string }[] = [
  { prefix: 'acl', status: 401, message: 'ACL support disabled' },
  { prefix: 'kv', status: 501, message: 'herald serves no Consul KV store (see docs/consul.md)' },
  { prefix: 'connect', status: 501, message: 'herald serves no Consul Connect (service mesh) endpoints (see docs/consul.md)' },
  { prefix: 'session', status: 501, message: 'herald serves no Consul sessions (see docs/consul.md)' },
  { prefix: 'event', status: 501, message: 'herald serves no Consul events (see docs/consul.md)' },
  { prefix: 'txn', status: 501, message: 'herald serves no Consul transactions (see docs/consul.md)' },
  { prefix: 'query', status: 501, message: 'herald serves no Consul prepared queries (see docs/consul.md)' },
  { prefix: 'snapshot', status: 501, message: 'herald serves no Consul snapshots (see docs/consul.md)' },
  { prefix: 'operator', status: 501, message: 'herald serves no Consul operator endpoints (see docs/consul.md)' },
];

/** The answer to an unserved path (`rest` is the path after /v1/): the table's, else 404 as Consul answers an unknown endpoint. */
export function unservedAnswer(rest: string): { readonly status: number; readonly message: string } {
  const first = rest.split('/')[0] ?? '';
  const hit = UNSERVED.find((u) => u.prefix === first);
  return hit ?? { status: 404, message: `herald's Consul API does not serve /v1/${rest.split('?')[0] ?? ''} (see docs/consul.md)` };
}
