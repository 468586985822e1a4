/**
 * One update task per key (Nacos's futureMap of UpdateTasks): the poll fallback. Each run pulls the
 * key only if no push refreshed it since the previous run (its lastRefTime did not move), then
 * reschedules after the snapshot's cache_millis (within the poll bounds), backing off on errors.
 */
import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { Logger } from '../common/logger.js';
import type { ServiceCache } from './service-cache.js';

export interface UpdateTaskDeps {
  readonly scheduler: SchedulerLike;
  readonly cache: ServiceCache;
  /** Pulls the key into the cache (shares an in-flight pull). */
  readonly fetch: (key: string) => Observable<unknown>;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly logger: Logger;
  /**
   * Pull even after a push (UDP mode): the pull is what keeps the client a push target, as Nacos's
   * refreshOnly does. The result still goes through the cache's ordering rules.
   */
  readonly pullAfterPush?: boolean;
}

class UpdateTask {
  /**
   * lastRefTime seen at the previous run. At creation it is the entry's (or -1 with none), so a
   * snapshot that arrives between creation and the first run counts as a refresh.
   */
  private lastRefTime = -1;
  private failures = 0;
  private timer: Subscription | undefined;
  private pull: Subscription | undefined;
  /** Runs done, and pulls made (for tests and stats). */
  runs = 0;
  pulls = 0;

  constructor(
    private readonly key: string,
    private readonly deps: UpdateTaskDeps,
  ) {
    const entry = deps.cache.get(key);
    if (entry !== undefined && entry.source !== 'disk') this.lastRefTime = entry.snapshot.lastRefTime;
    this.schedule(this.interval(entry?.snapshot.cacheMillis));
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.pull?.unsubscribe();
  }

  private interval(cacheMillis: number | undefined): number {
    const { minIntervalMs, maxIntervalMs } = this.deps;
    return Math.min(maxIntervalMs, Math.max(minIntervalMs, cacheMillis ?? minIntervalMs));
  }

  private schedule(delayMs: number): void {
    this.timer = this.deps.scheduler.schedule(() => {
      this.run();
    }, delayMs);
  }

  private run(): void {
    this.runs++;
    const entry = this.deps.cache.get(this.key);
    const pushedSinceLastRun = entry !== undefined && entry.source !== 'disk' && entry.snapshot.lastRefTime > this.lastRefTime;
    if (pushedSinceLastRun && this.deps.pullAfterPush !== true) {
      // A push refreshed the key: pulling now could only fetch the same or older data.
      this.done(false);
      return;
    }
    this.pulls++;
    this.pull = this.deps.fetch(this.key).subscribe({
      complete: () => {
        this.done(false);
      },
      error: (e: unknown) => {
        this.deps.logger.debug({ key: this.key, error: String(e) }, 'poll failed');
        this.done(true);
      },
    });
  }

  private done(failed: boolean): void {
    const entry = this.deps.cache.get(this.key);
    if (entry !== undefined) this.lastRefTime = entry.snapshot.lastRefTime;
    if (failed) {
      this.failures++;
      this.schedule(Math.min(this.deps.maxIntervalMs, this.deps.minIntervalMs * 2 ** Math.min(this.failures, 20)));
    } else {
      this.failures = 0;
      this.schedule(this.interval(entry?.snapshot.cacheMillis));
    }
  }
}

export class UpdateTasks {
  private readonly tasks = new Map<string, UpdateTask>();

  constructor(private readonly deps: UpdateTaskDeps) {}

  /** Starts the key's task unless it already has one. */
  ensure(key: string): void {
    if (!this.tasks.has(key)) this.tasks.set(key, new UpdateTask(key, this.deps));
  }

  stop(key: string): void {
    this.tasks.get(key)?.stop();
    this.tasks.delete(key);
  }

  has(key: string): boolean {
    return this.tasks.has(key);
  }

  /** Runs and pulls of a key's task, for tests and stats. */
  counters(key: string): { runs: number; pulls: number } | undefined {
    const t = this.tasks.get(key);
    return t === undefined ? undefined : { runs: t.runs, pulls: t.pulls };
  }

  get size(): number {
    return this.tasks.size;
  }

  close(): void {
    for (const t of this.tasks.values()) t.stop();
    this.tasks.clear();
  }
}
