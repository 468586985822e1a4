/**
 * The timer capability of everything that waits (merge windows, fan-out slices, eviction, the
 * replication dispatcher, UDP retries), injectable so tests can drive time.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` on a later turn of the event loop, after pending I/O (Node's setImmediate). */
  setImmediate(fn: () => void): void;
}

/** Node's timers, unref'd: a pending merge window never keeps the process alive on its own. */
export const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
  setImmediate: (fn) => {
    setImmediate(fn);
  },
};
