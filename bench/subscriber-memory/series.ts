/**
 * The server's memory over time: samples (RSS, V8 heap, external and array buffers, HTTP/2 state)
 * taken every few seconds without forcing a collection, summarised per minute (min / median / max)
 * and tested for flatness after a warm-up: the least-squares slope of the per-minute medians of RSS
 * and of the per-minute minima of heapUsed (the floor the collector returns to, i.e. what is live).
 */
import os from 'node:os';
import type { HeraldServeProcess, Http2Sample, ServeMemorySample } from '../lib/herald-serve-process.js';
import { machineBusyPercent, sampleMachineCpu, type MachineCpu } from '../lib/machine-load.js';
import { median } from '../lib/stats.js';
import { sleep } from '../lib/wall-clock.js';

export const MiB = 2 ** 20;

export interface Sample {
  /** Seconds since the phase's time zero (negative before it). */
  readonly tS: number;
  readonly memory: ServeMemorySample;
  readonly http2: Http2Sample;
  /** Whole machine busy since the previous sample, % of one core (NaN for a first sample), and the 1-minute load average. */
  readonly machinePercent: number;
  readonly loadAverage1m: number;
}

let lastMachine: MachineCpu | undefined;

export async function takeSample(server: HeraldServeProcess, t0Ms: number): Promise<Sample> {
  const [memory, http2] = await Promise.all([server.memory(0), server.http2()]);
  const machine = sampleMachineCpu();
  const machinePercent = machineBusyPercent(lastMachine, machine, os.availableParallelism());
  lastMachine = machine;
  return { tS: (performance.now() - t0Ms) / 1000, memory, http2, machinePercent, loadAverage1m: os.loadavg()[0] ?? Number.NaN };
}

/** Samples every `everyMs` until `stop()`; the samples are in `samples`. */
export class Sampler {
  readonly samples: Sample[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly server: HeraldServeProcess,
    private readonly t0Ms: number,
    private readonly everyMs: number,
    private readonly onSample?: (s: Sample) => void,
  ) {}

  start(): void {
    this.loop ??= (async () => {
      let next = performance.now();
      while (!this.stopped) {
        const s = await takeSample(this.server, this.t0Ms);
        this.samples.push(s);
        this.onSample?.(s);
        next += this.everyMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

export interface Range {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

function range(values: readonly number[]): Range {
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

export interface MinuteSummary {
  readonly minute: number;
  readonly samples: number;
  readonly rssMiB: Range;
  readonly heapUsedMiB: Range;
  readonly heapTotalMiB: Range;
  readonly externalMiB: Range;
  readonly arrayBuffersMiB: Range;
  /** Bytes written to HTTP/2 streams and not flushed (MiB) and streams holding some. */
  readonly unflushedMiB: Range;
  readonly blockedStreams: Range;
  /** Whole machine busy, % of one core (200 = both cores busy): was the server starved? */
  readonly machinePercent: Range;
}

/** Per-minute ranges of the samples with tS ≥ 0 (minute 1 = [0 s, 60 s)). */
export function perMinute(samples: readonly Sample[]): MinuteSummary[] {
  const byMinute = new Map<number, Sample[]>();
  for (const s of samples) {
    if (s.tS < 0) continue;
    const m = Math.floor(s.tS / 60) + 1;
    const list = byMinute.get(m) ?? [];
    list.push(s);
    byMinute.set(m, list);
  }
  return [...byMinute.entries()]
    .sort(([a], [b]) => a - b)
    .map(([minute, ss]) => ({
      minute,
      samples: ss.length,
      rssMiB: range(ss.map((s) => s.memory.rssBytes / MiB)),
      heapUsedMiB: range(ss.map((s) => s.memory.heapUsedBytes / MiB)),
      heapTotalMiB: range(ss.map((s) => s.memory.heapTotalBytes / MiB)),
      externalMiB: range(ss.map((s) => s.memory.externalBytes / MiB)),
      arrayBuffersMiB: range(ss.map((s) => s.memory.arrayBuffersBytes / MiB)),
      unflushedMiB: range(ss.map((s) => s.http2.unflushedBytes / MiB)),
      blockedStreams: range(ss.map((s) => s.http2.blockedStreams)),
      machinePercent: range(ss.map((s) => s.machinePercent).filter((x) => !Number.isNaN(x))),
    }));
}

/** Least-squares slope of y over x; NaN with fewer than two points. */
export function slope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return Number.NaN;
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export interface Flatness {
  /** Minutes counted (those starting at or after the warm-up). */
  readonly minutes: number;
  /** Slope of the per-minute RSS medians and heapUsed minima, MiB per minute. */
  readonly rssSlopeMiBPerMin: number;
  readonly heapFloorSlopeMiBPerMin: number;
  readonly externalSlopeMiBPerMin: number;
  /** Last counted minute minus the first: RSS median and heapUsed minimum, MiB. */
  readonly rssChangeMiB: number;
  readonly heapFloorChangeMiB: number;
  readonly flat: boolean;
}

/** A drift below this (MiB per minute) counts as flat: 5 MiB over a 10-minute run. */
export const FLAT_SLOPE_MIB_PER_MIN = 0.5;

export function flatness(minutes: readonly MinuteSummary[], warmupS: number): Flatness {
  const after = minutes.filter((m) => (m.minute - 1) * 60 >= warmupS);
  const first = after[0];
  const last = after.at(-1);
  const rss = slope(after.map((m) => [m.minute, m.rssMiB.median]));
  const heap = slope(after.map((m) => [m.minute, m.heapUsedMiB.min]));
  const external = slope(after.map((m) => [m.minute, m.externalMiB.median]));
  return {
    minutes: after.length,
    rssSlopeMiBPerMin: rss,
    heapFloorSlopeMiBPerMin: heap,
    externalSlopeMiBPerMin: external,
    rssChangeMiB: first === undefined || last === undefined ? Number.NaN : last.rssMiB.median - first.rssMiB.median,
    heapFloorChangeMiB: first === undefined || last === undefined ? Number.NaN : last.heapUsedMiB.min - first.heapUsedMiB.min,
    flat: after.length >= 2 && rss <= FLAT_SLOPE_MIB_PER_MIN && heap <= FLAT_SLOPE_MIB_PER_MIN,
  };
}
