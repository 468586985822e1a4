/**
 * CPU time and event-loop utilisation of a process, sampled at two moments and differenced: how
 * busy the server and each load process were during a measured phase (on 2 cores they compete).
 * Each sample also carries the event-loop delay and GC pauses since the previous one, so the later
 * sample of a pair tells the longest stall within the phase and how much of it was the collector.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface ProcessUsage {
  /** Wall clock of the sample (ms since the Unix epoch). */
  readonly atMs: number;
  /** Cumulative user and system CPU time in microseconds (process.cpuUsage()). */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Cumulative event-loop idle and active time in milliseconds. */
  readonly eluIdleMs: number;
  readonly eluActiveMs: number;
  readonly rssBytes: number;
  /** Event-loop delay since the previous sample (how late a 10 ms timer fired), ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Garbage-collection pauses since the previous sample: the longest and their sum, ms. */
  readonly gcMaxPauseMs: number;
  readonly gcTotalPauseMs: number;
  /**
   * Cumulative time the main thread was runnable but waiting for a core, in microseconds (Linux
   * schedstat's run delay; NaN where it cannot be read).
   */
  readonly runDelayUs: number;
}

export interface UsageDelta {
  readonly wallMs: number;
  /** CPU time used, user plus system, in microseconds. */
  readonly cpuUs: number;
  /** CPU time as a share of one core (100 = one core fully busy). */
  readonly cpuPercent: number;
  /** Share of the CPU time spent in the kernel (system time), 0 to 1. */
  readonly systemShare: number;
  /** Share of wall time the event loop was busy (0 to 1). */
  readonly eventLoopUtilization: number;
  /** The longest event-loop delay within the interval, ms. */
  readonly loopDelayMaxMs: number;
  readonly loopDelayP99Ms: number;
  readonly gcMaxPauseMs: number;
  readonly gcTotalPauseMs: number;
  /**
   * Share of wall time the main thread was runnable but not running, waiting for a core (0 to 1;
   * NaN where unknown). Next to its CPU share it says whether the thread was bound by its own work
   * or by the machine's cores: a thread with CPU 0.25 and run delay 0.5 had work for 0.75 of the time.
   */
  readonly runDelayShare: number;
}

/** The main thread's run delay so far, µs (the second field of /proc/thread-self/schedstat, ns). */
function runDelayUs(): number {
  try {
    const fields = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return Number(fields[1]) / 1000;
  } catch {
    return Number.NaN;
  }
}

const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
loopDelay.enable();

let gcMax = 0;
let gcTotal = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMax = Math.max(gcMax, e.duration);
    gcTotal += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

/** Samples this process; also restarts the event-loop delay histogram. */
export function sampleUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  // The histogram records the whole interval between checks; the delay is what exceeds the resolution.
  const delayP99 = Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  const delayMax = Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  loopDelay.reset();
  const gcMaxPauseMs = gcMax;
  const gcTotalPauseMs = gcTotal;
  gcMax = 0;
  gcTotal = 0;
  return {
    atMs: performance.timeOrigin + performance.now(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eluIdleMs: elu.idle,
    eluActiveMs: elu.active,
    rssBytes: process.memoryUsage.rss(),
    loopDelayP99Ms: delayP99,
    loopDelayMaxMs: delayMax,
    gcMaxPauseMs,
    gcTotalPauseMs,
    runDelayUs: runDelayUs(),
  };
}

export function usageDelta(before: ProcessUsage, after: ProcessUsage): UsageDelta {
  const wallMs = after.atMs - before.atMs;
  const cpuUs = after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
  const active = after.eluActiveMs - before.eluActiveMs;
  const idle = after.eluIdleMs - before.eluIdleMs;
  return {
    wallMs,
    cpuUs,
    cpuPercent: wallMs > 0 ? (cpuUs / 1000 / wallMs) * 100 : Number.NaN,
    systemShare: cpuUs > 0 ? (after.cpuSystemUs - before.cpuSystemUs) / cpuUs : Number.NaN,
    eventLoopUtilization: active + idle > 0 ? active / (active + idle) : Number.NaN,
    loopDelayMaxMs: after.loopDelayMaxMs,
    loopDelayP99Ms: after.loopDelayP99Ms,
    gcMaxPauseMs: after.gcMaxPauseMs,
    gcTotalPauseMs: after.gcTotalPauseMs,
    runDelayShare: wallMs > 0 ? (after.runDelayUs - before.runDelayUs) / 1000 / wallMs : Number.NaN,
  };
}

/** CPU of several processes together, in % of one core. */
export function totalCpuPercent(usages: readonly UsageDelta[]): number {
  return usages.reduce((n, u) => n + u.cpuPercent, 0);
}

/** The busiest event loop of several processes (0 to 1). */
export function maxEventLoopUtilization(usages: readonly UsageDelta[]): number {
  return Math.max(...usages.map((u) => u.eventLoopUtilization));
}
