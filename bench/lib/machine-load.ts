/**
 * Who used the CPU during a measurement. Other work on the machine (a build, a test run) distorts a
 * benchmark on 2 cores, so each run waits until the machine is quiet before it starts, measures
 * the benchmark's own processes and the whole machine (/proc/stat, Linux) over its measured phase,
 * reports what processes other than its own used, and is repeated when that was too much.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sampleUsage, usageDelta, type ProcessUsage, type UsageDelta } from './process-usage.js';
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

export interface Disturbable {
  /** CPU used by processes other than the benchmark's during the measured phase, % of one core. */
  readonly otherCpuPercent: number;
}

/**
 * Runs one measurement on a quiet machine: waits for quiet first, and repeats a run during which
 * other processes used more than DISTURBED_PERCENT of a core (up to `attempts` times), keeping the
 * least disturbed one.
 */
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

/** A process of the benchmark whose CPU can be sampled (a server or a load process). */
export interface UsageSource {
  usage(): Promise<ProcessUsage>;
}

export interface MeasuredPhase<T, S extends readonly UsageSource[]> {
  readonly result: T;
  /** Each source's usage over the phase, in the order given. */
  readonly usage: { readonly [K in keyof S]: UsageDelta };
  /** This process's usage over the phase (the driver or the load generator). */
  readonly self: UsageDelta;
  /** CPU that processes other than the sources and this one used meanwhile, % of one core. */
  readonly otherCpuPercent: number;
}

/** Runs `body` and measures the CPU of `sources`, of this process and of the whole machine over it. */
export async function measurePhase<T, const S extends readonly UsageSource[]>(sources: S, cores: number, body: () => Promise<T>): Promise<MeasuredPhase<T, S>> {
  const before = await Promise.all(sources.map((s) => s.usage()));
  const machineBefore = sampleMachineCpu();
  const selfBefore = sampleUsage();
  const result = await body();
  const selfAfter = sampleUsage();
  const machineAfter = sampleMachineCpu();
  const after = await Promise.all(sources.map((s) => s.usage()));
  const usage = before.map((b, i) => usageDelta(b, after[i] ?? b));
  const self = usageDelta(selfBefore, selfAfter);
  const ours = usage.reduce((n, u) => n + u.cpuPercent, self.cpuPercent);
  // One delta per source, in order: the mapped tuple type of `sources`.
  return { result, usage: usage as { readonly [K in keyof S]: UsageDelta }, self, otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, machineAfter, cores) - ours) };
}
