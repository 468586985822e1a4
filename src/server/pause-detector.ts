/**
 * Notices when the server itself stopped listening (the process was stopped with SIGSTOP, the host
 * suspended it, or the event loop was blocked) and tells the registry, which then does not hold
 * that time against any lease or heartbeat (see core/pause-ledger.ts). A timer ticks every half
 * threshold; a tick (or an eviction run, through `check`) that finds more than the threshold
 * missing since the last one records the gap as a pause.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../push/timers.js';

export interface PauseDetectorDeps {
  readonly clock: Clock;
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
  /** Pauses found since start. */
  pauses = 0;

  constructor(private readonly deps: PauseDetectorDeps) {
    this.tickMs = Math.max(1, Math.floor(deps.thresholdMs / 2));
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastSeenMs = this.deps.clock.nowMs();
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
    const now = this.deps.clock.nowMs();
    const expected = this.lastSeenMs + this.tickMs;
    if (now - expected > this.deps.thresholdMs) {
      this.pauses++;
      this.deps.logger.warn({ pausedMs: now - expected }, 'the server was not running for a while (stopped or blocked); leases are not charged for it');
      this.deps.onPause(expected, now);
    }
    this.lastSeenMs = Math.max(this.lastSeenMs, now - this.tickMs);
  }

  private schedule(): void {
    this.timer = this.deps.timers.setTimeout(() => {
      this.check();
      this.lastSeenMs = this.deps.clock.nowMs();
      this.schedule();
    }, this.tickMs);
  }
}
