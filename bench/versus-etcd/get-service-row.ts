/**
 * The GetService row on one system, on a fresh server: one service of `instances` instances, read
 * in full `calls` times one after another by one client after `warmupCalls` (herald: GetService,
 * decoded; etcd: Range over the service's prefix, every value JSON.parse'd into a map). Latency is
 * call start to decoded answer; client CPU is this process's CPU over the calls.
 *
 * The client's own garbage collections are observed (PerformanceObserver 'gc') and laid over the
 * calls: how many calls a collection paused, and the p99 of the calls with the collection time
 * within each taken out, which says how much of the tail is the client's GC rather than the server.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { runClosedLoop } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import { summarize } from '../lib/stats.js';
import { at, type System } from './systems.js';

const SERVICE = 'versus-get';

export interface GetServiceSettings {
  readonly instances: number;
  readonly calls: number;
  readonly warmupCalls: number;
  readonly cores: number;
}

export type GetServiceFigures = {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly callsPerSecond: number;
  readonly clientCpuPerCallUs: number;
  readonly serverCpuPerCallUs: number;
  /** p99 of the call latencies minus the client's GC pause time within each call. */
  readonly p99WithoutGcMs: number;
  /** Share of the calls at or above the p90 latency during which the client collected, %. */
  readonly tailCallsWithGcPercent: number;
  /** Client GC pause time during the measured calls, per call. */
  readonly clientGcPerCallMs: number;
  readonly errors: number;
  readonly otherCpuPercent: number;
};

/** Time of [from, to] covered by the pauses (performance.now() times). */
function overlapMs(pauses: readonly { start: number; end: number }[], from: number, to: number): number {
  let total = 0;
  for (const p of pauses) total += Math.max(0, Math.min(p.end, to) - Math.max(p.start, from));
  return total;
}

export async function getServiceRow(system: System, s: GetServiceSettings): Promise<GetServiceFigures> {
  const server = await system.start();
  const writers = Array.from({ length: 8 }, () => system.client(server.address));
  const reader = system.client(server.address);
  try {
    await runClosedLoop({ inFlight: 64, total: s.instances, op: (i) => at(writers, i).register(SERVICE, i) });
    const read = async (): Promise<void> => {
      const n = await reader.getService(SERVICE);
      if (n !== s.instances) throw new Error(`read ${n} instances, expected ${s.instances}`);
    };
    await runClosedLoop({ inFlight: 1, total: s.warmupCalls, op: read });
    const calls: { start: number; end: number }[] = [];
    const pauses: { start: number; end: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    observer.observe({ entryTypes: ['gc'] });
    const timedRead = async (): Promise<void> => {
      const start = performance.now();
      await read();
      calls.push({ start, end: performance.now() });
    };
    const {
      result: r,
      usage: [serverUsage],
      self,
      otherCpuPercent,
    } = await measurePhase([server], s.cores, () => runClosedLoop({ inFlight: 1, total: s.calls, op: timedRead }));
    // Entries are delivered asynchronously: one turn of the event loop for the last ones.
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    if (r.firstError !== undefined) console.error(`${system.name} get-service: ${r.errors} call(s) failed, first: ${r.firstError}`);
    if (r.completed === 0) throw new Error(`${system.name} get-service: no call succeeded`);
    const latency = summarize(r.latenciesMs);
    const gcIn = calls.map((c) => overlapMs(pauses, c.start, c.end));
    const withoutGc = summarize(calls.map((c, i) => c.end - c.start - (gcIn[i] ?? 0)));
    const durations = calls.map((c) => c.end - c.start);
    const p90 = summarize(durations).p90;
    const tail = durations.map((d, i) => ({ d, gc: gcIn[i] ?? 0 })).filter((x) => x.d >= p90);
    return {
      p99WithoutGcMs: withoutGc.p99,
      tailCallsWithGcPercent: tail.length === 0 ? 0 : (tail.filter((x) => x.gc > 0).length / tail.length) * 100,
      clientGcPerCallMs: gcIn.reduce((a, b) => a + b, 0) / Math.max(1, calls.length),
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      maxMs: latency.max,
      callsPerSecond: (r.completed / r.elapsedMs) * 1000,
      clientCpuPerCallUs: self.cpuUs / r.completed,
      serverCpuPerCallUs: serverUsage.cpuUs / r.completed,
      errors: r.errors,
      otherCpuPercent,
    };
  } finally {
    for (const c of [...writers, reader]) c.close();
    await server.stop();
  }
}
