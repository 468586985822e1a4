/**
 * The GetService row on one system, on a fresh server: one service of `instances` instances, read
 * in full `calls` times one after another by one client after `warmupCalls` (herald: GetService,
 * decoded; etcd: Range over the service's prefix, every value JSON.parse'd into a map). Latency is
 * call start to decoded answer; client CPU is this process's CPU over the calls.
 */
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
  readonly errors: number;
  readonly otherCpuPercent: number;
};

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
    const {
      result: r,
      usage: [serverUsage],
      self,
      otherCpuPercent,
    } = await measurePhase([server], s.cores, () => runClosedLoop({ inFlight: 1, total: s.calls, op: read }));
    if (r.firstError !== undefined) console.error(`${system.name} get-service: ${r.errors} call(s) failed, first: ${r.firstError}`);
    if (r.completed === 0) throw new Error(`${system.name} get-service: no call succeeded`);
    const latency = summarize(r.latenciesMs);
    return {
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
