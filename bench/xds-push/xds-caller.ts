/**
 * xds-push's xDS client process: grpc-js with @grpc/grpc-js-xds registered, bootstrapped from the
 * file GRPC_XDS_BOOTSTRAP names (read once per process, hence a process of its own), dials
 * xds:///<service> and calls the echo method at a fixed rate: every 1 ms timer turn it makes the
 * calls due since the start (rate × elapsed, so a late timer catches up), unless `maxInFlight` are
 * in flight (those are counted as skipped). The echo servers, not this process, time the calls.
 */
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { serveCommands } from '../lib/command-loop.js';
import { ECHO_PATH, type XdsCallerCommands, type XdsCallerConfig, type XdsCallerStats } from './protocol.js';

const identity = (b: Buffer): Buffer => b;
const EMPTY = Buffer.alloc(0);

let client: Client | undefined;
let timer: NodeJS.Timeout | undefined;
let stats = { calls: 0, ok: 0, errors: 0, skipped: 0, firstError: undefined as string | undefined };

function start(config: XdsCallerConfig): undefined {
  registerXdsResolver();
  const c = new Client(config.target, credentials.createInsecure());
  client = c;
  const startedMs = performance.now();
  let due = 0;
  let inFlight = 0;
  const call = (): void => {
    inFlight++;
    stats.calls++;
    c.makeUnaryRequest(ECHO_PATH, identity, identity, EMPTY, { deadline: Date.now() + config.deadlineMs }, (err: ServiceError | null) => {
      inFlight--;
      if (err === null) {
        stats.ok++;
        return;
      }
      stats.errors++;
      stats.firstError ??= `${err.code}: ${err.details}`;
    });
  };
  timer = setInterval(() => {
    const now = Math.floor(((performance.now() - startedMs) * config.callsPerSecond) / 1000);
    for (; due < now; due++) {
      if (inFlight < config.maxInFlight) call();
      else stats.skipped++;
    }
  }, 1);
}

serveCommands<XdsCallerCommands>(
  {
    start,
    stats: (): XdsCallerStats => ({ ...stats }),
    reset: () => {
      stats = { calls: 0, ok: 0, errors: 0, skipped: 0, firstError: undefined };
    },
  },
  {
    beforeExit: () => {
      clearInterval(timer);
      client?.close();
    },
  },
);
