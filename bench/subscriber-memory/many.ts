/**
 * Scenario "many-from-one": one client process opens `streams` Subscribe streams over one connection
 * (grpc-js multiplexes them), holds them, then cancels them all; repeated for `cycles` cycles. The
 * server is sampled before, while held and after release, each time as it is and after forced
 * collections (the latter is diagnosis: it tells live objects from garbage V8 has not collected).
 * Per-stream cost = (held − before) / streams. A leak shows as a forced-GC heap after release that
 * stays above the one before, or grows from cycle to cycle; memory merely not returned to the OS
 * shows as RSS that stays up while the forced-GC heap is back where it was, and that the next cycle
 * reuses without growing.
 */
import { join } from 'node:path';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { HeraldServeProcess, type Http2Sample, type ServeMemorySample } from '../lib/herald-serve-process.js';
import { printTable } from '../lib/report.js';
import { sleep } from '../lib/wall-clock.js';
import { seedService } from './change-driver.js';
import { spawnLoads, usageOf, waitForSubscribers } from './load-procs.js';
import { PhaseMeter, type PhaseLoad } from './phase-load.js';
import { MiB } from './series.js';

const GC_ROUNDS = 4;
const SETTLE_MS = 5_000;

export interface ManySettings {
  readonly streams: number;
  /** 1 = every stream on the same service; more = spread round-robin over that many services (the first seeded, the rest empty). */
  readonly services: number;
  readonly cycles: number;
  readonly hosts: number;
  /** Write heap snapshots (before, held and released, first cycle) into this directory. */
  readonly heapSnapshotDir: string | undefined;
  readonly serverArgs: readonly string[];
}

export interface Checkpoint {
  readonly memory: ServeMemorySample;
  readonly gc: ServeMemorySample;
  readonly http2: Http2Sample;
  /** The HTTP/2 sample again after the forced collections (objects collected by then). */
  readonly http2AfterGc: Http2Sample;
  readonly subscribers: number;
}

export interface Cycle {
  readonly cycle: number;
  readonly opened: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly openMs: number;
  readonly held: Checkpoint;
  readonly cancelMs: number;
  readonly releaseMs: number;
  readonly released: Checkpoint;
}

export interface ManyResult {
  readonly settings: ManySettings;
  readonly before: Checkpoint;
  readonly cycles: readonly Cycle[];
  /** After the client closed its connection. */
  readonly closed: Checkpoint;
  readonly snapshots: readonly string[];
  readonly load: PhaseLoad;
}

function serviceNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'many-streams' : `many-streams-${String(i).padStart(5, '0')}`));
}

async function checkpoint(server: HeraldServeProcess, snapshot?: string): Promise<Checkpoint> {
  const memory = await server.memory(0);
  const http2 = await server.http2();
  const { subscribeCount } = await server.metrics();
  const gc = await server.memory(GC_ROUNDS);
  const http2AfterGc = await server.http2();
  if (snapshot !== undefined) await server.heapSnapshot(snapshot);
  return { memory, gc, http2, http2AfterGc, subscribers: subscribeCount };
}

export async function runMany(settings: ManySettings): Promise<ManyResult> {
  const server = await HeraldServeProcess.start({ args: settings.serverArgs, exposeGc: true });
  const transport = new RegistryTransport(server.address, { deadlineMs: 30_000 });
  const [client] = await spawnLoads(1, 'many-from-one client');
  if (client === undefined) throw new Error('no load process');
  const services = serviceNames(settings.services);
  const snapshots: string[] = [];
  const snap = (name: string): string | undefined => {
    if (settings.heapSnapshotDir === undefined) return undefined;
    const file = join(settings.heapSnapshotDir, `many-${name}-${Date.now()}.heapsnapshot`);
    snapshots.push(file);
    return file;
  };
  try {
    await seedService(transport, services[0] ?? '', settings.hosts);
    // Warm the connection and the code paths with a few streams, so "before" includes them.
    const open = { address: server.address, services, connections: 1, pause: false, openBatch: 500, timeoutMs: 300_000 };
    await client.request('open', { ...open, streams: 10 });
    await client.request('cancel', { timeoutMs: 10_000 });
    await waitForSubscribers(server, 0, 10_000);
    await sleep(SETTLE_MS);
    const meter = await PhaseMeter.start(...usageOf(server, [client]));
    const before = await checkpoint(server, snap('before'));
    const cycles: Cycle[] = [];
    for (let c = 1; c <= settings.cycles; c++) {
      const started = performance.now();
      const opened = await client.request('open', { ...open, streams: settings.streams });
      const openMs = performance.now() - started;
      if (opened.subscribed < settings.streams) {
        console.log(`many-from-one: ${opened.subscribed} of ${settings.streams} streams subscribed; ended: ${JSON.stringify(opened.ended)} (${opened.firstError ?? '-'})`);
      }
      await sleep(SETTLE_MS);
      const held = await checkpoint(server, c === 1 ? snap('held') : undefined);
      const cancelled = await client.request('cancel', { timeoutMs: 60_000 });
      const { ms } = await waitForSubscribers(server, 0, 60_000);
      await sleep(SETTLE_MS);
      const released = await checkpoint(server, c === 1 ? snap('released') : undefined);
      cycles.push({ cycle: c, opened: opened.subscribed, refused: opened.ended, openMs, held, cancelMs: cancelled.cancelMs, releaseMs: ms, released });
      console.log(
        `many-from-one cycle ${c}: ${opened.subscribed} streams in ${(openMs / 1000).toFixed(1)} s; held RSS ${(held.memory.rssBytes / MiB).toFixed(1)} MiB; ` +
          `released RSS ${(released.memory.rssBytes / MiB).toFixed(1)} MiB, heap after GC ${(released.gc.heapUsedBytes / MiB).toFixed(1)} MiB`,
      );
    }
    await client.request('close', undefined);
    await sleep(SETTLE_MS);
    const closed = await checkpoint(server);
    const load = await meter.end();
    return { settings, before, cycles, closed, snapshots, load };
  } finally {
    transport.close();
    await client.exit();
    await server.stop();
  }
}

/** Per stream, bytes: (x − before) / streams, for one field. */
function per(x: number, before: number, streams: number): number {
  return streams === 0 ? Number.NaN : (x - before) / streams;
}

export function printMany(r: ManyResult): void {
  const s = r.settings;
  const m = (x: number): number => x / MiB;
  const abs = (label: string, c: Checkpoint, gc: boolean): (string | number)[] => {
    const x = gc ? c.gc : c.memory;
    const h = gc ? c.http2AfterGc : c.http2;
    return [
      label,
      c.http2.subscribeStreams,
      c.subscribers,
      h.streamsCreated - h.streamsCollected,
      m(x.rssBytes),
      m(x.resident?.brkHeapBytes ?? Number.NaN),
      m(x.resident?.anonymousBytes ?? Number.NaN),
      m(x.heapUsedBytes),
      m(x.heapTotalBytes),
      m(x.externalBytes),
      m(x.arrayBuffersBytes),
    ];
  };
  const rows: (string | number)[][] = [abs('before', r.before, false), abs('before, GC', r.before, true)];
  for (const c of r.cycles) {
    rows.push(abs(`cycle ${c.cycle}: held`, c.held, false), abs(`cycle ${c.cycle}: held, GC`, c.held, true));
    rows.push(abs(`cycle ${c.cycle}: released`, c.released, false), abs(`cycle ${c.cycle}: released, GC`, c.released, true));
  }
  rows.push(abs('connection closed', r.closed, false), abs('connection closed, GC', r.closed, true));
  printTable(
    `Many from one: ${s.streams} Subscribe streams from one process over one connection, ${s.services === 1 ? 'one service' : `${s.services} services`}, ${s.cycles} cycle(s); ` +
      'MiB ("GC" rows after forced collections: diagnosis only):',
    ['checkpoint', 'HTTP/2 Subscribe streams', 'hub subscribers', 'stream objects not collected', 'RSS', 'RSS brk heap', 'RSS anon', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'],
    rows,
  );
  const perRows: (string | number)[][] = [];
  for (const c of r.cycles) {
    const n = c.opened;
    const line = (label: string, x: ServeMemorySample, b: ServeMemorySample): (string | number)[] => [
      label,
      per(x.rssBytes, b.rssBytes, n),
      per(x.resident?.brkHeapBytes ?? Number.NaN, b.resident?.brkHeapBytes ?? Number.NaN, n),
      per(x.resident?.anonymousBytes ?? Number.NaN, b.resident?.anonymousBytes ?? Number.NaN, n),
      per(x.heapUsedBytes, b.heapUsedBytes, n),
      per(x.externalBytes, b.externalBytes, n),
      per(x.arrayBuffersBytes, b.arrayBuffersBytes, n),
    ];
    perRows.push(line(`cycle ${c.cycle}: held`, c.held.memory, r.before.memory), line(`cycle ${c.cycle}: held, GC`, c.held.gc, r.before.gc));
    perRows.push(line(`cycle ${c.cycle}: released`, c.released.memory, r.before.memory), line(`cycle ${c.cycle}: released, GC`, c.released.gc, r.before.gc));
  }
  printTable('Many from one: bytes per stream, (checkpoint − before) / streams opened:', ['checkpoint', 'RSS B', 'brk heap B', 'anon B', 'heapUsed B', 'external B', 'arrayBuffers B'], perRows);
  for (const c of r.cycles) {
    console.log(
      `cycle ${c.cycle}: opened ${c.opened} (ended at open: ${JSON.stringify(c.refused)}) in ${(c.openMs / 1000).toFixed(1)} s; cancel ${(c.cancelMs / 1000).toFixed(1)} s; ` +
        `server released in ${(c.releaseMs / 1000).toFixed(1)} s; HTTP/2 stream objects collected after the forced GC: ${c.released.http2AfterGc.streamsCollected} of ${c.released.http2AfterGc.streamsCreated}`,
    );
  }
  if (r.snapshots.length > 0) console.log('(a heap snapshot makes the server allocate a lot: RSS after one is not comparable)');
  if (r.snapshots.length > 0) console.log(`heap snapshots: ${r.snapshots.join(' ')}\n  summarise: npx tsx bench/heap-summary.ts <before> <held> --per ${s.streams}`);
  console.log('');
}
