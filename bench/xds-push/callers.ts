/**
 * xds-push's callers: which ones run (--callers), and starting each in a process of its own, dialling
 * its target and calling the echo method at the configured rate: `xds` (grpc-js-xds, its bootstrap
 * naming herald, xds:///<service>) and `resolver` (registerHeraldResolver, herald:///<service>).
 */
import { ChildHandle } from '../lib/child-handle.js';
import { CALLERS, ECHO_PATHS, type CallerCommands, type CallerKind } from './protocol.js';

/** Parses --callers: a comma-separated subset of CALLERS, in CALLERS' order, duplicates dropped. */
export function parseCallers(value: string, name: string): CallerKind[] {
  const given = value.split(',').map((v) => v.trim());
  for (const v of given) {
    if (!CALLERS.some((c) => c === v)) throw new Error(`--${name}: "${v}" is not a caller (${CALLERS.join(', ')})`);
  }
  return CALLERS.filter((c) => given.includes(c));
}

export interface CallerSetup {
  readonly service: string;
  /** herald's gRPC address. */
  readonly address: string;
  /** An xDS bootstrap file naming herald (for `xds`). */
  readonly bootstrap: string;
  readonly callsPerSecond: number;
  readonly maxInFlight: number;
}

const SCRIPTS: { readonly [K in CallerKind]: { readonly name: string; readonly file: string; readonly scheme: string } } = {
  xds: { name: 'xds client', file: 'xds-caller.ts', scheme: 'xds' },
  resolver: { name: 'herald:/// client', file: 'resolver-caller.ts', scheme: 'herald' },
};

/** Spawns the caller and starts its calls; the handle is pushed to `children` as soon as it exists, so that it is ended with them. */
export async function startCaller(kind: CallerKind, setup: CallerSetup, children: { exit(): Promise<void> }[]): Promise<ChildHandle<CallerCommands>> {
  const { name, file, scheme } = SCRIPTS[kind];
  const env = kind === 'xds' ? { GRPC_XDS_BOOTSTRAP: setup.bootstrap } : undefined;
  const caller = await ChildHandle.spawn<CallerCommands>({ name, script: new URL(`./${file}`, import.meta.url), ...(env === undefined ? {} : { env }) });
  children.push(caller);
  await caller.request('start', {
    target: `${scheme}:///${setup.service}`,
    servers: [setup.address],
    method: ECHO_PATHS[kind],
    callsPerSecond: setup.callsPerSecond,
    maxInFlight: setup.maxInFlight,
    deadlineMs: 5_000,
  });
  return caller;
}
