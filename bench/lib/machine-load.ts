/**
 * Whole-machine CPU use from /proc/stat (Linux). Other work on the machine (a build, a test run)
 * distorts a benchmark on 2 cores, so each run waits until the machine is quiet before it starts,
 * and reports how much CPU processes other than its own used during the measured phase.
 */
import { readFileSync } from 'node:fs';
import { sleep } from './wall-clock.js';

export interface MachineCpu {
  readonly atMs: number;
  /** Jiffies spent busy and in total, summed over all cores. */
  readonly busy: number;
  readonly total: number;
}

/** undefined where /proc/stat does not exist (not Linux). */
export function sampleMachineCpu(): MachineCpu | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { atMs: Date.now(), busy, total: busy + idle + iowait };
}

/** Machine CPU used between two samples, in % of one core (200 = both cores of a 2-core machine). */
export function machineBusyPercent(before: MachineCpu | undefined, after: MachineCpu | undefined, cores: number): number {
  if (before === undefined || after === undefined || after.total <= before.total) return Number.NaN;
  return ((after.busy - before.busy) / (after.total - before.total)) * cores * 100;
}

/**
 * Waits until the machine's CPU use over one second is below `maxPercent` of one core, for at most
 * `timeoutMs`. Returns the last reading (NaN where it cannot be measured).
 */
export async function waitForQuiet(cores: number, maxPercent = 20, timeoutMs = 60_000): Promise<{ busyPercent: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const a = sampleMachineCpu();
    await sleep(1000);
    const busyPercent = machineBusyPercent(a, sampleMachineCpu(), cores);
    if (Number.isNaN(busyPercent) || busyPercent <= maxPercent) return { busyPercent, waitedMs: Date.now() - started };
    if (Date.now() - started >= timeoutMs) {
      console.error(`machine still busy (${busyPercent.toFixed(0)} % of a core used by other processes); measuring anyway`);
      return { busyPercent, waitedMs: Date.now() - started };
    }
  }
}

/** Other processes' CPU above this (in % of one core) marks a run as disturbed in the reports. */
export const DISTURBED_PERCENT = 25;
