/**
 * The memory row on one system, on a fresh server: RSS (and for herald the V8 heap in use; for etcd
 * anonymous and file-backed RSS) before and after registering `instances` instances over `services`
 * services, `inFlight` at a time over `connections` clients, with no forced collection: what the
 * server's process holds, as an operator's monitoring sees it. Per instance = growth / instances.
 *
 * Both samples are taken once the server's memory has settled by itself (bench/lib/memory-settle.ts:
 * herald after V8's memory reducer has run; etcd once its RSS is steady), at most `settleMaxMs`
 * each; the first sample after the last registration is reported too ("at load end"), before
 * either runtime has collected the garbage of the burst.
 */
import { runClosedLoop } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import { spread } from '../lib/workload.js';
import { at, type ServerMemory, type System } from './systems.js';

export interface MemorySettings {
  readonly instances: number;
  readonly services: number;
  readonly inFlight: number;
  readonly connections: number;
  /** Longest wait for a server's memory to settle, before and after the load, ms. */
  readonly settleMaxMs: number;
  readonly cores: number;
}

export type MemoryFigures = {
  readonly rssPerInstanceBytes: number;
  readonly heapUsedPerInstanceBytes: number;
  readonly anonPerInstanceBytes: number;
  readonly filePerInstanceBytes: number;
  /** RSS per instance in the first sample after the load, before collections. */
  readonly rssAtLoadEndPerInstanceBytes: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  /** How long the loaded server took to settle, s; 1 when it did within the limit, 0 when not. */
  readonly settleSeconds: number;
  readonly settled: number;
  readonly registrationsPerSecond: number;
  readonly errors: number;
  readonly otherCpuPercent: number;
};

const MIB = 1024 * 1024;

export async function memoryRow(system: System, s: MemorySettings): Promise<MemoryFigures> {
  const server = await system.start();
  const clients = Array.from({ length: s.connections }, () => system.client(server.address));
  try {
    const empty = await server.settledMemory(s.settleMaxMs);
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
    const atLoadEnd = await server.memory();
    const loaded = await server.settledMemory(s.settleMaxMs);
    if (!loaded.settled || !empty.settled) console.error(`${system.name} memory: NOT SETTLED within ${String(s.settleMaxMs / 1000)} s (${loaded.settled ? 'empty' : 'loaded'})`);
    const before = empty.sample;
    const after = loaded.sample;
    const per = (a: number, b: number): number => (a - b) / r.completed;
    const perOf = (key: keyof ServerMemory): number => per(after[key], before[key]);
    return {
      rssPerInstanceBytes: perOf('rssBytes'),
      heapUsedPerInstanceBytes: perOf('heapUsedBytes'),
      anonPerInstanceBytes: perOf('anonBytes'),
      filePerInstanceBytes: perOf('fileBytes'),
      rssAtLoadEndPerInstanceBytes: per(atLoadEnd.rssBytes, before.rssBytes),
      rssBeforeMiB: before.rssBytes / MIB,
      rssAfterMiB: after.rssBytes / MIB,
      settleSeconds: loaded.waitedMs / 1000,
      settled: loaded.settled && empty.settled ? 1 : 0,
      registrationsPerSecond: (r.completed / r.elapsedMs) * 1000,
      errors: r.errors,
      otherCpuPercent,
    };
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}
