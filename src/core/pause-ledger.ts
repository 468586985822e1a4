/**
 * Times the server itself was not listening (the process was stopped, or its event loop blocked):
 * time that is not held against clients' leases. Eureka compensates only the one eviction run that
 * started late; herald subtracts every pause since an instance's last renewal from its lease age,
 * so renewals that were waiting in the sockets during a pause, or that peers replay after it, land
 * before any lease runs out because of it.
 */
export interface Pause {
  readonly fromMs: number;
  readonly toMs: number;
}

export class PauseLedger {
  private pauses: Pause[] = [];

  /** Records that nothing ran between `fromMs` and `toMs`. Pauses are recorded in time order. */
  record(fromMs: number, toMs: number): void {
    if (!(toMs > fromMs)) return;
    const last = this.pauses[this.pauses.length - 1];
    if (last !== undefined && fromMs <= last.toMs) {
      this.pauses[this.pauses.length - 1] = { fromMs: last.fromMs, toMs: Math.max(last.toMs, toMs) };
      return;
    }
    this.pauses.push({ fromMs, toMs });
  }

  /** Milliseconds of pause between `fromMs` and `toMs`. */
  pausedBetween(fromMs: number, toMs: number): number {
    let total = 0;
    for (let i = this.pauses.length - 1; i >= 0; i--) {
      const p = this.pauses[i] as Pause;
      if (p.toMs <= fromMs) break;
      total += Math.max(0, Math.min(p.toMs, toMs) - Math.max(p.fromMs, fromMs));
    }
    return total;
  }

  /** Forgets pauses that ended before `beforeMs` (no lease can still reach back to them). */
  prune(beforeMs: number): void {
    let i = 0;
    while (i < this.pauses.length && (this.pauses[i] as Pause).toMs < beforeMs) i++;
    if (i > 0) this.pauses = this.pauses.slice(i);
  }

  /** The pauses recorded, oldest first. */
  list(): readonly Pause[] {
    return this.pauses;
  }
}
