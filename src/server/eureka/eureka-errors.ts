/**
 * The Eureka transport's one error table: the registry's errors as Eureka answers them (400, 404,
 * 409 with the server's copy). Anything else is a bug: 500 with a generic message and a log line.
 * Both the REST resources and the peer-batch items answer through it.
 */
import { RegistryError, type RegistryErrorCode } from '../../core/errors.js';
import type { InstanceRecord } from '../../core/model.js';
import type { Logger } from '../../common/logger.js';

/** HTTP statuses of the registry's errors, as Eureka answers them. */
export const EUREKA_STATUS_OF: Readonly<Record<RegistryErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LIMIT_EXCEEDED: 400,
  PERMISSION_DENIED: 403,
};

/** What Eureka answers for a thrown value: a status and either a message or the server's newer copy (409). */
export type EurekaErrorAnswer = { readonly status: number; readonly message: string; readonly serverCopy?: InstanceRecord };

export function eurekaError(e: unknown, logger: Logger, where: string): EurekaErrorAnswer {
  if (e instanceof RegistryError) {
    if (e.code === 'CONFLICT' && e.serverCopy !== undefined) return { status: 409, message: e.message, serverCopy: e.serverCopy };
    return { status: EUREKA_STATUS_OF[e.code], message: e.message };
  }
  logger.error({ err: e, where }, 'unexpected error in the Eureka API');
  return { status: 500, message: 'internal error' };
}
