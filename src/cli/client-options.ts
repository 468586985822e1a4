/** Options shared by the client commands, and the transport they build from them. */
import { Option } from 'commander';
import { defer } from 'rxjs';
import { RegistryTransport } from '../client/registry-transport.js';
import type { RegistrationCalls } from '../client/registration.js';
import { address } from './parse.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

export function serverOption(): Option {
  return new Option('--server <host:port>', 'herald server to talk to').env('HERALD_SERVER').default(DEFAULT_SERVER).argParser(address);
}

export function namespaceOption(): Option {
  return new Option('--namespace <namespace>', 'namespace (default: public)').env('HERALD_NAMESPACE');
}

export function groupOption(): Option {
  return new Option('--group <group>', 'group (default: DEFAULT_GROUP)');
}

/** Registration calls over a transport. */
export function registrationCalls(t: RegistryTransport): RegistrationCalls {
  return {
    register: (req) => defer(() => t.register(req)),
    renew: (req) => defer(() => t.renew(req)),
    cancel: (req) => defer(() => t.cancel(req)),
  };
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
