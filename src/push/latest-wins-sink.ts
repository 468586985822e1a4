/**
 * A bounded writer for one subscriber: at most `maxInFlight` messages handed to the transport and
 * not yet flushed, plus one pending message that the next newer one replaces. A subscriber that does
 * not read therefore costs a constant amount of memory, and receives the newest snapshot, not a
 * backlog, once it catches up (etcd moves slow watchers aside; nice-grpc awaits drain).
 */

/** Hands a message to the transport; `done` runs once it is flushed (or failed). */
export type WriteFn<T> = (message: T, done: (error?: Error | null) => void) => void;

export class LatestWinsSink<T> {
  private inFlight = 0;
  private pending: T | undefined;
  private closed = false;
  /** Messages replaced while pending: how far behind this subscriber fell. */
  skipped = 0;

  constructor(
    private readonly write: WriteFn<T>,
    private readonly maxInFlight = 1,
  ) {}

  /** Sends now if the transport has room, else keeps only this newest message. Never blocks. */
  offer(message: T): void {
    if (this.closed) return;
    if (this.inFlight < this.maxInFlight) {
      this.send(message);
    } else {
      if (this.pending !== undefined) this.skipped++;
      this.pending = message;
    }
  }

  /** Messages written but not yet flushed, plus the pending one. */
  get backlog(): number {
    return this.inFlight + (this.pending === undefined ? 0 : 1);
  }

  /** Whether a message waits for the transport to drain (the subscriber is behind). */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  /** Drops anything pending; later offers are ignored. Idempotent. */
  close(): void {
    this.closed = true;
    this.pending = undefined;
  }

  private send(message: T): void {
    this.inFlight++;
    this.write(message, () => {
      this.inFlight--;
      const next = this.pending;
      if (next !== undefined && !this.closed) {
        this.pending = undefined;
        this.send(next);
      }
    });
  }
}
