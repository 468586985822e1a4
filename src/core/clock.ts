/** A source of the current time. The core never reads time any other way. */
export interface Clock {
  /** Milliseconds since the Unix epoch. Never decreases within one process only if the host clock doesn't. */
  nowMs(): number;
}

/** The host's wall clock. Passed in by the shell; the core never defaults to it. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that moves only when told to: for tests and simulations of the core's rules. */
export class ManualClock implements Clock {
  constructor(private currentMs = 0) {}

  nowMs(): number {
    return this.currentMs;
  }

  /** Moves the clock forward by `ms` (which may be 0). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot go backwards');
    this.currentMs += ms;
  }

  /** Sets the clock to `ms`, backwards included (to test clock steps). */
  set(ms: number): void {
    this.currentMs = ms;
  }
}
