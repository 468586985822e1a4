/**
 * What a failed call means, decided in one place for the whole SDK and the `herald` command:
 * whether it is unavailability (the server was not reached, or gave no answer), which is retried,
 * or an answer from a server, which is final; and how to say either in plain words instead of
 * grpc-js's raw text ("No connection established. Last error: … Resolution note: ").
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The statuses that mean "no answer": the only ones retried (as Google's AIP-194 advises).
 * - UNAVAILABLE: no connection, the server is shutting down, or a proxy found no backend.
 * - DEADLINE_EXCEEDED: no answer within the call timeout.
 * - CANCELLED: the call was cut off (grpc-js reports some connection drops so); a server never
 *   refuses a request with it.
 * Errors with no gRPC status at all never came from a server and count as unavailability too.
 * Everything else is a server's verdict on the request and would come back the same on a retry:
 * INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS, NOT_FOUND (callers that
 * expect it, like renewals, handle it first), PERMISSION_DENIED and UNAUTHENTICATED (wrong or
 * missing credentials do not heal), RESOURCE_EXHAUSTED (a configured limit), ABORTED,
 * UNIMPLEMENTED (not a herald server, or too old), INTERNAL, UNKNOWN and DATA_LOSS.
 */
const UNAVAILABILITY: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED]);

/** The gRPC status code of an error, if it has one. */
export function grpcCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
}

/** The status code's name (`INVALID_ARGUMENT`), or `UNKNOWN` for an error without one. */
export function grpcCodeName(e: unknown): string {
  const code = grpcCode(e);
  return code === undefined ? 'UNKNOWN' : (GrpcStatus[code] ?? `CODE_${code}`);
}

/** Whether a failure is unavailability (retried, and a reason to try another server). */
export function isUnavailable(e: unknown): boolean {
  const code = grpcCode(e);
  return code === undefined || UNAVAILABILITY.has(code);
}

/** The server's (or grpc-js's) text of an error: its gRPC details, else its message. */
export function errorText(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'details' in e && typeof e.details === 'string' && e.details !== '') return e.details;
  return e instanceof Error ? e.message : String(e);
}

/** Socket error codes and grpc-js phrases, in plain words. */
const PLAIN: readonly (readonly [RegExp, string])[] = [
  [/ECONNREFUSED/, 'connection refused'],
  [/Name resolution failed|ENOTFOUND|EAI_AGAIN|EAI_NONAME/, 'host name not found'],
  [/ECONNRESET|Connection dropped|socket hang up/i, 'connection lost'],
  [/ETIMEDOUT/, 'connection timed out'],
  [/EHOSTUNREACH/, 'host unreachable'],
  [/ENETUNREACH/, 'network unreachable'],
  [/Protocol error/, 'not a gRPC server'],
  [/Failed to connect/, 'connection closed before the gRPC handshake'],
];

/**
 * Why a server could not be reached, in a few plain words: "connection refused", "host name not
 * found", "no answer within 5 s", or, for a server's own UNAVAILABLE answer, its text ("server is
 * shutting down").
 */
export function unreachableReason(e: unknown): string {
  if (e instanceof ServerUnreachableError) return e.failures.map((f) => f.reason).join('; ');
  const text = errorText(e);
  if (grpcCode(e) === GrpcStatus.DEADLINE_EXCEEDED) {
    const seconds = /after ([\d.]+)s/.exec(text)?.[1];
    return seconds === undefined ? 'no answer in time' : `no answer within ${Number(Number(seconds).toFixed(1))} s`;
  }
  for (const [re, plain] of PLAIN) if (re.test(text)) return plain;
  // grpc-js's wrapper around the last connection error, else the text as it came.
  const last = /Last error: (?:Error: )?(.*?)(?: \([^)]*\))?\.? Resolution note:/.exec(text)?.[1];
  return last !== undefined && last !== '' ? last : text;
}

/** A server that could not be reached, and why. */
export interface Unreached {
  readonly server: string;
  readonly reason: string;
}

/**
 * No server answered a call: every one tried failed with unavailability. Keeps the gRPC code of the
 * last failure (so it classifies like the error it stands for) and reads plainly:
 * `cannot reach 127.0.0.1:7070 (connection refused)`, or with several servers
 * `cannot reach any server: a:1 (connection refused); b:2 (no answer within 5 s)`.
 */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
  readonly code: number;
  constructor(
    readonly failures: readonly Unreached[],
    override readonly cause?: unknown,
  ) {
    super(unreachableText(failures));
    this.code = grpcCode(cause) ?? GrpcStatus.UNAVAILABLE;
  }
}

/** `cannot reach a:1 (reason)`, or `cannot reach any server: a:1 (reason); b:2 (reason)`. */
export function unreachableText(failures: readonly Unreached[]): string {
  const each = failures.map((f) => `${f.server} (${f.reason})`);
  return each.length === 1 ? `cannot reach ${each[0] ?? ''}` : `cannot reach any server: ${each.join('; ')}`;
}
