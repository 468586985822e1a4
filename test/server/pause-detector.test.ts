import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PauseDetector } from '../../src/server/pause-detector.js';
import { ManualTimers } from '../support/manual-timers.js';

function setup(): { timers: ManualTimers; pauses: [number, number][]; detector: PauseDetector; stop: (ms: number) => void } {
  const timers = new ManualTimers();
  timers.clock.set(1_000_000);
  const pauses: [number, number][] = [];
  const detector = new PauseDetector({
    clock: timers.clock,
    monotonicMs: () => timers.clock.nowMs(),
    timers,
    logger: silentLogger,
    thresholdMs: 1_000,
    onPause: (from, to) => pauses.push([from, to]),
  });
  // The process is stopped for `ms`: time passes and no timer runs.
  const stop = (ms: number): void => {
    timers.clock.set(timers.clock.nowMs() + ms);
  };
  return { timers, pauses, detector, stop };
}

describe('the pause detector', () => {
  it('records a stop longer than the threshold, ending now, and nothing for ticks on time', () => {
    const { timers, pauses, detector, stop } = setup();
    detector.start();
    timers.advance(10_000);
    expect(pauses).toEqual([]);
    stop(5_000);
    // The first thing to run after the stop (an eviction run) checks before judging leases.
    detector.check();
    expect(pauses).toHaveLength(1);
    const [from, to] = pauses[0] ?? [0, 0];
    expect(to).toBe(timers.clock.nowMs());
    expect(to - from).toBe(4_500); // the stop minus the half-threshold tick that was due anyway
    // The tick that was due during the stop runs next and does not count the same stop again.
    timers.advance(500);
    expect(pauses).toHaveLength(1);
    detector.stop();
    expect(timers.pending).toBe(0);
  });
});
