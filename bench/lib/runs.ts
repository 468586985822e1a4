/**
 * The run loop every benchmark shares: each scenario is run `runs` times, each run on a fresh
 * server and a quiet machine (machine-load.ts `undisturbed`), with one line printed per run; the
 * tables then report the median of each figure over a scenario's runs.
 */
import { undisturbed, type Disturbable } from './machine-load.js';
import { median } from './stats.js';

export interface RepeatOptions<S, R> {
  readonly scenarios: readonly S[];
  readonly runs: number;
  /** The scenario as the run lines name it (`N=1000, 10/s`); "" for a benchmark with one scenario. */
  readonly label: (scenario: S) => string;
  readonly once: (scenario: S, run: number) => Promise<R>;
  /**
   * What the run's line says after `<label> run <n>: `; or several lines (for a run of several
   * phases), each printed after `<label> run <n>, `.
   */
  readonly line: (result: R) => string | readonly string[];
}

/** Runs every scenario `runs` times in order, repeating disturbed runs; returns every run. */
export async function repeatRuns<S, R extends Disturbable>(o: RepeatOptions<S, R>): Promise<R[]> {
  const all: R[] = [];
  for (const scenario of o.scenarios) {
    for (let run = 1; run <= o.runs; run++) {
      const name = `${o.label(scenario)} run ${run}`.trim();
      const r = await undisturbed(name, () => o.once(scenario, run));
      all.push(r);
      const line = o.line(r);
      if (typeof line === 'string') console.log(`${name}: ${line}`);
      else for (const l of line) console.log(`${name}, ${l}`);
    }
  }
  console.log('');
  return all;
}

/** The median over `runs` of each figure `pick` names: `medians(rs, { p50Ms: (r) => r.p50 })`. */
export function medians<R, K extends string>(runs: readonly R[], pick: Readonly<Record<K, (run: R) => number>>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of Object.keys(pick) as K[]) out[key] = median(runs.map(pick[key]));
  return out;
}

/** The smallest and largest value of a figure over runs. */
export function range<R>(runs: readonly R[], pick: (run: R) => number): [number, number] {
  const values = runs.map(pick);
  return [Math.min(...values), Math.max(...values)];
}
