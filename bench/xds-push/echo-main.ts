/**
 * xds-push's echo process: one grpc-js server per name on 127.0.0.1:0, each answering the echo
 * method with its name, and recording when calls reach it (the handler's first line: what "a call
 * reaches the instance" means in the benchmark).
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { serveCommands } from '../lib/command-loop.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import { EventTimes } from './events.js';
import { ECHO_PATH, type EchoCommands, type EchoServerInfo } from './protocol.js';

const identity = (b: Buffer): Buffer => b;
const ECHO: ServiceDefinition = {
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

const servers: Server[] = [];
const first = new EventTimes();
/** Arrival time of every call, by server (a few hundred for a round's server; a run's base servers get tens of thousands). */
const arrivals = new Map<string, number[]>();

async function startEcho(name: string): Promise<EchoServerInfo> {
  const server = new Server();
  const reply = Buffer.from(name);
  const times: number[] = [];
  arrivals.set(name, times);
  server.addService(ECHO, {
    Echo: (_call: unknown, callback: (err: null, reply: Buffer) => void) => {
      const at = wallNowMs();
      first.mark(name, at);
      times.push(at);
      callback(null, reply);
    },
  });
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
    start: async ({ names }) => Promise.all(names.map(startEcho)),
    firstCall: async ({ name, timeoutMs }) => ({ atMs: await first.when(name, timeoutMs) }),
    lastCall: async ({ name, sinceMs, quietMs, timeoutMs }) => {
      const times = arrivals.get(name) ?? [];
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
    counts: () => Object.fromEntries([...arrivals].map(([name, times]) => [name, times.length])),
  },
  {
    beforeExit: () => {
      for (const s of servers) s.forceShutdown();
    },
  },
);
