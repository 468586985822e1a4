/**
 * Server memory per registered instance: RSS, V8 heapUsed, external and arrayBuffers of the real
 * `herald serve` (bin/herald.js over dist/, its own defaults; lib/serve-probe.mjs preloaded to
 * answer memory questions) holding N instances spread across many services, minus the same server
 * empty, divided by N. Instances register through ordinary clients (the project's RegistryTransport
 * by default), each with three short metadata entries and a server-derived id (bench/lib/workload.ts).
 *
 * Sampling (--gc):
 *   - none (default): nothing is forced. After each phase the benchmark waits for the heap to
 *     settle: until V8's memory reducer has run (on a heap that has gone idle, V8 starts a few
 *     memory-reducing full collections of its own, which also compact it; about a minute after the
 *     load on this machine), no full collection has run for SETTLE_SAMPLES samples, and heapUsed
 *     and RSS have stayed within 1 % over them (samples every SETTLE_INTERVAL_MS; at most
 *     --settle-max-s, else the run says NOT SETTLED). The samples are cheap (no /proc/self/smaps
 *     read, which allocates megabytes and would keep V8 from seeing an idle heap). The first sample
 *     after the load ("at load end") is reported too: what the server holds before V8 has collected.
 *   - forced: the server runs with --expose-gc and collects 4 times before every sample: live
 *     objects only, a server-side detail (diagnosis), not what a server shows.
 *
 * Variants:
 *   - "3-min change queue": default settings; every registration is still in the 3-minute
 *     recently-changed queue (the real cost for the first 3 minutes after registering);
 *   - "+ every service read once": the same server after one GetService per service, which
 *     builds and caches each service's snapshot and encoded frames;
 *   - "change queue expired": --delta-retention-ms 5000, sampled after it has passed.
 *
 *   npm run build                          # once: the server runs dist/
 *   npx tsx bench/memory.ts --help
 *   npx tsx bench/memory.ts --heap-snapshots --runs 1
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { GetServiceRequest } from '../src/gen/herald/v1/registry_service.js';
import { tallies } from './heap-summary.js';
import { CLIENT_KINDS, ClientPool } from './lib/bench-client.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { bool, choice, int, parseFlags, text } from './lib/flags.js';
import { HeraldServeProcess, type ServeMemorySample } from './lib/herald-serve-process.js';
import { machineBusyPercent, sampleMachineCpu, waitForQuiet } from './lib/machine-load.js';
import { sampleUsage, usageDelta, type ProcessUsage } from './lib/process-usage.js';
import { printChecks, printHeader, printRows, printTable, writeResults, type TargetCheck } from './lib/report.js';
import { medians } from './lib/runs.js';
import { settleHerald, SETTLE_INTERVAL_MS, SETTLE_SAMPLES, SETTLE_TOLERANCE, type HeraldSettled } from './lib/memory-settle.js';
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
    about: `Server memory per registered instance: RSS, heapUsed, external and arrayBuffers of the real
herald serve (run \`npm run build\` first) holding --instances instances over --services services,
minus the same server empty, in three variants (3-minute change queue, every service read once,
change queue expired). With --gc none (the default) nothing is forced: each sample waits until V8
has collected by itself (its memory reducer) and the heap is steady (at most --settle-max-s); --gc forced collects 4 times
before each sample (node --expose-gc; live objects only, a diagnosis). Prints every run and the
medians with the target, and writes bench/results/memory[-<label>].json.`,
    quick: 'one run of fewer instances',
  },
  {
    runs: int('runs (each variant on fresh servers)', 3, 1),
    instances: int('instances registered', 100_000, 20_000),
    services: int('services they spread over', 100),
    gc: choice('none: sample as the server is, after it has collected by itself; forced: after 4 full collections (diagnosis)', ['none', 'forced'], 'none'),
    client: choice('client the instances register with (transport: RegistryTransport over grpc-js, as applications)', CLIENT_KINDS, 'transport'),
    settleMaxS: int('longest wait for the heap to settle after a phase, s (--gc none)', 180),
    heapSnapshots: bool('after the runs, heap snapshots of an empty and a loaded server (bench/results/heap/) and what the loaded one holds per instance'),
    bin: text('<path>', "the bin/herald.js to run (another build's, e.g. an older commit's, to compare in one sitting)", '(this repository)', (v) =>
      v === '(this repository)' ? undefined : v,
    ),
    nodeArgs: text('<flags>', 'extra Node flags of the server, space-separated (diagnosis, e.g. "--max-semi-space-size=1")', '', (v) => v.split(/\s+/).filter((a) => a !== '')),
    variants: text('<list>', 'variants to run: queue (3-min change queue), read (+ every service read once; needs queue), expired', 'queue,read,expired', (v, name) => {
      const list = v.split(',').map((x) => x.trim());
      for (const x of list) if (x !== 'queue' && x !== 'read' && x !== 'expired') throw new Error(`--${name}: unknown variant ${x}`);
      if (list.includes('read') && !list.includes('queue')) throw new Error(`--${name}: read needs queue`);
      return new Set(list);
    }),
    label: text('<name>', 'results go to bench/results/memory-<name>.json', '', (v) => v),
  },
);

interface Settings {
  readonly runs: number;
  readonly instances: number;
  readonly services: number;
  readonly gc: 'none' | 'forced';
  readonly client: (typeof CLIENT_KINDS)[number];
  readonly settleMaxMs: number;
  readonly bin: string | undefined;
  readonly nodeArgs: readonly string[];
}

const settings: Settings = {
  runs: flags.runs,
  instances: flags.instances,
  services: flags.services,
  gc: flags.gc,
  client: flags.client,
  settleMaxMs: flags.settleMaxS * 1000,
  bin: flags.bin,
  nodeArgs: flags.nodeArgs,
};

type Variant = '3-min change queue' | '+ every service read once' | 'change queue expired';

type Settled = HeraldSettled;

interface Measurement {
  readonly variant: Variant;
  readonly run: number;
  readonly instances: number;
  readonly empty: Settled;
  readonly loaded: Settled;
  /** The first sample after the load, before any wait (undefined with --gc forced). */
  readonly atLoadEnd: ServeMemorySample | undefined;
  readonly rssPerInstanceBytes: number;
  readonly heapUsedPerInstanceBytes: number;
  readonly externalPerInstanceBytes: number;
  readonly arrayBuffersPerInstanceBytes: number;
  /** RSS per instance in the first sample after the load (NaN with --gc forced). */
  readonly rssAtLoadEndPerInstanceBytes: number;
  readonly heapUsedAtLoadEndPerInstanceBytes: number;
  /**
   * RSS growth per instance between half and all of the instances: the marginal cost, without the
   * one-off growth of a server that has just handled its first burst of traffic (NaN where not sampled).
   */
  readonly marginalRssPerInstanceBytes: number;
  /**
   * CPU of processes other than the server and this one (its clients) while the instances
   * registered, % of one core; the 1-minute load average at the start.
   */
  readonly otherCpuPercent: number;
  readonly loadAverage: number;
}

function perInstance(loaded: number, empty: number, instances: number): number {
  return (loaded - empty) / instances;
}

function measurement(
  variant: Variant,
  run: number,
  instances: number,
  parts: { empty: Settled; loaded: Settled; atLoadEnd?: ServeMemorySample | undefined; half?: Settled | undefined; otherCpuPercent: number; loadAverage: number },
): Measurement {
  const { empty, loaded, atLoadEnd, half } = parts;
  return {
    variant,
    run,
    instances,
    empty,
    loaded,
    atLoadEnd,
    rssPerInstanceBytes: perInstance(loaded.sample.rssBytes, empty.sample.rssBytes, instances),
    heapUsedPerInstanceBytes: perInstance(loaded.sample.heapUsedBytes, empty.sample.heapUsedBytes, instances),
    externalPerInstanceBytes: perInstance(loaded.sample.externalBytes, empty.sample.externalBytes, instances),
    arrayBuffersPerInstanceBytes: perInstance(loaded.sample.arrayBuffersBytes, empty.sample.arrayBuffersBytes, instances),
    rssAtLoadEndPerInstanceBytes: atLoadEnd === undefined ? Number.NaN : perInstance(atLoadEnd.rssBytes, empty.sample.rssBytes, instances),
    heapUsedAtLoadEndPerInstanceBytes: atLoadEnd === undefined ? Number.NaN : perInstance(atLoadEnd.heapUsedBytes, empty.sample.heapUsedBytes, instances),
    marginalRssPerInstanceBytes: half === undefined ? Number.NaN : (loaded.sample.rssBytes - half.sample.rssBytes) / (settings.instances - Math.floor(settings.instances / 2)),
    otherCpuPercent: parts.otherCpuPercent,
    loadAverage: parts.loadAverage,
  };
}

/**
 * The server's memory once settled (bench/lib/memory-settle.ts), or after 4 forced collections
 * (--gc forced). `start` is a sample taken when the phase ended: collections counted from it.
 */
async function settle(server: HeraldServeProcess, start: ServeMemorySample): Promise<Settled> {
  if (settings.gc === 'forced') return { sample: await server.memory(GC_ROUNDS), waitedMs: 0, settled: true, majorGcs: 0, reducingGcs: 0 };
  return settleHerald(server, start, settings.settleMaxMs);
}

/** What the server holds right now, without forcing anything or reading smaps. */
function now(server: HeraldServeProcess): Promise<ServeMemorySample> {
  return server.memory(0, { resident: false });
}

/** Registers instances [from, to). */
async function registerRange(pool: ClientPool, from: number, to: number): Promise<void> {
  const r = await runClosedLoop({
    inFlight: IN_FLIGHT,
    total: to - from,
    op: (i) => {
      const { service, index } = spread(from + i, settings.services);
      return pool.on(from + i).register(registration(service, index));
    },
  });
  if (r.errors > 0) throw new Error(`${r.errors} registrations failed, first: ${r.firstError ?? ''}`);
}

async function startServer(args: readonly string[] = []): Promise<HeraldServeProcess> {
  return HeraldServeProcess.start({
    args,
    exposeGc: settings.gc === 'forced',
    nodeArgs: settings.nodeArgs,
    ...(settings.bin === undefined ? {} : { bin: settings.bin }),
  });
}

interface Loaded {
  readonly server: HeraldServeProcess;
  readonly pool: ClientPool;
  readonly empty: Settled;
  readonly half: Settled | undefined;
  readonly atLoadEnd: ServeMemorySample;
  readonly otherCpuPercent: number;
  readonly loadAverage: number;
}

/**
 * Starts a server, samples it empty once settled (after warming the connections and the read
 * path), registers the instances (sampling at half way when `sampleHalf`), and hands over.
 */
async function withLoadedServer<T>(args: readonly string[], sampleHalf: boolean, then: (l: Loaded) => Promise<T>): Promise<T> {
  await waitForQuiet(os.availableParallelism());
  const loadAverage = os.loadavg()[0] ?? Number.NaN;
  const server = await startServer(args);
  const pool = new ClientPool(settings.client, server.address, CONNECTIONS);
  try {
    await Promise.all(pool.clients.map((c) => c.getService(GetServiceRequest.fromPartial({ service: 'warm-up' }))));
    const empty = await settle(server, await now(server));
    const halfway = Math.floor(settings.instances / 2);
    const cpu0 = sampleMachineCpu();
    const self0 = sampleUsage();
    const usage0 = await server.usage();
    await registerRange(pool, 0, halfway);
    let half: Settled | undefined;
    if (sampleHalf) half = await settle(server, await now(server));
    const usageMid = await server.usage();
    const selfMid = sampleUsage();
    const cpuMid = sampleMachineCpu();
    await registerRange(pool, halfway, settings.instances);
    const atLoadEnd = await now(server);
    const usage1 = await server.usage();
    const self1 = sampleUsage();
    const cpu1 = sampleMachineCpu();
    const cores = os.availableParallelism();
    // Machine CPU while the (last) instances registered, minus the server's and this process's (the clients).
    const ours = (a: ProcessUsage, b: ProcessUsage, sa: ProcessUsage, sb: ProcessUsage): number => usageDelta(a, b).cpuPercent + usageDelta(sa, sb).cpuPercent;
    const other =
      half === undefined
        ? machineBusyPercent(cpu0, cpu1, cores) - ours(usage0, usage1, self0, self1)
        : machineBusyPercent(cpuMid, cpu1, cores) - ours(usageMid, usage1, selfMid, self1);
    const { instanceCount: instances } = await server.metrics();
    if (instances !== settings.instances) throw new Error(`expected ${settings.instances} instances, server has ${instances}`);
    return await then({ server, pool, empty, half, atLoadEnd, otherCpuPercent: Math.max(0, other), loadAverage });
  } finally {
    pool.close();
    await server.stop();
  }
}

async function runOnce(run: number): Promise<Measurement[]> {
  const wanted = flags.variants;
  const withQueue = !wanted.has('queue')
    ? []
    : await withLoadedServer([], true, async (l) => {
        const loaded = await settle(l.server, l.atLoadEnd);
        const first = measurement('3-min change queue', run, settings.instances, { ...l, loaded });
        if (!wanted.has('read')) return [first];
        for (let s = 0; s < settings.services; s++) await l.pool.on(s).getService(GetServiceRequest.fromPartial({ service: serviceName(s) }));
        const read = await settle(l.server, await now(l.server));
        return [first, measurement('+ every service read once', run, settings.instances, { ...l, loaded: read, atLoadEnd: undefined })];
      });
  if (!wanted.has('expired')) return withQueue;
  const expired = await withLoadedServer(['--delta-retention-ms', String(SHORT_RETENTION_MS)], false, async (l) => {
    await sleep(SHORT_RETENTION_MS + 500);
    // The queue drops aged-out changes when the next change arrives: one more registration.
    await l.pool.on(0).register(registration(serviceName(0), settings.instances));
    const loaded = await settle(l.server, await now(l.server));
    return [measurement('change queue expired', run, settings.instances + 1, { ...l, loaded })];
  });
  return [...withQueue, ...expired];
}

const MiB = 2 ** 20;

/** Reserved size of one V8 heap space in a sample (0 if absent), MiB. */
function spaceMiB(m: ServeMemorySample, name: string): number {
  return (m.spaces.find((s) => s.name === name)?.sizeBytes ?? 0) / MiB;
}

/** Heap snapshots of an empty and a loaded server (the default variant) and what the loaded one holds per instance. */
async function heapSnapshots(): Promise<{ file: string; rows: { group: string; countPerInstance: number; bytesPerInstance: number }[]; totalBytesPerInstance: number }> {
  const dir = fileURLToPath(new URL('./results/heap/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = Date.now();
  const [emptyFile, loadedFile] = await withLoadedServer([], false, async (l) => {
    // The empty snapshot is taken on a second server, so neither sample is disturbed by the other's collection.
    const loadedPath = await l.server.heapSnapshot(`${dir}memory-loaded-${stamp}.heapsnapshot`);
    const empty = await startServer();
    try {
      const pool = new ClientPool(settings.client, empty.address, CONNECTIONS);
      await Promise.all(pool.clients.map((c) => c.getService(GetServiceRequest.fromPartial({ service: 'warm-up' }))));
      const emptyPath = await empty.heapSnapshot(`${dir}memory-empty-${stamp}.heapsnapshot`);
      pool.close();
      return [emptyPath, loadedPath];
    } finally {
      await empty.stop();
    }
  });
  const a = tallies(emptyFile);
  const b = tallies(loadedFile);
  const n = settings.instances;
  const keys = new Set([...a.byKey.keys(), ...b.byKey.keys()]);
  const rows = [...keys]
    .map((group) => {
      const x = a.byKey.get(group) ?? { count: 0, bytes: 0 };
      const y = b.byKey.get(group) ?? { count: 0, bytes: 0 };
      return { group, countPerInstance: (y.count - x.count) / n, bytesPerInstance: (y.bytes - x.bytes) / n };
    })
    .sort((x, y) => Math.abs(y.bytesPerInstance) - Math.abs(x.bytesPerInstance))
    .slice(0, 30);
  return { file: loadedFile, rows, totalBytesPerInstance: (b.total.bytes - a.total.bytes) / n };
}

armWatchdog((settings.runs * 20 + (flags.heapSnapshots ? 10 : 0)) * 60_000);
const machine = printHeader('herald server memory per registered instance', {
  runs: settings.runs,
  instances: settings.instances,
  services: settings.services,
  metadataEntries: 3,
  gc:
    settings.gc === 'none'
      ? `none (settled: V8's memory reducer has run, then no full collection and heapUsed and RSS within ${SETTLE_TOLERANCE * 100} % over ${SETTLE_SAMPLES} samples ${SETTLE_INTERVAL_MS / 1000} s apart, at most ${flags.settleMaxS} s)`
      : `forced (${GC_ROUNDS} full collections before each sample)`,
  client: `${settings.client} × ${CONNECTIONS} connections, ${IN_FLIGHT} in flight`,
  shortRetentionMs: SHORT_RETENTION_MS,
  server: `node ${[...(settings.gc === 'forced' ? ['--expose-gc'] : []), ...settings.nodeArgs, '--import serve-probe.mjs'].join(' ')} ${settings.bin ?? 'bin/herald.js'} serve (its defaults; 127.0.0.1, ports 0)`,
  loadAverage: os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
});
const all: Measurement[] = [];
for (let run = 1; run <= settings.runs; run++) {
  const ms = await runOnce(run);
  all.push(...ms);
  for (const m of ms) {
    const settled = (s: Settled): string => (settings.gc === 'forced' ? '' : `${(s.waitedMs / 1000).toFixed(0)} s${s.settled ? '' : ' NOT SETTLED'}`);
    console.log(
      `run ${run}, ${m.variant}: ${m.rssPerInstanceBytes.toFixed(0)} B RSS / instance (marginal ${m.marginalRssPerInstanceBytes.toFixed(0)} B, at load end ${m.rssAtLoadEndPerInstanceBytes.toFixed(0)} B), ` +
        `${m.heapUsedPerInstanceBytes.toFixed(0)} B heap / instance, RSS ${(m.empty.sample.rssBytes / MiB).toFixed(1)} → ${(m.loaded.sample.rssBytes / MiB).toFixed(1)} MiB, ` +
        `new space ${spaceMiB(m.empty.sample, 'new_space').toFixed(1)} → ${spaceMiB(m.loaded.sample, 'new_space').toFixed(1)} MiB` +
        (settings.gc === 'forced' ? '' : `, settled in ${settled(m.empty)} (empty) and ${settled(m.loaded)} (loaded)`) +
        `, other CPU ${m.otherCpuPercent.toFixed(0)} %, load ${m.loadAverage.toFixed(2)}`,
    );
  }
}
console.log('');
const residentMiB = (s: ServeMemorySample, k: 'brkHeapBytes' | 'anonymousBytes'): number => (s.resident?.[k] ?? Number.NaN) / MiB;
printRows('Every run (per instance = (loaded − empty) / instances; MiB for absolute values):', all, [
  ['variant', (m) => m.variant],
  ['run', (m) => m.run],
  ['RSS B/inst', (m) => m.rssPerInstanceBytes],
  ['marginal RSS B/inst', (m) => m.marginalRssPerInstanceBytes],
  ['heapUsed B/inst', (m) => m.heapUsedPerInstanceBytes],
  ['external B/inst', (m) => m.externalPerInstanceBytes],
  ['RSS at load end B/inst', (m) => m.rssAtLoadEndPerInstanceBytes],
  ['heapUsed at load end B/inst', (m) => m.heapUsedAtLoadEndPerInstanceBytes],
  ['empty RSS MiB', (m) => m.empty.sample.rssBytes / MiB],
  ['loaded RSS MiB', (m) => m.loaded.sample.rssBytes / MiB],
  ['empty heap MiB', (m) => m.empty.sample.heapUsedBytes / MiB],
  ['loaded heap MiB', (m) => m.loaded.sample.heapUsedBytes / MiB],
  ['heapTotal MiB', (m) => `${(m.empty.sample.heapTotalBytes / MiB).toFixed(1)} → ${(m.loaded.sample.heapTotalBytes / MiB).toFixed(1)}`],
  ['new space MiB', (m) => `${spaceMiB(m.empty.sample, 'new_space').toFixed(1)} → ${spaceMiB(m.loaded.sample, 'new_space').toFixed(1)}`],
  ['old space MiB', (m) => `${spaceMiB(m.empty.sample, 'old_space').toFixed(1)} → ${spaceMiB(m.loaded.sample, 'old_space').toFixed(1)}`],
  ['brk heap MiB', (m) => `${residentMiB(m.empty.sample, 'brkHeapBytes').toFixed(1)} → ${residentMiB(m.loaded.sample, 'brkHeapBytes').toFixed(1)}`],
  ['other anon MiB', (m) => `${residentMiB(m.empty.sample, 'anonymousBytes').toFixed(1)} → ${residentMiB(m.loaded.sample, 'anonymousBytes').toFixed(1)}`],
  [
    'settle s, GCs (loaded)',
    (m) =>
      settings.gc === 'forced' ? '-' : `${(m.loaded.waitedMs / 1000).toFixed(0)}, ${m.loaded.majorGcs} (${m.loaded.reducingGcs} reducing)${m.loaded.settled ? '' : ' NOT SETTLED'}`,
  ],
  ['other CPU %', (m) => m.otherCpuPercent],
  ['load 1m', (m) => m.loadAverage.toFixed(2)],
]);
const variants: Variant[] = ['3-min change queue', '+ every service read once', 'change queue expired'];
const summary = variants
  .filter((variant) => all.some((m) => m.variant === variant))
  .map((variant) => {
    const ms = all.filter((m) => m.variant === variant);
    return {
      variant,
      runs: ms.length,
      ...medians(ms, {
        rssPerInstanceBytes: (m) => m.rssPerInstanceBytes,
        marginalRssPerInstanceBytes: (m) => m.marginalRssPerInstanceBytes,
        heapUsedPerInstanceBytes: (m) => m.heapUsedPerInstanceBytes,
        externalPerInstanceBytes: (m) => m.externalPerInstanceBytes,
        arrayBuffersPerInstanceBytes: (m) => m.arrayBuffersPerInstanceBytes,
        rssAtLoadEndPerInstanceBytes: (m) => m.rssAtLoadEndPerInstanceBytes,
        heapUsedAtLoadEndPerInstanceBytes: (m) => m.heapUsedAtLoadEndPerInstanceBytes,
        emptyRssMiB: (m) => m.empty.sample.rssBytes / MiB,
        loadedRssMiB: (m) => m.loaded.sample.rssBytes / MiB,
        otherCpuPercent: (m) => m.otherCpuPercent,
      }),
    };
  });
printRows(`Medians of ${settings.runs} run(s), ${settings.instances.toLocaleString('en-US')} instances over ${settings.services} services, --gc ${settings.gc}:`, summary, [
  ['variant', (s) => s.variant],
  ['RSS B/instance', (s) => s.rssPerInstanceBytes],
  ['marginal RSS B/instance', (s) => s.marginalRssPerInstanceBytes],
  ['heapUsed B/instance', (s) => s.heapUsedPerInstanceBytes],
  ['external B/instance', (s) => s.externalPerInstanceBytes],
  ['arrayBuffers B/instance', (s) => s.arrayBuffersPerInstanceBytes],
  ['RSS at load end B/instance', (s) => s.rssAtLoadEndPerInstanceBytes],
  ['heapUsed at load end B/instance', (s) => s.heapUsedAtLoadEndPerInstanceBytes],
  ['empty RSS MiB', (s) => s.emptyRssMiB],
  ['loaded RSS MiB', (s) => s.loadedRssMiB],
  ['other CPU %', (s) => s.otherCpuPercent],
]);
const withQueue = summary.find((s) => s.variant === '3-min change queue');
const checks: TargetCheck[] =
  withQueue === undefined
    ? []
    : [
        { metric: `RSS per instance beyond an empty server (3-min change queue, --gc ${settings.gc})`, value: withQueue.rssPerInstanceBytes, unit: 'B', bound: 1024, kind: 'max' },
        {
          metric: `heapUsed per instance beyond an empty server (3-min change queue, --gc ${settings.gc})`,
          value: withQueue.heapUsedPerInstanceBytes,
          unit: 'B',
          bound: 1024,
          kind: 'max',
        },
      ];
printChecks(checks);
let heap: Awaited<ReturnType<typeof heapSnapshots>> | undefined;
if (flags.heapSnapshots) {
  heap = await heapSnapshots();
  printTable(
    `Live objects per instance (heap snapshots, loaded − empty, ÷ ${settings.instances.toLocaleString('en-US')}; self sizes): ${heap.totalBytesPerInstance.toFixed(0)} B in all; ${heap.file}`,
    ['group', 'objects / instance', 'B / instance'],
    heap.rows.map((r) => [r.group, r.countPerInstance, r.bytesPerInstance]),
  );
}
const name = flags.label === '' ? 'memory' : `memory-${flags.label}`;
console.log(`wrote ${await writeResults(name, { machine, settings, summary, checks, heap, runs: all })}`);
