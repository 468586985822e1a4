/** Options shared by the client commands, and the transport they build from them. */
import { Option } from 'commander';
import { status as GrpcStatus } from '@grpc/grpc-js';
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

/** A short reason for a failed call (gRPC details, else the message). */
export function reason(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'details' in e && typeof e.details === 'string' && e.details !== '') return e.details;
  return e instanceof Error ? e.message : String(e);
}

/** A server that could not be reached (as opposed to one that answered with an error). */
function unreachable(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

/**
 * Runs a read against each server in turn until one is reached; an error answered by a reached
 * server is final. Throws an Error naming every server and why when none could be reached.
 */
export async function firstAnswer<T>(servers: readonly string[], read: (server: string) => Promise<T>): Promise<{ server: string; value: T }> {
  const failures: string[] = [];
  for (const server of servers) {
    try {
      return { server, value: await read(server) };
    } catch (e) {
      if (!unreachable(e)) throw Object.assign(new Error(`${server}: ${reason(e)}`), { cause: e });
      failures.push(`${server}: ${reason(e)}`);
    }
  }
  throw new Error(failures.length === 0 ? 'no server given' : failures.join('; '));
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
