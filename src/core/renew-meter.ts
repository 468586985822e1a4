/**
 * Counts renewals over the trailing minute in one-second buckets (Eureka's MeasuredRate, but sliding
 * instead of reset once a minute, so the count never drops to 0 just because a bucket rolled over).
 * Memory is constant: 60 counters.
 */
const BUCKETS = 60;
const BUCKET_MS = 1_000;

export class RenewMeter {
  private readonly counts = new Float64Array(BUCKETS);
  private readonly seconds = new Float64Array(BUCKETS).fill(-1);

  /** Records `n` renewals at `nowMs`. */
  record(nowMs: number, n = 1): void {
    const sec = Math.floor(nowMs / BUCKET_MS);
    const i = ((sec % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + n;
  }

  /** Renewals recorded in the minute ending at `nowMs` (the current second included). */
  lastMinute(nowMs: number): number {
    const sec = Math.floor(nowMs / BUCKET_MS);
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const s = this.seconds[i] ?? -1;
      if (s > sec - BUCKETS && s <= sec) total += this.counts[i] ?? 0;
    }
    return total;
  }
}
