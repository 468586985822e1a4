/**
 * A closed-loop load generator: `inFlight` workers, each issuing its next operation as soon as the
 * previous one settles, until a count or a duration is reached. Latency is measured per operation
 * on the client (issue to settle).
 */
export interface ClosedLoopOptions {
  readonly inFlight: number;
  /** Stop issuing after this many operations (counting from 0). */
  readonly total?: number;
  /** Stop issuing after this long. */
  readonly durationMs?: number;
  /** Operation `i` (a global, increasing index). */
  readonly op: (i: number) => Promise<unknown>;
}

export interface ClosedLoopResult {
  readonly completed: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedMs: number;
  /** Client-side latency of each completed operation, in milliseconds. */
  readonly latenciesMs: Float64Array;
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { inFlight, total = Number.POSITIVE_INFINITY, durationMs = Number.POSITIVE_INFINITY, op } = options;
  if (total === Number.POSITIVE_INFINITY && durationMs === Number.POSITIVE_INFINITY) throw new Error('give a total or a duration');
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() - started < durationMs) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { completed: latencies.length, errors, firstError, elapsedMs: performance.now() - started, latenciesMs: Float64Array.from(latencies) };
}
