/** Options shared by the client commands, and the transport they build from them. */
import { Option } from 'commander';
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

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
