/**
 * How a transport acknowledges a write only once it is durable. Registry calls are synchronous and
 * hand their store writes over in the same call, so a transport compares `issued` before and after
 * the call: unchanged means the call wrote nothing durable (every ephemeral write) and it answers
 * at once; otherwise it answers once `durable(issued)` resolves.
 */
export interface WriteBarrier {
  /** Writes handed to the store so far: a ticket number that only grows. */
  readonly issued: number;
  /**
   * Resolves once every write up to `ticket` is on disk (committed and fsync'd); rejects with a
   * StoreError when the store could not write it. Writes are committed in order.
   */
  durable(ticket: number): Promise<void>;
}

/** No store (everything in memory): nothing to wait for. */
export const NO_BARRIER: WriteBarrier = Object.freeze({ issued: 0, durable: () => Promise.resolve() });

/**
 * Runs a synchronous registry call and returns its result, as a promise that settles once what it
 * wrote is durable when it wrote anything to the store; else the result itself.
 */
export function whenDurable<T>(barrier: WriteBarrier, fn: () => T): T | Promise<T> {
  const before = barrier.issued;
  const result = fn();
  const after = barrier.issued;
  if (after === before) return result;
  return barrier.durable(after).then(() => result);
}
