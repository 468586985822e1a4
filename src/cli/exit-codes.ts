/**
 * The `herald` command's exit codes, decided in one place, so a script can tell a typo from a
 * server that is down, a refusal from something that does not exist:
 *
 * | code | meaning |
 * |---:|---|
 * | 0 | done (`herald health`: serving and ready) |
 * | 1 | failed for another reason (the server's INTERNAL, an unexpected error) |
 * | 2 | usage error: an unknown command or flag, a missing or malformed value (nothing was sent) |
 * | 3 | no server could be reached (connection refused, host not found, no answer in time) |
 * | 4 | the server refused the request: invalid argument, not authenticated, permission denied, a failed precondition |
 * | 5 | not found: the instance or service does not exist |
 * | 6 | `herald health` only: the server answers but is not ready (its start-up sync runs, or it is stopping) |
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcCode, isUnavailable, ServerUnreachableError } from '../client/call-errors.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  refused: 4,
  notFound: 5,
  notReady: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The statuses that are a server's refusal of the request as sent. */
const REFUSALS: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

/** An error the command raises itself for something that does not exist (e.g. a service with no instances); final, like the server's NOT_FOUND. */
export class NotFoundError extends Error {
  readonly code: number = GrpcStatus.NOT_FOUND;
}

/** The exit code for an error that ended a command (its `cause` chain is followed to the gRPC error). */
export function exitCodeOf(e: unknown): ExitCode {
  for (let x: unknown = e, depth = 0; x !== undefined && depth < 5; depth++) {
    if (x instanceof NotFoundError) return EXIT.notFound;
    if (x instanceof ServerUnreachableError) return EXIT.unreachable;
    const code = grpcCode(x);
    if (code !== undefined) {
      if (code === (GrpcStatus.NOT_FOUND as number)) return EXIT.notFound;
      if (REFUSALS.has(code)) return EXIT.refused;
      if (isUnavailable(x)) return EXIT.unreachable;
      return EXIT.failure;
    }
    x = x instanceof Error ? x.cause : undefined;
  }
  return EXIT.failure;
}

/** The exit-code table as `--help` shows it. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  done (health: serving and ready)
  1  failed for another reason
  2  usage error (unknown command or flag, missing or malformed value)
  3  no server could be reached
  4  the server refused the request (invalid, unauthenticated, permission denied)
  5  not found (no such instance or service)
  6  health: the server answers but is not ready`;
