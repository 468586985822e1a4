/**
 * Node's DEP0123 ("Setting the TLS ServerName to an IP address is not permitted by RFC 6066"),
 * silenced in the `herald` process. grpc-js sets the TLS server name to the target's host even
 * when it is an IP address (grpc/grpc-node#1919), so every command that talks TLS to
 * `10.0.0.5:7070`, and every node whose peers are IP addresses, printed it on stderr: two
 * lines of noise before a command's one-line error, and non-JSON lines in `herald serve`'s JSON
 * log. Nothing is weakened: the server's certificate is still verified against the IP address
 * (its IP subjectAltName). Every other warning is printed as before.
 */
const IP_SERVERNAME = 'DEP0123';

/** The code of a warning, from either form of process.emitWarning's arguments. */
function codeOf(typeOrOptions: unknown, code: unknown): unknown {
  return typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as { code?: unknown }).code : code;
}

/** Drops DEP0123 from this process's warnings (the CLI owns its process; the SDK never does this). */
export function silenceIpServernameWarning(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = (...args: unknown[]) => {
    if (codeOf(args[1], args[2]) === IP_SERVERNAME) return;
    emitWarning(...args);
  };
}
