/**
 * Waiting until a server's memory has settled by itself, without forcing anything: what an
 * operator's monitoring reads once a burst is over. A settled sample is the one every memory
 * figure uses, for herald and etcd alike (bench/memory.ts, versus-etcd's memory row).
 *
 * - herald (V8): once a heap goes idle, V8's memory reducer starts a few memory-reducing full
 *   collections of its own, which also compact it (about a minute after a load on the 2-core
 *   machine). Settled = the reducer has run since the load ended, then no full collection and
 *   heapUsed and RSS within SETTLE_TOLERANCE over SETTLE_SAMPLES samples SETTLE_INTERVAL_MS apart.
 * - any process (etcd: Go's background scavenger returns freed pages to the OS over minutes):
 *   RSS within SETTLE_TOLERANCE over SETTLE_SAMPLES samples.
 *
 * Both give up after `maxMs` and say so (`settled: false`).
 */
import type { HeraldServeProcess, ServeMemorySample } from './herald-serve-process.js';
import { sleep } from './wall-clock.js';

export const SETTLE_INTERVAL_MS = 2_000;
export const SETTLE_SAMPLES = 5;
export const SETTLE_TOLERANCE = 0.01;

/** A settled sample, how long it took, whether it settled within the limit. */
export interface Settled<S> {
  readonly sample: S;
  readonly waitedMs: number;
  readonly settled: boolean;
}

export interface HeraldSettled extends Settled<ServeMemorySample> {
  /** Full collections V8 ran by itself while waiting, and how many of them were memory-reducing. */
  readonly majorGcs: number;
  readonly reducingGcs: number;
}

function within(values: readonly number[]): boolean {
  const max = Math.max(...values);
  return max - Math.min(...values) <= SETTLE_TOLERANCE * max;
}

/** No full collection over the last SETTLE_SAMPLES samples, and heapUsed and RSS within SETTLE_TOLERANCE. */
function heapSteady(samples: readonly ServeMemorySample[]): boolean {
  if (samples.length < SETTLE_SAMPLES) return false;
  const last = samples.slice(-SETTLE_SAMPLES);
  return within(last.map((s) => s.heapUsedBytes)) && within(last.map((s) => s.rssBytes)) && within(last.map((s) => s.gcCounts.major));
}

/**
 * herald's memory once settled. `start` is a sample taken when the phase ended (collections are
 * counted from it). The samples skip /proc/self/smaps (reading it allocates megabytes in the
 * server, enough to keep V8 from ever seeing an idle heap), except the one returned.
 */
export async function settleHerald(server: HeraldServeProcess, start: ServeMemorySample, maxMs: number): Promise<HeraldSettled> {
  const t0 = Date.now();
  const samples: ServeMemorySample[] = [start];
  let settled = false;
  while (Date.now() - t0 < maxMs) {
    await sleep(SETTLE_INTERVAL_MS);
    const s = await server.memory(0, { resident: false });
    samples.push(s);
    if (s.gcCounts.reducing > start.gcCounts.reducing && heapSteady(samples)) {
      settled = true;
      break;
    }
  }
  const sample = await server.memory(0);
  return {
    sample,
    waitedMs: Date.now() - t0,
    settled,
    majorGcs: sample.gcCounts.major - start.gcCounts.major,
    reducingGcs: sample.gcCounts.reducing - start.gcCounts.reducing,
  };
}

/** Any process's memory once its RSS has stayed steady (`read` samples it; `rssBytes` is compared). */
export async function settleRss<S extends { readonly rssBytes: number }>(read: () => Promise<S>, maxMs: number): Promise<Settled<S>> {
  const t0 = Date.now();
  const samples: S[] = [await read()];
  while (Date.now() - t0 < maxMs) {
    await sleep(SETTLE_INTERVAL_MS);
    samples.push(await read());
    if (samples.length >= SETTLE_SAMPLES && within(samples.slice(-SETTLE_SAMPLES).map((s) => s.rssBytes))) {
      return { sample: samples[samples.length - 1] as S, waitedMs: Date.now() - t0, settled: true };
    }
  }
  return { sample: samples[samples.length - 1] as S, waitedMs: Date.now() - t0, settled: false };
}
