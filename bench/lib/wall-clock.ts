/**
 * A wall-clock timestamp with sub-millisecond resolution that processes on one machine can compare:
 * every process's `performance.timeOrigin` is Unix time, so `timeOrigin + now()` is too.
 */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}
