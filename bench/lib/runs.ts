/**
 * The run loop every benchmark shares: each scenario is run `runs` times (all of one scenario's
 * runs in a row, or interleaved round by round), each run on a fresh server and a quiet machine
 * (machine-load.ts `undisturbed`), with one line printed per run; the tables then report the
 * median of each figure over a scenario's runs.
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
  /**
   * Run 1 of every scenario, then run 2 of every scenario, …, each round starting one scenario
   * further on (1 2 3 4, 2 3 4 1, …), so drift of the machine over the benchmark falls on every
   * scenario alike and scenarios compared within a round are measured minutes apart, not tens of
   * minutes. Default: every run of a scenario before the next scenario.
   */
  readonly interleave?: boolean;
}

/** The (scenario, run) pairs in the order they are run. */
export function runOrder<S>(scenarios: readonly S[], runs: number, interleave: boolean): { scenario: S; run: number }[] {
  const order: { scenario: S; run: number }[] = [];
  if (!interleave) {
    for (const scenario of scenarios) for (let run = 1; run <= runs; run++) order.push({ scenario, run });
    return order;
  }
  for (let run = 1; run <= runs; run++) {
    for (let i = 0; i < scenarios.length; i++) {
      const scenario = scenarios[(i + run - 1) % scenarios.length];
      if (scenario !== undefined) order.push({ scenario, run });
    }
  }
  return order;
}

/** Runs every scenario `runs` times (in `runOrder`), repeating disturbed runs; returns every run. */
export async function repeatRuns<S, R extends Disturbable>(o: RepeatOptions<S, R>): Promise<R[]> {
  const all: R[] = [];
  for (const { scenario, run } of runOrder(o.scenarios, o.runs, o.interleave === true)) {
    const name = `${o.label(scenario)} run ${run}`.trim();
    const r = await undisturbed(name, () => o.once(scenario, run));
    all.push(r);
    const line = o.line(r);
    if (typeof line === 'string') console.log(`${name}: ${line}`);
    else for (const l of line) console.log(`${name}, ${l}`);
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
