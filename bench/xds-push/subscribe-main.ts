/**
 * xds-push's watching process: an ordinary decoding Subscribe client (RegistryTransport.subscribe,
 * snapshots decoded by ts-proto, on its own connection) following the service, recording when each
 * instance first appears in a received ServiceInfo and when it first leaves one; and, on a
 * connection of its own, a bare ADS stream following the service's EDS resource (ads-watch.ts).
 */
import type { Subscription } from 'rxjs';
import { separateTransport } from '../lib/bench-client.js';
import { serveCommands } from '../lib/command-loop.js';
import { wallNowMs } from '../lib/wall-clock.js';
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { AdsWatch } from './ads-watch.js';
import { EventTimes } from './events.js';
import type { SubscribeCommands } from './protocol.js';

let transport: RegistryTransport | undefined;
let subscription: Subscription | undefined;
let ads: AdsWatch | undefined;
const appeared = new EventTimes();
const left = new EventTimes();
let held = new Set<string>();
const stats = { received: 0, errors: 0, firstError: undefined as string | undefined };

serveCommands<SubscribeCommands>(
  {
    start: ({ address, service }) => {
      ads = new AdsWatch(address, service);
      transport = separateTransport(address);
      subscription = transport.subscribe(SubscribeRequest.fromPartial({ service, healthyOnly: true })).subscribe({
        next: (info) => {
          const at = wallNowMs();
          stats.received++;
          const now = new Set(info.hosts.map((h) => h.instanceId));
          for (const id of now) appeared.mark(id, at);
          for (const id of held) if (!now.has(id)) left.mark(id, at);
          held = now;
        },
        error: (e: unknown) => {
          stats.errors++;
          stats.firstError ??= e instanceof Error ? e.message : String(e);
        },
      });
    },
    present: async ({ id, timeoutMs }) => ({ atMs: await appeared.when(id, timeoutMs) }),
    absent: async ({ id, timeoutMs }) => ({ atMs: await left.when(id, timeoutMs) }),
    edsPresent: async ({ port, timeoutMs }) => ({ atMs: await (ads?.appeared.when(String(port), timeoutMs) ?? Number.NaN) }),
    edsAbsent: async ({ port, timeoutMs }) => ({ atMs: await (ads?.left.when(String(port), timeoutMs) ?? Number.NaN) }),
    stats: () => ({ ...stats, adsResponses: ads?.received ?? 0, adsErrors: ads?.errors ?? 0 }),
  },
  {
    beforeExit: () => {
      subscription?.unsubscribe();
      ads?.close();
      transport?.close();
    },
  },
);
