/** Starting and driving the subscriber-memory load processes (load-main.ts). */
import { ChildHandle } from '../lib/child-handle.js';
import type { HeraldServeProcess } from '../lib/herald-serve-process.js';
import { sleep } from '../lib/wall-clock.js';
import type { Sampled } from './phase-load.js';
import type { LoadCommands, LoadStatus, OpenConfig } from './load-commands.js';

export type LoadProc = ChildHandle<LoadCommands>;

/** The usage samplers of a server and its load processes, for PhaseMeter. */
export function usageOf(server: HeraldServeProcess, loads: readonly LoadProc[]): [Sampled, Sampled[]] {
  return [() => server.usage(), loads.map((l) => () => l.request('usage', undefined))];
}

export function spawnLoads(count: number, name: string): Promise<LoadProc[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => ChildHandle.spawn<LoadCommands>({ name: `${name} ${i + 1}`, script: new URL('./load-main.ts', import.meta.url) })));
}

/** Opens `config.streams` streams in each process; throws if any failed to get its first message. */
export async function openAll(loads: readonly LoadProc[], config: OpenConfig): Promise<{ openMs: number; statuses: LoadStatus[] }> {
  const started = performance.now();
  const statuses = await Promise.all(loads.map((l) => l.request('open', config)));
  for (const s of statuses) {
    if (s.subscribed !== config.streams) {
      throw new Error(`only ${s.subscribed} of ${config.streams} streams subscribed (ended: ${JSON.stringify(s.ended)}; first error: ${s.firstError ?? '-'})`);
    }
  }
  return { openMs: performance.now() - started, statuses };
}

/** Waits until the server counts at most `target` subscribers; resolves with the time it took (NaN on timeout). */
export async function waitForSubscribers(server: HeraldServeProcess, target: number, timeoutMs: number, pollMs = 250): Promise<{ ms: number; subscribers: number }> {
  const started = performance.now();
  for (;;) {
    const { subscribeCount } = await server.metrics();
    if (subscribeCount <= target) return { ms: performance.now() - started, subscribers: subscribeCount };
    if (performance.now() - started > timeoutMs) return { ms: Number.NaN, subscribers: subscribeCount };
    await sleep(pollMs);
  }
}
