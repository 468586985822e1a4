/** Options shared by the client commands, and the transport they build from them. */
import { Option } from 'commander';
import { errorText, isUnavailable, ServerUnreachableError, unreachableReason, type Unreached } from '../client/call-errors.js';
import { addresses } from './parse.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

/** `--server`: one address, or several (comma-separated) tried in turn. */
export function serverOption(): Option {
  return new Option('--server <host:port,...>', 'herald server(s) to talk to, tried in turn')
    .env('HERALD_SERVER')
    .default([DEFAULT_SERVER], DEFAULT_SERVER)
    .argParser(addresses);
}

export function namespaceOption(): Option {
  return new Option('--namespace <namespace>', 'namespace (default: public)').env('HERALD_NAMESPACE');
}

export function groupOption(): Option {
  return new Option('--group <group>', 'group (default: DEFAULT_GROUP)');
}

/** A short reason for a failed call: the server's message, or plainly why it was not reached. */
export function reason(e: unknown): string {
  return e instanceof ServerUnreachableError ? e.message : errorText(e);
}

/**
 * Runs a read against each server in turn until one is reached; an error answered by a reached
 * server is final (`<server>: <its message>`). When none could be reached, throws a
 * ServerUnreachableError: `cannot reach 127.0.0.1:7070 (connection refused)`.
 */
export async function firstAnswer<T>(servers: readonly string[], read: (server: string) => Promise<T>): Promise<{ server: string; value: T }> {
  const failures: Unreached[] = [];
  let last: unknown;
  for (const server of servers) {
    try {
      return { server, value: await read(server) };
    } catch (e) {
      if (!isUnavailable(e)) throw Object.assign(new Error(`${server}: ${reason(e)}`), { cause: e });
      failures.push({ server, reason: unreachableReason(e) });
      last = e;
    }
  }
  if (failures.length === 0) throw new Error('no server given');
  throw new ServerUnreachableError(failures, last);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
