/**
 * Eureka's batching dispatcher, for one peer. Tasks are keyed (`action/service/instance`); a later
 * task with the same key replaces the waiting one and moves to the back, so the order of different
 * keys is kept (a register, then a cancel, then a register again arrive in that order). Batches
 * hold at most `maxBatchSize` tasks and go out `batchDelayMs` after the first task waits (so bursts
 * merge); one batch is in flight at a time. A failed batch goes back to the front (minus tasks a
 * newer one replaced) and is retried with exponential back-off; tasks older than `taskExpiryMs`
 * are dropped; the queue holds at most `maxQueueSize` tasks, dropping the oldest. `offer` is O(1)
 * and never waits: a dead peer costs a bounded queue, never a slower write.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';

export interface DispatcherOptions {
  readonly maxBatchSize: number;
  readonly batchDelayMs: number;
  readonly taskExpiryMs: number;
  readonly maxQueueSize: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = Object.freeze({
  maxBatchSize: 250,
  batchDelayMs: 5,
  taskExpiryMs: 30_000,
  maxQueueSize: 10_000,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
});

interface Queued<T> {
  readonly key: string;
  readonly payload: T;
  readonly expiresAt: number;
}

export interface DispatcherStats {
  /** Tasks waiting. */
  readonly queueDepth: number;
  readonly inFlight: number;
  /** Tasks delivered (in batches that succeeded). */
  readonly delivered: number;
  /** Tasks dropped: expired, or pushed out of a full queue. */
  readonly dropped: number;
  /** Batches that failed. */
  readonly failures: number;
  readonly lastSuccessAt: number;
  readonly lastError: string;
  /** 'up' after a success, 'down' after a failure, 'unknown' before either. */
  readonly state: 'up' | 'down' | 'unknown';
}

export interface DispatcherDeps<T> {
  /** Sends one batch; resolves when the peer applied it. */
  readonly send: (batch: readonly T[]) => Promise<void>;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly options: DispatcherOptions;
  /** Called when the peer goes from up (or unknown) to down, and back. */
  readonly onStateChange?: (state: 'up' | 'down', error?: string) => void;
}

export class BatchingDispatcher<T> {
  private queue = new Map<string, Queued<T>>();
  private inFlight: Queued<T>[] = [];
  private timer: unknown;
  private failuresInRow = 0;
  private closed = false;
  private counters = { delivered: 0, dropped: 0, failures: 0, lastSuccessAt: 0, lastError: '' };
  private state: 'up' | 'down' | 'unknown' = 'unknown';
  /**
   * What other calls to the peer last found (observed()): shown while no batch has said more.
   * Kept apart from `state`, whose changes (and their log lines) are replication's own.
   */
  private seen: { state: 'up' | 'down'; error: string } | undefined;

  constructor(private readonly deps: DispatcherDeps<T>) {}

  /** Queues a task; replaces a waiting task with the same key. Never blocks. */
  offer(key: string, payload: T): void {
    if (this.closed) return;
    const { options, clock } = this.deps;
    this.queue.delete(key);
    this.queue.set(key, { key, payload, expiresAt: clock.nowMs() + options.taskExpiryMs });
    while (this.queue.size > options.maxQueueSize) {
      const oldest = this.queue.keys().next();
      if (oldest.done === true) break;
      this.queue.delete(oldest.value);
      this.counters.dropped++;
    }
    this.schedule(options.batchDelayMs);
  }

  stats(): DispatcherStats {
    const { seen } = this;
    if (this.state === 'unknown' && seen !== undefined) {
      return { queueDepth: this.queue.size, inFlight: this.inFlight.length, ...this.counters, state: seen.state, lastError: this.counters.lastError || seen.error };
    }
    return { queueDepth: this.queue.size, inFlight: this.inFlight.length, state: this.state, ...this.counters };
  }

  /**
   * The peer was heard from (it called this node): if a retry is waiting out its back-off, send now
   * instead, so replication resumes as soon as a partition heals, not up to retryMaxMs later.
   */
  retryNow(): void {
    if (this.closed || this.state !== 'down' || this.inFlight.length > 0 || this.timer === undefined) return;
    this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.failuresInRow = 0;
    this.schedule(0);
  }

  /**
   * Another call to the peer (start-up sync, anti-entropy) reached it or not: its state says so
   * too, so a peer that nothing has been replicated to yet shows up or down rather than unknown.
   * Reached while down: a retry waiting out its back-off goes now.
   */
  observed(reached: boolean, error?: string): void {
    if (this.closed) return;
    this.seen = reached ? { state: 'up', error: '' } : { state: 'down', error: error ?? '' };
    if (reached) this.retryNow();
  }

  /** Drops everything waiting and stops. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.timer !== undefined || this.inFlight.length > 0 || this.queue.size === 0) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private takeBatch(): Queued<T>[] {
    const now = this.deps.clock.nowMs();
    const batch: Queued<T>[] = [];
    for (const [key, task] of this.queue) {
      this.queue.delete(key);
      if (task.expiresAt <= now) {
        this.counters.dropped++;
        continue;
      }
      batch.push(task);
      if (batch.length >= this.deps.options.maxBatchSize) break;
    }
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.closed) return;
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.inFlight = batch;
    try {
      await this.deps.send(batch.map((t) => t.payload));
      this.inFlight = [];
      this.failuresInRow = 0;
      this.counters.delivered += batch.length;
      this.counters.lastSuccessAt = this.deps.clock.nowMs();
      this.setState('up');
      this.schedule(0);
    } catch (e) {
      this.inFlight = [];
      this.failuresInRow++;
      this.counters.failures++;
      this.counters.lastError = e instanceof Error ? e.message : String(e);
      this.setState('down', this.counters.lastError);
      if (this.isClosed()) return; // closed while the batch was in flight
      // Back to the front, unless a newer task with the same key is already waiting.
      const retry = new Map<string, Queued<T>>();
      for (const t of batch) if (!this.queue.has(t.key)) retry.set(t.key, t);
      for (const [k, t] of this.queue) retry.set(k, t);
      this.queue = retry;
      while (this.queue.size > this.deps.options.maxQueueSize) {
        const oldest = this.queue.keys().next();
        if (oldest.done === true) break;
        this.queue.delete(oldest.value);
        this.counters.dropped++;
      }
      const { retryBaseMs, retryMaxMs } = this.deps.options;
      this.schedule(Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failuresInRow - 1, 20)));
    }
  }

  private setState(state: 'up' | 'down', error?: string): void {
    if (this.state === state) return;
    this.state = state;
    this.deps.onStateChange?.(state, error);
  }
}
