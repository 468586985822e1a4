/**
 * Consul's blocking queries (`?index=N&wait=5s`) over the push hub: a read that names the index it
 * last saw is held until the index moves on or the wait runs out, then answered with the state as
 * it is. A service's index is its revision, delivered by the hub (so a waiting caller is answered
 * within the merge window of a change); the catalog's index is the newest revision of any service
 * of the namespace. Waiters are bounded (LIMIT_EXCEEDED, answered 429, beyond the bound), and each
 * is released by its answer, its timer or its caller's closed connection, whichever comes first.
 */
import { RegistryError } from '../../core/errors.js';
import type { ServiceRef } from '../../core/model.js';
import type { Registry } from '../../core/registry.js';
import type { Timers } from '../../common/timers.js';
import type { PushHub } from '../../push/push-hub.js';

export interface BlockingQueryDeps {
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly registry: Pick<Registry, 'onServiceChanged'>;
  readonly timers: Timers;
  /** Blocking queries held at once; more are refused with LIMIT_EXCEEDED. */
  readonly maxWaiters: number;
}

/** A Consul index from a revision: never 0 (the `consul` client treats 0 as an error). */
export function indexOf(revision: number): number {
  return Math.max(1, revision);
}

interface CatalogWaiter {
  readonly namespace: string;
  readonly release: () => void;
}

export class BlockingQueries {
  private waiting = 0;
  private readonly catalogWaiters = new Set<CatalogWaiter>();
  private readonly newest = new Map<string, number>();
  private readonly stopListening: () => void;

  constructor(private readonly deps: BlockingQueryDeps) {
    this.stopListening = deps.registry.onServiceChanged((c) => {
      this.newest.set(c.namespace, Math.max(this.newest.get(c.namespace) ?? 0, c.revision));
      for (const w of [...this.catalogWaiters]) if (w.namespace === c.namespace) w.release();
    });
  }

  /** Blocking queries held now. */
  get held(): number {
    return this.waiting;
  }

  /** The newest revision seen of any service of `namespace` since start, 0 if none. */
  newestRevision(namespace: string): number {
    return this.newest.get(namespace) ?? 0;
  }

  /**
   * Resolves once the service's index differs from `index`, after `waitMs`, or when `closed` fires,
   * whichever is first. Throws LIMIT_EXCEEDED when the bound is reached.
   */
  waitService(ref: ServiceRef, index: number, waitMs: number, closed: AbortSignal): Promise<void> {
    return this.hold(waitMs, closed, (release) =>
      this.deps.hub.subscribe(ref, {
        filter: {},
        deliver: (v) => {
          if (indexOf(v.revision) !== index) release();
        },
      }),
    );
  }

  /** Resolves once any service of the namespace changes (or `currentIndex()` already differs), after `waitMs`, or on `closed`. */
  waitCatalog(namespace: string, index: number, currentIndex: () => number, waitMs: number, closed: AbortSignal): Promise<void> {
    if (currentIndex() !== index) return Promise.resolve();
    return this.hold(waitMs, closed, (release) => {
      const w: CatalogWaiter = { namespace, release };
      this.catalogWaiters.add(w);
      return () => this.catalogWaiters.delete(w);
    });
  }

  /** Stops listening and releases every catalog waiter. Idempotent. */
  close(): void {
    this.stopListening();
    for (const w of [...this.catalogWaiters]) w.release();
  }

  private hold(waitMs: number, closed: AbortSignal, watch: (release: () => void) => () => unknown): Promise<void> {
    if (closed.aborted) return Promise.resolve();
    if (this.waiting >= this.deps.maxWaiters) throw RegistryError.limit(`too many blocking queries (${this.deps.maxWaiters}); retry later`);
    this.waiting++;
    return new Promise<void>((resolve, reject) => {
      const state: { done: boolean; unwatch: (() => unknown) | undefined } = { done: false, unwatch: undefined };
      const release = (error?: Error): void => {
        if (state.done) return;
        state.done = true;
        this.waiting--;
        this.deps.timers.clearTimeout(timer);
        closed.removeEventListener('abort', onAbort);
        state.unwatch?.();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => {
        release();
      };
      closed.addEventListener('abort', onAbort);
      const timer = this.deps.timers.setTimeout(onAbort, waitMs);
      // The hub delivers the current view synchronously: a change already made releases at once.
      let stop: () => unknown;
      try {
        stop = watch(onAbort);
      } catch (e) {
        // A bad address (the hub validates it): free the place now and reject with the error.
        release(e instanceof Error ? e : new Error('invalid service address'));
        return;
      }
      if (state.done) stop();
      else state.unwatch = stop;
    });
  }
}
