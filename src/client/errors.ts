/** Errors the SDK raises itself (server errors arrive as grpc-js ServiceErrors with a code). */

function describe(cause: unknown): string {
  if (typeof cause === 'object' && cause !== null && 'details' in cause && typeof cause.details === 'string') return cause.details;
  if (cause instanceof Error) return cause.message;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

/** No server answered and neither the cache nor the disk copy holds the service. */
export class ServiceInfoUnavailableError extends Error {
  override readonly name = 'ServiceInfoUnavailableError';
  constructor(
    readonly key: string,
    override readonly cause?: unknown,
  ) {
    super(`no server answered for ${key} and no cached copy exists${cause === undefined ? '' : `: ${describe(cause)}`}`);
  }
}

/** The client was closed. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('the registry client is closed');
  }
}
