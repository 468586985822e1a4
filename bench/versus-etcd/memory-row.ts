/**
 * The memory row on one system, on a fresh server: RSS (and for herald the V8 heap in use; for etcd
 * anonymous and file-backed RSS) before and after registering `instances` instances over `services`
 * services, `inFlight` at a time over `connections` clients, with no forced collection: what the
 * server's process holds, as an operator's monitoring sees it. Per instance = growth / instances.
 */
import { runClosedLoop } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import { sleep } from '../lib/wall-clock.js';
import { spread } from '../lib/workload.js';
import { at, type System } from './systems.js';

export interface MemorySettings {
  readonly instances: number;
  readonly services: number;
  readonly inFlight: number;
  readonly connections: number;
  /** Wait after the last registration before the second sample, ms. */
  readonly settleMs: number;
  readonly cores: number;
}

export type MemoryFigures = {
  readonly rssPerInstanceBytes: number;
  readonly heapUsedPerInstanceBytes: number;
  readonly anonPerInstanceBytes: number;
  readonly filePerInstanceBytes: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly registrationsPerSecond: number;
  readonly errors: number;
  readonly otherCpuPercent: number;
};

const MIB = 1024 * 1024;

export async function memoryRow(system: System, s: MemorySettings): Promise<MemoryFigures> {
  const server = await system.start();
  const clients = Array.from({ length: s.connections }, () => system.client(server.address));
  try {
    await sleep(s.settleMs);
    const before = await server.memory();
    const { result: r, otherCpuPercent } = await measurePhase([server], s.cores, () =>
      runClosedLoop({
        inFlight: s.inFlight,
        total: s.instances,
        op: async (i) => {
          const { service, index } = spread(i, s.services);
          await at(clients, i).register(service, index);
        },
      }),
    );
    if (r.firstError !== undefined) console.error(`${system.name} memory: ${r.errors} registration(s) failed, first: ${r.firstError}`);
    await sleep(s.settleMs);
    const after = await server.memory();
    const per = (a: number, b: number): number => (a - b) / r.completed;
    return {
      rssPerInstanceBytes: per(after.rssBytes, before.rssBytes),
      heapUsedPerInstanceBytes: per(after.heapUsedBytes, before.heapUsedBytes),
      anonPerInstanceBytes: per(after.anonBytes, before.anonBytes),
      filePerInstanceBytes: per(after.fileBytes, before.fileBytes),
      rssBeforeMiB: before.rssBytes / MIB,
      rssAfterMiB: after.rssBytes / MIB,
      registrationsPerSecond: (r.completed / r.elapsedMs) * 1000,
      errors: r.errors,
      otherCpuPercent,
    };
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}
