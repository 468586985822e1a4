/**
 * The load-balancing scenario every discovery client of issue #17 passes (the xDS clients in Node
 * and Python, the SDK's `herald:///` resolver): three echo servers registered in herald over gRPC
 * with weights 1, 2 and 3 receive calls in proportion to their weights; a cancelled one stops
 * receiving calls; a newly registered one starts; one set OUT_OF_SERVICE is drained, and receives
 * calls again once its override is deleted. Every step waits on what the client's calls show,
 * bounded by the wait limit, never on a clock.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type Client, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import { CancelRequest, DeleteStatusOverrideRequest, RegisterRequest, SetStatusRequest } from '../../src/gen/herald/v1/registry_service.js';
import { onCleanup, within } from './server.js';

/** The echo method: any bytes in, the server's name out. */
export const ECHO_PATH = '/herald.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;
export const ECHO: ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** An echo server on 127.0.0.1:0 answering `name`; stopped after the test. */
export async function echoServer(name: string): Promise<{ name: string; port: number; stop: () => void }> {
  const server = new Server();
  server.addService(ECHO, {
    Echo: (_call: unknown, callback: (err: null, reply: Buffer) => void) => {
      callback(null, Buffer.from(name));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => {
      if (err === null) resolve(p);
      else reject(err);
    });
  });
  const stop = (): void => {
    server.forceShutdown();
  };
  onCleanup(stop);
  return { name, port, stop };
}

/**
 * Makes `n` calls through the client under test and gives each reply: the name of the echo server
 * that answered, or a string starting with `error` for a failed call.
 */
export type CallBatch = (n: number) => Promise<string[]>;

/** What the scenario measured, for the test's log (never asserted on: timings are noisy). */
export interface FleetReport {
  /** Share of the calls each server got, by name, out of `proportionCalls`. */
  readonly shares: Record<string, number>;
  readonly proportionCalls: number;
  /** From a write's acknowledgement to the first batch of calls showing it, in ms. */
  readonly followMs: { cancel: number; register: number; outOfService: number; backInService: number };
}

export const WEIGHTS = { a: 1, b: 2, c: 3 } as const;
/** Calls counted for the proportion check. */
export const PROPORTION_CALLS = 2_000;
/**
 * Allowed distance of each share from weight / total. With 2,000 calls a binomial share's standard
 * deviation is at most 0.0112 (at p = 0.5), so 0.05 is about 4.5 of them: a wrong policy (equal
 * shares, 1/3 each, miss by 0.17) fails, and chance alone fails about once in 10^5 runs.
 */
export const SHARE_TOLERANCE = 0.05;
/** Consecutive calls that must all miss a server before it counts as drained. */
const DRAINED_AFTER = 60;

export interface FleetOptions {
  /** herald's gRPC API, used for every write (as an application registering itself would). */
  readonly transport: RegistryTransport;
  readonly namespace?: string;
  readonly group?: string;
  readonly service: string;
  readonly calls: CallBatch;
  readonly limitMs?: number;
}

/** Runs the scenario; throws, naming the step and the last replies, when a step does not happen. */
export async function weightedFleetScenario(o: FleetOptions): Promise<FleetReport> {
  const ref = { namespace: o.namespace ?? '', group: o.group ?? '', service: o.service };
  const servers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => echoServer(n)));
  const port = (name: string): number => servers.find((s) => s.name === name)?.port ?? 0;
  const register = (name: string, weight: number) =>
    o.transport.register(RegisterRequest.fromPartial({ ...ref, instance: { instanceId: name, ip: '127.0.0.1', port: port(name), weight } }));

  let last: string[] = [];
  /** Calls in batches until `check` holds for a batch; resolves with the ms it took. */
  const until = async (what: string, check: (replies: readonly string[]) => boolean, batch = DRAINED_AFTER): Promise<number> => {
    const started = performance.now();
    const loop = async (): Promise<void> => {
      for (;;) {
        last = await o.calls(batch);
        if (check(last)) return;
      }
    };
    await within(loop(), what, () => `last replies: ${summary(last)}`, o.limitMs);
    return performance.now() - started;
  };
  const ok = (r: readonly string[]) => r.every((x) => !x.startsWith('error'));

  for (const [name, weight] of Object.entries(WEIGHTS)) await register(name, weight);
  await until('calls reaching a, b and c', (r) => ok(r) && ['a', 'b', 'c'].every((n) => r.includes(n)));

  const replies = await o.calls(PROPORTION_CALLS);
  const shares: Record<string, number> = {};
  for (const r of replies) shares[r] = (shares[r] ?? 0) + 1 / replies.length;
  const total = WEIGHTS.a + WEIGHTS.b + WEIGHTS.c;
  for (const [name, weight] of Object.entries(WEIGHTS)) {
    const share = shares[name] ?? 0;
    if (Math.abs(share - weight / total) > SHARE_TOLERANCE) {
      throw new Error(
        `server ${name} (weight ${weight} of ${total}) got ${(share * 100).toFixed(1)} % of ${PROPORTION_CALLS} calls; expected ${((weight / total) * 100).toFixed(1)} % ± ${SHARE_TOLERANCE * 100} points (all: ${summary(replies)})`,
      );
    }
  }

  await o.transport.cancel(CancelRequest.fromPartial({ ...ref, instanceId: 'b' }));
  const cancel = await until('calls no longer reaching the cancelled b', (r) => ok(r) && !r.includes('b'));

  await register('d', 1);
  const registerMs = await until('calls reaching the newly registered d', (r) => ok(r) && r.includes('d'));

  await o.transport.setStatus(SetStatusRequest.fromPartial({ ...ref, instanceId: 'c', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }));
  const outOfService = await until('calls no longer reaching c, set OUT_OF_SERVICE', (r) => ok(r) && !r.includes('c'));

  await o.transport.deleteStatusOverride(DeleteStatusOverrideRequest.fromPartial({ ...ref, instanceId: 'c' }));
  const backInService = await until('calls reaching c again once its override is deleted', (r) => ok(r) && r.includes('c'));

  return { shares, proportionCalls: PROPORTION_CALLS, followMs: { cancel, register: registerMs, outOfService, backInService } };
}

/** Counts of each reply, for messages. */
function summary(replies: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of replies) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${r} ×${n}`).join(', ') || '(none)';
}

/** `n` echo calls through a grpc-js client, at most 20 in flight. */
export function grpcJsCalls(client: Client): CallBatch {
  const call = (): Promise<string> =>
    new Promise((resolve) => {
      client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (err: ServiceError | null, reply?: Buffer) => {
        resolve(err === null && reply !== undefined ? reply.toString() : `error ${err?.code ?? ''}: ${err?.details ?? 'no reply'}`);
      });
    });
  return async (n) => {
    const replies: string[] = [];
    for (let i = 0; i < n; i += 20) replies.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, call))));
    return replies;
  };
}

/**
 * The xDS bootstrap README's xDS section shows (its `echo '…' > xds-bootstrap.json` line), as a user
 * copies it, with herald's port and, when given, node metadata: what the xDS client tests use.
 */
export function readmeXdsBootstrap(port: number, nodeMetadata?: Record<string, string>): string {
  const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md'), 'utf8');
  const line = /^echo '(\{"xds_servers".*\})' > xds-bootstrap\.json$/m.exec(readme);
  if (line?.[1] === undefined) throw new Error("README's xDS section has no bootstrap line");
  const bootstrap = JSON.parse(line[1].replace('127.0.0.1:7070', `127.0.0.1:${port}`)) as { node: Record<string, unknown> };
  if (nodeMetadata !== undefined) bootstrap.node.metadata = nodeMetadata;
  return JSON.stringify(bootstrap);
}
