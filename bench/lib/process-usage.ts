/**
 * CPU time and event-loop utilisation of a process, sampled at two moments and differenced: how
 * busy the server and each load process were during a measured phase (on 2 cores they compete).
 */
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
}

export interface UsageDelta {
  readonly wallMs: number;
  /** CPU time used, user plus system, in microseconds. */
  readonly cpuUs: number;
  /** CPU time as a share of one core (100 = one core fully busy). */
  readonly cpuPercent: number;
  /** Share of wall time the event loop was busy (0 to 1). */
  readonly eventLoopUtilization: number;
}

export function sampleUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return {
    atMs: performance.timeOrigin + performance.now(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eluIdleMs: elu.idle,
    eluActiveMs: elu.active,
    rssBytes: process.memoryUsage.rss(),
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
    eventLoopUtilization: active + idle > 0 ? active / (active + idle) : Number.NaN,
  };
}
