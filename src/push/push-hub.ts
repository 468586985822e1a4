/**
 * Fans registry changes out to subscribers. The merge window has a leading edge: a change to a
 * service that has not been pushed within the window is pushed on the next event-loop turn (so a
 * lone change waits for nothing), and the changes that follow within the window become one trailing
 * push when it closes (so a burst still merges). At flush time the service is viewed once per distinct filter (the registry memoises the
 * view per revision, and encoders cache bytes per view), and every target gets that same object.
 * Targets must not block: each owns a bounded sink. A large fan-out is delivered in slices across
 * event-loop turns, so HTTP/2 sends the first subscribers' bytes while the rest are queued and
 * other calls are served in between.
 *
 * Fairness under load: each service has at most one walk over its subscribers. A change during a
 * walk does not restart it (which would starve the end of the list) nor queue a second one (which
 * would write stale snapshots): the walk takes the newer views and goes on for one full cycle from
 * where it is, so every subscriber gets the newest view within one cycle, whatever its position.
 */
import type { ServiceChange, ServiceChangeListener } from '../core/registry.js';
import { filterKey } from '../core/service-view.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';
import type { Clock } from '../core/clock.js';
import type { ViewHistory } from './view-history.js';

/** One subscriber of one service through one filter. */
export interface PushTarget {
  readonly filter: ServiceFilter;
  /** Receives the service as seen through `filter`: once on subscription, then after changes. Must not block or throw. */
  deliver(view: ServiceView): void;
}

/** The part of the registry the hub needs. */
export interface ViewSource {
  query(ref: Partial<ServiceRef>, filter?: ServiceFilter): ServiceView;
  onServiceChanged(listener: ServiceChangeListener): () => void;
}

export interface PushHubDeps {
  readonly registry: ViewSource;
  readonly timers: Timers;
  readonly clock: Clock;
  /** Changes to a service within this window after a push become one push. 0 = flush on the next turn. */
  readonly mergeWindowMs: number;
  /** Remembers every view handed out, for subscribers that resume (optional). */
  readonly history?: Pick<ViewHistory, 'remember'>;
  /** Targets delivered per event-loop turn during a fan-out. */
  readonly fanOutSliceSize: number;
  readonly logger: Logger;
  /**
   * Told, once per finished walk, how long it took from the first change it carries to its hand-off
   * to the last target (ms; merge window included). Called on the push path: must be cheap, never throw.
   */
  readonly onPushed?: (latencyMs: number) => void;
  /** A monotonic clock in ms for those latencies. Default performance.now. */
  readonly monotonicMs?: () => number;
}

/** A walk over a topic's subscribers, delivering the newest view of each one's filter. */
interface Walk {
  /** [target, its filter key, the set it must still belong to]. */
  targets: (readonly [PushTarget, string, ReadonlySet<PushTarget>])[];
  views: Map<string, ServiceView>;
  /** Next index in `targets` (a ring). */
  pos: number;
  /** Deliveries left before the walk ends. */
  remaining: number;
  /** When the oldest change this walk carries happened (monotonic ms). */
  changedAtMs: number;
}

interface Topic {
  readonly ref: ServiceRef;
  /** Targets grouped by filter key, so each distinct filter is viewed once per flush. */
  readonly byFilter: Map<string, Set<PushTarget>>;
  timer: unknown;
  /** When the topic was last flushed (ms), for the leading edge of the merge window. */
  flushedAtMs: number;
  size: number;
  walk: Walk | undefined;
  /** When the oldest change not yet flushed happened (monotonic ms); NaN when none waits. */
  changedAtMs: number;
}

/** The timer handle of a flush queued for the next turn (it cannot be cancelled; the flush checks it). */
const IMMEDIATE: unique symbol = Symbol('immediate');

function topicKey(ref: ServiceRef): string {
  return `${ref.namespace}\u0000${ref.group}\u0000${ref.service}`;
}

export class PushHub {
  private readonly topics = new Map<string, Topic>();
  private readonly stopListening: () => void;
  private closed = false;
  /** Snapshots handed to targets since start (initial ones included). */
  delivered = 0;
  /** Changes that joined a push already waiting for its merge window or its turn (no push of their own). */
  merged = 0;
  private readonly monotonicMs: () => number;

  constructor(private readonly deps: PushHubDeps) {
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
    this.stopListening = deps.registry.onServiceChanged((c) => {
      this.onChange(c);
    });
  }

  /**
   * Subscribes `target` to a service; delivers the current view synchronously before returning, so
   * no change can fall between the first snapshot and the subscription. Throws the registry's
   * validation error for a bad address. Returns the unsubscribe function (idempotent).
   */
  subscribe(address: Partial<ServiceRef>, target: PushTarget): () => void {
    if (this.closed) throw new Error('push hub is closed');
    const view = this.deps.registry.query(address, target.filter);
    const ref: ServiceRef = { namespace: view.namespace, group: view.group, service: view.name };
    const key = topicKey(ref);
    let topic = this.topics.get(key);
    if (topic === undefined) {
      topic = { ref, byFilter: new Map(), timer: undefined, flushedAtMs: Number.NEGATIVE_INFINITY, size: 0, walk: undefined, changedAtMs: Number.NaN };
      this.topics.set(key, topic);
    }
    const fk = filterKey(target.filter);
    let group = topic.byFilter.get(fk);
    if (group === undefined) {
      group = new Set();
      topic.byFilter.set(fk, group);
    }
    group.add(target);
    topic.size++;
    this.delivered++;
    this.deps.history?.remember(view);
    target.deliver(view);
    let done = false;
    const t = topic;
    const g = group;
    return () => {
      if (done) return;
      done = true;
      g.delete(target);
      if (g.size === 0) t.byFilter.delete(fk);
      t.size--;
      if (t.size === 0) {
        this.cancelTimer(t);
        this.topics.delete(key);
      }
    };
  }

  /** Number of subscribed targets, and services with at least one. */
  stats(): { subscribers: number; services: number } {
    let subscribers = 0;
    for (const t of this.topics.values()) subscribers += t.size;
    return { subscribers, services: this.topics.size };
  }

  /** True when no push is waiting for its window or under way (every change so far has been delivered). */
  idle(): boolean {
    for (const t of this.topics.values()) if (t.timer !== undefined || t.walk !== undefined) return false;
    return true;
  }

  /** Stops listening and cancels pending flushes. Subscribers are left to their owners. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const t of this.topics.values()) this.cancelTimer(t);
    this.topics.clear();
  }

  private cancelTimer(topic: Topic): void {
    if (topic.timer !== undefined && topic.timer !== IMMEDIATE) this.deps.timers.clearTimeout(topic.timer);
    topic.timer = undefined;
  }

  private onChange(change: ServiceChange): void {
    const topic = this.topics.get(topicKey(change));
    if (topic === undefined) return;
    if (topic.timer !== undefined) {
      this.merged++;
      return;
    }
    topic.changedAtMs = this.monotonicMs();
    const flush = (): void => {
      topic.timer = undefined;
      topic.flushedAtMs = this.deps.clock.nowMs();
      this.flush(topic);
    };
    const sinceLast = this.deps.clock.nowMs() - topic.flushedAtMs;
    if (sinceLast >= this.deps.mergeWindowMs) {
      // Leading edge: nothing pushed within the window, so this change goes on the next turn (which
      // still merges the changes of this turn, e.g. one replicated batch).
      topic.timer = IMMEDIATE;
      this.deps.timers.setImmediate(() => {
        if (topic.timer === IMMEDIATE && this.topics.get(topicKey(topic.ref)) === topic) flush();
      });
    } else {
      topic.timer = this.deps.timers.setTimeout(flush, this.deps.mergeWindowMs - sinceLast);
    }
  }

  private flush(topic: Topic): void {
    const views = new Map<string, ServiceView>();
    const targets: Walk['targets'] = [];
    for (const [fk, group] of topic.byFilter) {
      const first = group.values().next();
      if (first.done === true) continue;
      try {
        const view = this.deps.registry.query(topic.ref, first.value.filter);
        this.deps.history?.remember(view);
        views.set(fk, view);
      } catch (e) {
        this.deps.logger.error({ err: e, service: topic.ref.service }, 'push: cannot view service');
        continue;
      }
      for (const target of group) targets.push([target, fk, group]);
    }
    const changedAtMs = topic.changedAtMs;
    topic.changedAtMs = Number.NaN;
    const walk = topic.walk;
    if (walk !== undefined) {
      // A walk is under way: it carries on from where it is with the newer views, for a full cycle.
      walk.targets = targets;
      walk.views = views;
      walk.pos = targets.length === 0 ? 0 : walk.pos % targets.length;
      walk.remaining = targets.length;
      return;
    }
    topic.walk = { targets, views, pos: 0, remaining: targets.length, changedAtMs };
    this.step(topic);
  }

  /** Delivers one slice of the topic's walk, then yields to the event loop before the next. */
  private step(topic: Topic): void {
    const walk = topic.walk;
    if (walk === undefined || this.closed) return;
    let n = Math.min(walk.remaining, this.deps.fanOutSliceSize);
    while (n > 0 && walk.targets.length > 0) {
      const entry = walk.targets[walk.pos];
      walk.pos = (walk.pos + 1) % walk.targets.length;
      walk.remaining--;
      n--;
      if (entry === undefined) continue;
      const [target, fk, group] = entry;
      const view = walk.views.get(fk);
      // Skip targets that unsubscribed since the walk began.
      if (view === undefined || !group.has(target)) continue;
      this.delivered++;
      target.deliver(view);
    }
    if (walk.remaining > 0 && walk.targets.length > 0) {
      this.deps.timers.setImmediate(() => {
        this.step(topic);
      });
    } else {
      topic.walk = undefined;
      const onPushed = this.deps.onPushed;
      // NaN: a walk with no change behind it (none today; kept out of the latencies all the same).
      if (onPushed !== undefined && walk.changedAtMs === walk.changedAtMs) onPushed(this.monotonicMs() - walk.changedAtMs);
    }
  }
}
