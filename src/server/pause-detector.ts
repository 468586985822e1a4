/**
 * Notices when the server itself stopped listening (the process was stopped with SIGSTOP, the host
 * suspended it, or the event loop was blocked) and tells the registry, which then does not hold
 * that time against any lease or heartbeat (see core/pause-ledger.ts). A timer ticks every half
 * threshold; a tick (or an eviction run, through `check`) that finds more than the threshold
 * missing since the last one, on the monotonic clock, records the gap (ending now on the registry's
 * clock) as a pause. A step of the wall clock (NTP) is not a pause.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';

export interface PauseDetectorDeps {
  /** The registry's clock: pauses are recorded in its time. */
  readonly clock: Clock;
  /** A monotonic clock in ms to measure gaps with. Default performance.now. */
  readonly monotonicMs?: () => number;
  readonly timers: Timers;
  readonly logger: Logger;
  /** A gap between ticks longer than this counts as a pause. */
  readonly thresholdMs: number;
  /** Receives each pause found. */
  readonly onPause: (fromMs: number, toMs: number) => void;
}

export class PauseDetector {
  private timer: unknown;
  private lastSeenMs = 0;
  private readonly tickMs: number;
  private readonly monotonicMs: () => number;
  /** Pauses found since start. */
  pauses = 0;

  constructor(private readonly deps: PauseDetectorDeps) {
    this.tickMs = Math.max(1, Math.floor(deps.thresholdMs / 2));
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastSeenMs = this.monotonicMs();
    this.schedule();
  }

  /** Idempotent. */
  stop(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Records the gap since the last tick as a pause if it is over the threshold. Cheap; call it before deciding on leases. */
  check(): void {
    if (this.timer === undefined) return;
    const now = this.monotonicMs();
    const expected = this.lastSeenMs + this.tickMs;
    const gap = now - expected;
    if (gap > this.deps.thresholdMs) {
      this.pauses++;
      this.deps.logger.warn({ pausedMs: Math.round(gap) }, 'the server was not running for a while (stopped or blocked); leases are not charged for it');
      const end = this.deps.clock.nowMs();
      this.deps.onPause(end - gap, end);
    }
    this.lastSeenMs = Math.max(this.lastSeenMs, now - this.tickMs);
  }

  private schedule(): void {
    this.timer = this.deps.timers.setTimeout(() => {
      this.check();
      this.lastSeenMs = this.monotonicMs();
      this.schedule();
    }, this.tickMs);
  }
}
