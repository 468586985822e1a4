/**
 * Per-change accounting over the subscribers (or UDP targets) of one load process. Changes are
 * numbered; only those in [firstMeasured, lastMeasured] count. For each subscriber and each
 * measured change:
 *
 * - received: a snapshot carried exactly that change; its latency is receipt time minus issue time;
 * - skipped: the subscriber's next snapshot already carried a later change (latest-wins skipping,
 *   or two changes merged into one push); counted, not timed;
 * - missing: nothing at or after that change arrived before the run ended.
 *
 * So received + skipped + missing = measured changes × subscribers.
 */
import { sleep } from '../wall-clock.js';

export interface TallyResult {
  /** Subscribers tallied (UDP targets, in the UDP benchmark). */
  readonly subscribers: number;
  readonly received: number;
  readonly skipped: number;
  readonly missing: number;
  /** Snapshots whose change number went backwards (should never happen). */
  readonly regressions: number;
  readonly latenciesMs: Float64Array;
  /** The change number of each latency sample (same order), for per-change analysis. */
  readonly latencySeqs: Int32Array;
  /** The subscriber of each latency sample (same order), for per-position analysis. */
  readonly latencySubs: Int32Array;
}

export class SubscriberTally {
  private readonly last: Int32Array;
  private readonly latencies: number[] = [];
  private readonly seqs: number[] = [];
  private readonly subs: number[] = [];
  private received = 0;
  private skipped = 0;
  private regressions = 0;

  constructor(
    subscribers: number,
    private readonly firstMeasured: number,
    private readonly lastMeasured: number,
  ) {
    this.last = new Int32Array(subscribers).fill(-1);
  }

  /** Waits (polling, up to `timeoutMs`) until every subscriber has seen change `seq`. */
  async caughtUp(seq: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const behind = (): boolean => this.last.some((seen) => seen < seq);
    while (behind() && performance.now() < deadline) await sleep(10);
  }

  /** The change number subscriber `sub` has seen last (-1 before its first snapshot). */
  lastSeen(sub: number): number {
    return this.last[sub] ?? -1;
  }

  /** Subscriber `sub` received the snapshot carrying change `seq` (issued at `issuedAtMs`) at `nowMs`. */
  observe(sub: number, seq: number, issuedAtMs: number, nowMs: number): void {
    const prev = this.last[sub] ?? -1;
    if (prev < 0) {
      this.last[sub] = seq; // the initial snapshot: nothing to time
      return;
    }
    if (seq <= prev) {
      if (seq < prev) this.regressions++;
      return;
    }
    this.skipped += this.measuredBetween(prev + 1, seq - 1);
    if (seq >= this.firstMeasured && seq <= this.lastMeasured) {
      this.received++;
      this.latencies.push(nowMs - issuedAtMs);
      this.seqs.push(seq);
      this.subs.push(sub);
    }
    this.last[sub] = seq;
  }

  finish(): TallyResult {
    let missing = 0;
    for (const seen of this.last) missing += this.measuredBetween(Math.max(seen, 0) + 1, this.lastMeasured);
    return { subscribers: this.last.length, received: this.received, skipped: this.skipped, missing, regressions: this.regressions, latenciesMs: Float64Array.from(this.latencies), latencySeqs: Int32Array.from(this.seqs), latencySubs: Int32Array.from(this.subs) };
  }

  /** How many change numbers in [from, to] are measured ones. */
  private measuredBetween(from: number, to: number): number {
    return Math.max(0, Math.min(to, this.lastMeasured) - Math.max(from, this.firstMeasured) + 1);
  }
}
