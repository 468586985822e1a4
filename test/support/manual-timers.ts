/** Timers driven by a test: `advance(ms)` moves the clock and runs every timer that falls due, in order. */
import { ManualClock } from '../../src/core/clock.js';
import type { Timers } from '../../src/common/timers.js';

export class ManualTimers implements Timers {
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(readonly clock: ManualClock = new ManualClock(0)) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.clock.nowMs() + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Runs at the current time, at the next advance (advance(0) included). */
  setImmediate(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.due.size;
  }

  /** Moves time forward by `ms`, running each timer at its due time (timers they set included). */
  advance(ms: number): void {
    const end = this.clock.nowMs() + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.due) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (next === undefined) break;
      this.due.delete(next[0]);
      this.clock.set(Math.max(this.clock.nowMs(), next[1].at));
      next[1].fn();
    }
    this.clock.set(end);
  }
}
