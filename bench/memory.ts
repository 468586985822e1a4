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
 *   npx tsx bench/memory.ts --help
 */
import { GetServiceRequest } from '../src/gen/herald/v1/registry_service.js';
import { ClientPool } from './lib/bench-client.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { int, parseFlags } from './lib/flags.js';
import { printChecks, printHeader, printRows, writeResults, type TargetCheck } from './lib/report.js';
import { medians } from './lib/runs.js';
import type { MemorySample } from './lib/server-commands.js';
import { BACKGROUND_INTERVAL_MS, quietServerConfig, ServerProcess } from './lib/server-process.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import { registration, serviceName, spread } from './lib/workload.js';

const SHORT_RETENTION_MS = 5_000;
const GC_ROUNDS = 4;
const CONNECTIONS = 4;
const IN_FLIGHT = 64;

const { flags } = parseFlags(
  {
    script: 'bench/memory.ts',
    about: `Server memory per registered instance: RSS, heapUsed and external of a server (its own
process, --expose-gc, collected before every sample) holding --instances instances over --services
services, minus the same server empty, in three variants (3-minute change queue, every service read
once, change queue expired). Prints every run and the medians with the target, and writes
bench/results/memory.json.`,
    quick: 'one run of fewer instances',
  },
  {
    runs: int('runs (each variant on fresh servers)', 3, 1),
    instances: int('instances registered', 100_000, 20_000),
    services: int('services they spread over', 100),
  },
);

interface Settings {
  readonly runs: number;
  readonly instances: number;
  readonly services: number;
}

const settings: Settings = { runs: flags.runs, instances: flags.instances, services: flags.services };

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
async function registerRange(pool: ClientPool, from: number, to: number): Promise<void> {
  const r = await runClosedLoop({
    inFlight: IN_FLIGHT,
    total: to - from,
    op: (i) => {
      const { service, index } = spread(from + i, settings.services);
      return pool.on(i).register(registration(service, index));
    },
  });
  if (r.errors > 0) throw new Error(`${r.errors} registrations failed, first: ${r.firstError ?? ''}`);
}

/**
 * Starts a server, samples it empty (after warming the connections), registers half of the
 * instances, samples, registers the rest, and hands over to `then`.
 */
async function withLoadedServer(
  deltaRetentionMs: number | undefined,
  then: (server: ServerProcess, pool: ClientPool, empty: MemorySample, half: MemorySample) => Promise<Measurement[]>,
): Promise<Measurement[]> {
  const server = await ServerProcess.start({
    exposeGc: true,
    config: quietServerConfig(deltaRetentionMs === undefined ? {} : { registry: { deltaRetentionMs } }),
  });
  const pool = new ClientPool('light', server.address, CONNECTIONS);
  try {
    // Open the connections and run the read path once, so the empty sample includes them.
    await Promise.all(pool.clients.map((c) => c.getService(GetServiceRequest.fromPartial({ service: 'warm-up' }))));
    const empty = await server.memory(GC_ROUNDS);
    const halfway = Math.floor(settings.instances / 2);
    await registerRange(pool, 0, halfway);
    const half = await server.memory(GC_ROUNDS);
    await registerRange(pool, halfway, settings.instances);
    const stats = await server.stats();
    if (stats.instances !== settings.instances) throw new Error(`expected ${settings.instances} instances, server has ${stats.instances}`);
    return await then(server, pool, empty, half);
  } finally {
    pool.close();
    await server.stop();
  }
}

async function runOnce(run: number): Promise<Measurement[]> {
  const withQueue = await withLoadedServer(undefined, async (server, pool, empty, half) => {
    const loaded = await server.memory(GC_ROUNDS);
    const first = measurement('3-min change queue', run, settings.instances, empty, loaded, half);
    for (let s = 0; s < settings.services; s++) await pool.on(s).getService(GetServiceRequest.fromPartial({ service: serviceName(s) }));
    const read = await server.memory(GC_ROUNDS);
    return [first, measurement('+ every service read once', run, settings.instances, empty, read, half)];
  });
  const expired = await withLoadedServer(SHORT_RETENTION_MS, async (server, pool, empty, half) => {
    await sleep(SHORT_RETENTION_MS + 500);
    // The queue drops aged-out changes when the next change arrives: one more registration.
    await pool.on(0).register(registration(serviceName(0), settings.instances));
    const loaded = await server.memory(GC_ROUNDS);
    return [measurement('change queue expired', run, settings.instances + 1, empty, loaded, half)];
  });
  return [...withQueue, ...expired];
}

const MiB = 2 ** 20;

/** Reserved size of one V8 heap space in a sample (0 if absent), MiB. */
function spaceMiB(m: MemorySample, name: string): number {
  return (m.spaces.find((s) => s.name === name)?.sizeBytes ?? 0) / MiB;
}

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
  const ms = await runOnce(run);
  all.push(...ms);
  for (const m of ms) {
    console.log(
      `run ${run}, ${m.variant}: ${m.rssPerInstanceBytes.toFixed(0)} B RSS / instance (marginal ${m.marginalRssPerInstanceBytes.toFixed(0)} B), ` +
        `${m.heapUsedPerInstanceBytes.toFixed(0)} B heap / instance, new space ${spaceMiB(m.empty, 'new_space').toFixed(1)} → ${spaceMiB(m.loaded, 'new_space').toFixed(1)} MiB ` +
        `(RSS ${(m.empty.rssBytes / MiB).toFixed(1)} → ${(m.loaded.rssBytes / MiB).toFixed(1)} MiB)`,
    );
  }
}
console.log('');
printRows('Every run (per instance = (loaded − empty) / instances; MiB for absolute values):', all, [
  ['variant', (m) => m.variant],
  ['run', (m) => m.run],
  ['RSS B/inst', (m) => m.rssPerInstanceBytes],
  ['marginal RSS B/inst', (m) => m.marginalRssPerInstanceBytes],
  ['heapUsed B/inst', (m) => m.heapUsedPerInstanceBytes],
  ['external B/inst', (m) => m.externalPerInstanceBytes],
  ['empty RSS MiB', (m) => m.empty.rssBytes / MiB],
  ['loaded RSS MiB', (m) => m.loaded.rssBytes / MiB],
  ['empty heap MiB', (m) => m.empty.heapUsedBytes / MiB],
  ['loaded heap MiB', (m) => m.loaded.heapUsedBytes / MiB],
  ['new space MiB', (m) => `${spaceMiB(m.empty, 'new_space').toFixed(1)} → ${spaceMiB(m.loaded, 'new_space').toFixed(1)}`],
]);
const variants: Variant[] = ['3-min change queue', '+ every service read once', 'change queue expired'];
const summary = variants.map((variant) => {
  const ms = all.filter((m) => m.variant === variant);
  return {
    variant,
    runs: ms.length,
    ...medians(ms, {
      rssPerInstanceBytes: (m) => m.rssPerInstanceBytes,
      marginalRssPerInstanceBytes: (m) => m.marginalRssPerInstanceBytes,
      heapUsedPerInstanceBytes: (m) => m.heapUsedPerInstanceBytes,
      externalPerInstanceBytes: (m) => m.externalPerInstanceBytes,
      emptyRssMiB: (m) => m.empty.rssBytes / MiB,
      loadedRssMiB: (m) => m.loaded.rssBytes / MiB,
    }),
  };
});
printRows(`Medians of ${settings.runs} run(s), ${settings.instances.toLocaleString('en-US')} instances over ${settings.services} services:`, summary, [
  ['variant', (s) => s.variant],
  ['RSS B/instance', (s) => s.rssPerInstanceBytes],
  ['marginal RSS B/instance', (s) => s.marginalRssPerInstanceBytes],
  ['heapUsed B/instance', (s) => s.heapUsedPerInstanceBytes],
  ['external B/instance', (s) => s.externalPerInstanceBytes],
  ['empty RSS MiB', (s) => s.emptyRssMiB],
  ['loaded RSS MiB', (s) => s.loadedRssMiB],
]);
const withQueue = summary[0];
const checks: TargetCheck[] =
  withQueue === undefined ? [] : [{ metric: 'RSS per instance beyond an empty server (3-min change queue)', value: withQueue.rssPerInstanceBytes, unit: 'B', bound: 1024, kind: 'max' }];
printChecks(checks);
console.log(`wrote ${await writeResults('memory', { machine, settings, summary, checks, runs: all })}`);
