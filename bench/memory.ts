/**
 * Server memory per registered instance: RSS (and V8 heapUsed) of a server holding N instances
 * spread across many services, minus the same server empty, divided by N. The server process runs
 * with --expose-gc and collects garbage before every sample. Every instance has three short
 * metadata entries and a server-derived id (bench/lib/workload.ts).
 *
 * Variants:
 *   - "3-min change queue": default settings; every registration is still in the 3-minute
 *     recently-changed queue (the real cost for the first 3 minutes after registering);
 *   - "+ every service read once": the same server after one GetService per service, which
 *     builds and caches each service's snapshot and encoded frames;
 *   - "change queue expired": deltaRetentionMs lowered to 5 s, sampled after it has passed.
 *
 *   npm run build                # once: generates src/gen
 *   npx tsx bench/memory.ts      # 3 runs of 100,000 instances, ~2 min
 *   npx tsx bench/memory.ts --quick
 *
 * Writes bench/results/memory.json.
 */
import { parseArgs } from 'node:util';
import { GetServiceRequest } from '../src/gen/herald/v1/registry_service.js';
import { openBenchClient, type BenchClient } from './lib/bench-client.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { intFlag } from './lib/flags.js';
import { printChecks, printHeader, printTable, writeResults, type TargetCheck } from './lib/report.js';
import type { MemorySample } from './lib/server-commands.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig } from './lib/quiet-server-config.js';
import { ServerProcess } from './lib/server-process.js';
import { medianOf } from './lib/stats.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import { registration, serviceName, spread } from './lib/workload.js';

const SHORT_RETENTION_MS = 5_000;
const GC_ROUNDS = 4;
const CONNECTIONS = 4;
const IN_FLIGHT = 64;

interface Settings {
  readonly runs: number;
  readonly instances: number;
  readonly services: number;
}

type Variant = '3-min change queue' | '+ every service read once' | 'change queue expired';

interface Measurement {
  readonly variant: Variant;
  readonly run: number;
  readonly instances: number;
  readonly empty: MemorySample;
  readonly loaded: MemorySample;
  readonly rssPerInstanceBytes: number;
  readonly heapUsedPerInstanceBytes: number;
  readonly externalPerInstanceBytes: number;
  /**
   * RSS growth per instance between half and all of the instances: the marginal cost, without the
   * one-off growth of a server that has just handled its first burst of traffic (NaN where not sampled).
   */
  readonly marginalRssPerInstanceBytes: number;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      instances: { type: 'string' },
      services: { type: 'string' },
    },
    strict: true,
  });
  return {
    runs: intFlag('runs', values.runs, values.quick ? 1 : 3),
    instances: intFlag('instances', values.instances, values.quick ? 20_000 : 100_000),
    services: intFlag('services', values.services, 100),
  };
}

function measurement(variant: Variant, run: number, instances: number, empty: MemorySample, loaded: MemorySample, half?: MemorySample): Measurement {
  return {
    marginalRssPerInstanceBytes: half === undefined ? Number.NaN : (loaded.rssBytes - half.rssBytes) / (instances - Math.floor(instances / 2)),
    variant,
    run,
    instances,
    empty,
    loaded,
    rssPerInstanceBytes: (loaded.rssBytes - empty.rssBytes) / instances,
    heapUsedPerInstanceBytes: (loaded.heapUsedBytes - empty.heapUsedBytes) / instances,
    externalPerInstanceBytes: (loaded.externalBytes - empty.externalBytes) / instances,
  };
}

/** Registers instances [from, to). */
async function registerRange(clients: readonly BenchClient[], settings: Settings, from: number, to: number): Promise<void> {
  const r = await runClosedLoop({
    inFlight: IN_FLIGHT,
    total: to - from,
    op: (i) => {
      const { service, index } = spread(from + i, settings.services);
      const client = clients[i % clients.length];
      if (client === undefined) throw new Error('no connection');
      return client.register(registration(service, index));
    },
  });
  if (r.errors > 0) throw new Error(`${r.errors} registrations failed, first: ${r.firstError ?? ''}`);
}

/**
 * Starts a server, samples it empty (after warming the connections), registers half of the
 * instances, samples, registers the rest, and hands over to `then`.
 */
async function withLoadedServer(
  settings: Settings,
  deltaRetentionMs: number | undefined,
  then: (server: ServerProcess, clients: readonly BenchClient[], empty: MemorySample, half: MemorySample) => Promise<Measurement[]>,
): Promise<Measurement[]> {
  const server = await ServerProcess.start({
    exposeGc: true,
    config: quietServerConfig(deltaRetentionMs === undefined ? {} : { registry: { deltaRetentionMs } }),
  });
  const clients = Array.from({ length: CONNECTIONS }, () => openBenchClient('light', server.address));
  try {
    // Open the connections and run the read path once, so the empty sample includes them.
    await Promise.all(clients.map((c) => c.getService(GetServiceRequest.fromPartial({ service: 'warm-up' }))));
    const empty = await server.memory(GC_ROUNDS);
    const halfway = Math.floor(settings.instances / 2);
    await registerRange(clients, settings, 0, halfway);
    const half = await server.memory(GC_ROUNDS);
    await registerRange(clients, settings, halfway, settings.instances);
    const stats = await server.stats();
    if (stats.instances !== settings.instances) throw new Error(`expected ${settings.instances} instances, server has ${stats.instances}`);
    return await then(server, clients, empty, half);
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

async function runOnce(settings: Settings, run: number): Promise<Measurement[]> {
  const withQueue = await withLoadedServer(settings, undefined, async (server, clients, empty, half) => {
    const loaded = await server.memory(GC_ROUNDS);
    const first = measurement('3-min change queue', run, settings.instances, empty, loaded, half);
    for (let s = 0; s < settings.services; s++) {
      const client = clients[s % clients.length];
      if (client === undefined) throw new Error('no connection');
      await client.getService(GetServiceRequest.fromPartial({ service: serviceName(s) }));
    }
    const read = await server.memory(GC_ROUNDS);
    return [first, measurement('+ every service read once', run, settings.instances, empty, read, half)];
  });
  const expired = await withLoadedServer(settings, SHORT_RETENTION_MS, async (server, clients, empty, half) => {
    await sleep(SHORT_RETENTION_MS + 500);
    // The queue drops aged-out changes when the next change arrives: one more registration.
    const client = clients[0];
    if (client === undefined) throw new Error('no connection');
    await client.register(registration(serviceName(0), settings.instances));
    const loaded = await server.memory(GC_ROUNDS);
    return [measurement('change queue expired', run, settings.instances + 1, empty, loaded, half)];
  });
  return [...withQueue, ...expired];
}

const MiB = 2 ** 20;

/** Reserved size of one V8 heap space in a sample (0 if absent). */
function spaceSize(m: MemorySample, name: string): number {
  return m.spaces.find((s) => s.name === name)?.sizeBytes ?? 0;
}

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(15 * 60_000);
  const machine = printHeader('herald server memory per registered instance', {
    runs: settings.runs,
    instances: settings.instances,
    services: settings.services,
    metadataEntries: 3,
    gcRoundsBeforeEachSample: GC_ROUNDS,
    shortRetentionMs: SHORT_RETENTION_MS,
    evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    server: 'node --expose-gc --import tsx (its own process)',
  });
  const all: Measurement[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    const ms = await runOnce(settings, run);
    all.push(...ms);
    for (const m of ms) {
      console.log(
        `run ${run}, ${m.variant}: ${m.rssPerInstanceBytes.toFixed(0)} B RSS / instance (marginal ${m.marginalRssPerInstanceBytes.toFixed(0)} B), ` +
          `${m.heapUsedPerInstanceBytes.toFixed(0)} B heap / instance, new space ${(spaceSize(m.empty, 'new_space') / MiB).toFixed(1)} → ${(spaceSize(m.loaded, 'new_space') / MiB).toFixed(1)} MiB ` +
          `(RSS ${(m.empty.rssBytes / MiB).toFixed(1)} → ${(m.loaded.rssBytes / MiB).toFixed(1)} MiB)`,
      );
    }
  }
  console.log('');
  printTable(
    'Every run (per instance = (loaded − empty) / instances; MiB for absolute values):',
    ['variant', 'run', 'RSS B/inst', 'marginal RSS B/inst', 'heapUsed B/inst', 'external B/inst', 'empty RSS MiB', 'loaded RSS MiB', 'empty heap MiB', 'loaded heap MiB', 'new space MiB'],
    all.map((m) => [
      m.variant,
      m.run,
      m.rssPerInstanceBytes,
      m.marginalRssPerInstanceBytes,
      m.heapUsedPerInstanceBytes,
      m.externalPerInstanceBytes,
      m.empty.rssBytes / MiB,
      m.loaded.rssBytes / MiB,
      m.empty.heapUsedBytes / MiB,
      m.loaded.heapUsedBytes / MiB,
      `${(spaceSize(m.empty, 'new_space') / MiB).toFixed(1)} → ${(spaceSize(m.loaded, 'new_space') / MiB).toFixed(1)}`,
    ]),
  );
  const variants: Variant[] = ['3-min change queue', '+ every service read once', 'change queue expired'];
  const summary = variants.map((variant) => {
    const ms = all.filter((m) => m.variant === variant);
    return {
      variant,
      runs: ms.length,
      rssPerInstanceBytes: medianOf(ms, (m) => m.rssPerInstanceBytes),
      marginalRssPerInstanceBytes: medianOf(ms, (m) => m.marginalRssPerInstanceBytes),
      heapUsedPerInstanceBytes: medianOf(ms, (m) => m.heapUsedPerInstanceBytes),
      externalPerInstanceBytes: medianOf(ms, (m) => m.externalPerInstanceBytes),
      emptyRssMiB: medianOf(ms, (m) => m.empty.rssBytes / MiB),
      loadedRssMiB: medianOf(ms, (m) => m.loaded.rssBytes / MiB),
    };
  });
  printTable(
    `Medians of ${settings.runs} run(s), ${settings.instances.toLocaleString('en-US')} instances over ${settings.services} services:`,
    ['variant', 'RSS B/instance', 'marginal RSS B/instance', 'heapUsed B/instance', 'external B/instance', 'empty RSS MiB', 'loaded RSS MiB'],
    summary.map((s) => [
      s.variant,
      s.rssPerInstanceBytes,
      s.marginalRssPerInstanceBytes,
      s.heapUsedPerInstanceBytes,
      s.externalPerInstanceBytes,
      s.emptyRssMiB,
      s.loadedRssMiB,
    ]),
  );
  const main = summary[0];
  const checks: TargetCheck[] =
    main === undefined ? [] : [{ metric: 'RSS per instance beyond an empty server (3-min change queue)', value: main.rssPerInstanceBytes, unit: 'B', bound: 1024, kind: 'max' }];
  printChecks(checks);
  const file = await writeResults('memory', { machine, settings, summary, checks, runs: all });
  console.log(`wrote ${file}`);
}

await main();
