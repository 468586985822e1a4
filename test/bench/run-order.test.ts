/** The order repeatRuns measures scenarios in: all runs of each in turn, or interleaved rounds. */
import { describe, expect, it } from 'vitest';
import { runOrder } from '../../bench/lib/runs.js';

const names = (o: { scenario: string; run: number }[]): string[] => o.map((x) => `${x.scenario}${x.run}`);

describe('runOrder', () => {
  it('runs every run of a scenario before the next by default', () => {
    expect(names(runOrder(['a', 'b'], 2, false))).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('interleaves rounds, each starting one scenario further on', () => {
    expect(names(runOrder(['a', 'b', 'c', 'd'], 3, true))).toEqual(['a1', 'b1', 'c1', 'd1', 'b2', 'c2', 'd2', 'a2', 'c3', 'd3', 'a3', 'b3']);
  });
});
