/**
 * xds-push's echo process: one grpc-js server per name on 127.0.0.1:0, each answering the echo
 * method with its name, and recording when calls reach it, per caller (each caller calls a path of
 * its own; the handler's first line is what "a call reaches the instance" means in the benchmark).
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { serveCommands } from '../lib/command-loop.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import { EventTimes } from './events.js';
import { CALLERS, ECHO_PATHS, type CallerKind, type EchoCommands, type EchoServerInfo } from './protocol.js';

const identity = (b: Buffer): Buffer => b;
const ECHO: ServiceDefinition = Object.fromEntries(
  CALLERS.map((caller) => [
    caller,
    {
      path: ECHO_PATHS[caller],
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  ]),
);

const servers: Server[] = [];
const startedNames: string[] = [];
/** Keyed by `key(caller, name)`. */
const first = new EventTimes();
/** Arrival time of every call, by caller and server (a few hundred for a round's server; a run's base servers get tens of thousands). */
const arrivals = new Map<string, number[]>();
const key = (caller: CallerKind, name: string): string => `${caller} ${name}`;

async function startEcho(name: string): Promise<EchoServerInfo> {
  const server = new Server();
  const reply = Buffer.from(name);
  const handler = (caller: CallerKind) => {
    const k = key(caller, name);
    const times: number[] = [];
    arrivals.set(k, times);
    return (_call: unknown, callback: (err: null, reply: Buffer) => void): void => {
      const at = wallNowMs();
      first.mark(k, at);
      times.push(at);
      callback(null, reply);
    };
  };
  server.addService(ECHO, Object.fromEntries(CALLERS.map((caller) => [caller, handler(caller)])));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => {
      if (err === null) resolve(p);
      else reject(err);
    });
  });
  servers.push(server);
  return { name, port };
}

serveCommands<EchoCommands>(
  {
    start: async ({ names }) => {
      startedNames.push(...names);
      return Promise.all(names.map(startEcho));
    },
    firstCall: async ({ caller, name, timeoutMs }) => ({ atMs: await first.when(key(caller, name), timeoutMs) }),
    lastCall: async ({ caller, name, sinceMs, quietMs, timeoutMs }) => {
      const times = arrivals.get(key(caller, name)) ?? [];
      const lastAt = (): number => times.at(-1) ?? Number.NEGATIVE_INFINITY;
      const started = wallNowMs();
      while (wallNowMs() - lastAt() < quietMs) {
        if (wallNowMs() - started > timeoutMs) return { atMs: Number.NaN, callsSince: times.filter((t) => t > sinceMs).length };
        await sleep(10);
      }
      const callsSince = times.filter((t) => t > sinceMs).length;
      // No call after the cancel: the calls had stopped by then (0 ms).
      return { atMs: callsSince > 0 ? lastAt() : sinceMs, callsSince };
    },
    counts: ({ caller }) => Object.fromEntries(startedNames.map((name) => [name, arrivals.get(key(caller, name))?.length ?? 0])),
  },
  {
    beforeExit: () => {
      for (const s of servers) s.forceShutdown();
    },
  },
);
