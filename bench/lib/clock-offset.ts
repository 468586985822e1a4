/**
 * How far another process's wall clock (performance.timeOrigin + now()) is from ours. Cross-process
 * latencies rely on it being ~0; this measures it instead of assuming it. Each probe asks the other
 * process for its clock; the estimate is from the probe with the shortest round trip, whose midpoint
 * is closest to the moment the other process read its clock.
 */
import { wallNowMs } from './wall-clock.js';

export interface ClockOffset {
  /** Their clock minus ours, in ms. */
  readonly offsetMs: number;
  /** Round trip of the probe the estimate comes from; the offset is exact to within half of it. */
  readonly rttMs: number;
}

export async function estimateClockOffset(readTheirClock: () => Promise<number>, probes = 15): Promise<ClockOffset> {
  let best: ClockOffset = { offsetMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < probes; i++) {
    const sent = wallNowMs();
    const theirs = await readTheirClock();
    const back = wallNowMs();
    const rttMs = back - sent;
    if (rttMs < best.rttMs) best = { offsetMs: theirs - (sent + back) / 2, rttMs };
  }
  return best;
}
