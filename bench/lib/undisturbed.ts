/**
 * Runs one measurement on a quiet machine: waits for quiet first, and repeats a run during which
 * other processes used more than DISTURBED_PERCENT of a core (up to `attempts` times), keeping the
 * least disturbed one.
 */
import os from 'node:os';
import { DISTURBED_PERCENT, waitForQuiet } from './machine-load.js';

export interface Disturbable {
  /** CPU used by processes other than the benchmark's during the measured phase, % of one core. */
  readonly otherCpuPercent: number;
}

export async function undisturbed<T extends Disturbable>(label: string, attempt: () => Promise<T>, attempts = 3): Promise<T> {
  let best: T | undefined;
  for (let i = 1; i <= attempts; i++) {
    await waitForQuiet(os.availableParallelism());
    const r = await attempt();
    if (best === undefined || !(r.otherCpuPercent >= best.otherCpuPercent)) best = r;
    if (!(r.otherCpuPercent > DISTURBED_PERCENT)) return r;
    console.error(`${label}: other processes used ${r.otherCpuPercent.toFixed(0)} % of a core meanwhile; ${i < attempts ? 'repeating' : 'keeping the least disturbed attempt'}`);
  }
  if (best === undefined) throw new Error('no attempt');
  return best;
}
