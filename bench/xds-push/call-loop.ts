/**
 * xds-push's calling loop, shared by its caller processes (xds-caller.ts, resolver-caller.ts): the
 * process opens its channel as `open` says, then calls the echo method at a fixed rate: every 1 ms
 * timer turn it makes the calls due since the start (rate × elapsed, so a late timer catches up),
 * unless `maxInFlight` are in flight (those are counted as skipped). The echo servers, not this
 * process, time the calls.
 */
import type { Client, ServiceError } from '@grpc/grpc-js';
import { serveCommands } from '../lib/command-loop.js';
import type { CallerCommands, CallerConfig, CallerStats } from './protocol.js';

const identity = (b: Buffer): Buffer => b;
const EMPTY = Buffer.alloc(0);

/** Serves the caller commands over the parent's channel; `open` registers the resolver it needs and returns the channel to config.target. */
export function serveCaller(open: (config: CallerConfig) => Client): void {
  let client: Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stats = { calls: 0, ok: 0, errors: 0, skipped: 0, firstError: undefined as string | undefined };

  const start = (config: CallerConfig): undefined => {
    const c = open(config);
    client = c;
    const startedMs = performance.now();
    let due = 0;
    let inFlight = 0;
    const call = (): void => {
      inFlight++;
      stats.calls++;
      c.makeUnaryRequest(config.method, identity, identity, EMPTY, { deadline: Date.now() + config.deadlineMs }, (err: ServiceError | null) => {
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
  };

  serveCommands<CallerCommands>(
    {
      start,
      stats: (): CallerStats => ({ ...stats }),
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
}
