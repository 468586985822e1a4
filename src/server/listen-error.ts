/**
 * A port the server cannot listen on, said in one line a person can act on ("cannot listen on
 * 0.0.0.0:7070 (gRPC): the address is already in use; pick another with --port") instead of the
 * listener's raw text; `herald serve` prints it alone, without a stack.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

/** Why a listen failed, in plain words, from the socket error code in `text`. */
function plainReason(text: string, flag: string): string {
  if (/EADDRINUSE/.test(text)) return `the address is already in use (another process listens there); pick another with ${flag}`;
  if (/EACCES/.test(text)) return `permission denied (ports below 1024 need privileges); pick another with ${flag}`;
  if (/EADDRNOTAVAIL/.test(text)) return 'this machine has no such address; check --host';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'the host name does not resolve; check --host';
  return text;
}

/** The ListenError for a failed listen on `address` (`what`: gRPC or HTTP; `flag`: the flag that sets its port). */
export function listenError(address: string, what: string, flag: string, cause: unknown): ListenError {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new ListenError(`cannot listen on ${address} (${what}): ${plainReason(text, flag)}`, { cause });
}
