/**
 * The recently-changed queue behind delta fetches: changes in time order, each dropped once older
 * than the retention window (default 3 minutes). Records are shared, not copied.
 */
import type { InstanceChange } from './model.js';

export class RecentChanges {
  private items: InstanceChange[] = [];
  private head = 0;

  constructor(private readonly retentionMs: number) {}

  /** Appends a change (callers append in time order) and drops what has aged out. */
  add(change: InstanceChange): void {
    this.items.push(change);
    this.prune(change.changedAt);
  }

  /** Changes within the retention window ending at `nowMs`, oldest first. */
  since(nowMs: number): InstanceChange[] {
    this.prune(nowMs);
    return this.items.slice(this.head);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.retentionMs;
    while (this.head < this.items.length && (this.items[this.head] as InstanceChange).changedAt < oldest) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
