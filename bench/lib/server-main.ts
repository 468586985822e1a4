/**
 * The benchmark's server process: one HeraldServer on 127.0.0.1 port 0 with a silent logger,
 * driven over IPC (start, memory, stats, usage, exit). Started by server-process.ts, never by hand.
 */
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import { silentLogger } from '../../src/common/logger.js';
import { HeraldServer } from '../../src/server/herald-server.js';
import { serveCommands } from './command-loop.js';
import type { MemorySample, ServerCommands } from './server-commands.js';

let server: HeraldServer | undefined;

function running(): HeraldServer {
  if (server === undefined) throw new Error('server not started');
  return server;
}

async function memory(gcRounds: number): Promise<MemorySample> {
  if (gcRounds > 0) {
    const gc = globalThis.gc;
    if (gc === undefined) throw new Error('memory sampling with gc needs node --expose-gc');
    // Several full collections with turns in between, so finalizers and weak maps settle.
    for (let i = 0; i < gcRounds; i++) {
      gc();
      await delay(20);
    }
  }
  const m = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeBytes: s.space_size, usedBytes: s.space_used_size }));
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers, spaces };
}

serveCommands<ServerCommands>(
  {
    start: async (config) => {
      if (server !== undefined) throw new Error('server already started');
      // Every listener on 127.0.0.1 with a free port (the Nacos HTTP API defaults to 8848).
      server = await HeraldServer.start({ logger: silentLogger, config: { ...config, host: '127.0.0.1', port: 0, httpPort: 0 } });
      return { port: server.port };
    },
    memory: ({ gcRounds }) => memory(gcRounds),
    stats: () => {
      const s = running();
      const hub = s.stats();
      const reg = s.registry.stats();
      return { instances: reg.instances, services: reg.services, subscribers: hub.subscribers, streams: hub.streams, delivered: s.hub.delivered };
    },
  },
  {
    beforeExit: async () => {
      await server?.close();
    },
  },
);
