/**
 * Eureka's eviction task: every interval, the registry decides what to evict (expired leases, a
 * bounded random sample, nothing under self-preservation) and this loop applies it; each eviction
 * is a local removal that pushes through the registry's change listeners and is not replicated.
 * Time the server was paused is not held against leases (PauseDetector, checked before each run).
 * It logs self-preservation changes and keeps the last run for `herald status`.
 */
import type { Clock } from '../core/clock.js';
import type { EvictionPlan, Registry } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';

/** The part of the registry eviction needs. */
export type EvictionRegistry = Pick<Registry, 'planEviction' | 'expire' | 'sweep' | 'stats'>;

export type EvictionOutcome = 'evicted' | 'nothing-expired' | 'self-preservation' | 'capped';

/** What one run did. */
export interface EvictionRun {
  /** When it ran (ms since epoch). */
  readonly at: number;
  readonly expired: number;
  readonly evicted: number;
  readonly outcome: EvictionOutcome;
  /** The outcome in words, for operators. */
  readonly reason: string;
}

export interface EvictionLoopDeps {
  readonly registry: EvictionRegistry;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Called before each run so a pause just ended is known before leases are judged. */
  readonly beforeRun?: () => void;
}

function describeRun(plan: EvictionPlan, evicted: number, renewsLastMinute: number): { outcome: EvictionOutcome; reason: string } {
  if (plan.expiredCount === 0) return { outcome: 'nothing-expired', reason: 'no lease had expired' };
  if (plan.selfPreservation.active) {
    return {
      outcome: 'self-preservation',
      reason: `${renewsLastMinute} renewals in the last minute, not above the threshold of ${plan.selfPreservation.renewsThreshold}; ${plan.expiredCount} expired kept`,
    };
  }
  if (evicted < plan.expiredCount) return { outcome: 'capped', reason: `${evicted} of ${plan.expiredCount} expired evicted (at most this many per run); the rest follow in later runs` };
  return { outcome: 'evicted', reason: `${evicted} expired evicted` };
}

export class EvictionLoop {
  private timer: unknown;
  private wasPreserving = false;
  private last: EvictionRun | undefined;
  /** Instances evicted since start. */
  evictedTotal = 0;

  constructor(private readonly deps: EvictionLoopDeps) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.schedule();
  }

  /** Idempotent. */
  stop(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The last run, or undefined before the first. */
  get lastRun(): EvictionRun | undefined {
    return this.last;
  }

  /** One run: decide, apply, housekeeping. Returns how many instances were evicted. */
  runOnce(): number {
    const { registry, logger } = this.deps;
    this.deps.beforeRun?.();
    const plan = registry.planEviction('all');
    const stats = registry.stats();
    if (plan.selfPreservation.active !== this.wasPreserving) {
      this.wasPreserving = plan.selfPreservation.active;
      logger.warn(
        { renewsLastMinute: stats.renewsLastMinute, renewsThreshold: plan.selfPreservation.renewsThreshold, expired: plan.expiredCount },
        plan.selfPreservation.active ? 'self-preservation engaged: eviction suspended' : 'self-preservation released: eviction resumed',
      );
    }
    let evicted = 0;
    for (const ref of plan.toEvict) {
      if (registry.expire(ref) !== undefined) {
        evicted++;
        logger.info({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId }, 'evicted expired instance');
      }
    }
    this.evictedTotal += evicted;
    const { outcome, reason } = describeRun(plan, evicted, stats.renewsLastMinute);
    if (outcome === 'capped') logger.info({ expired: plan.expiredCount, evicted }, 'eviction capped for this run; the rest follow in later runs');
    this.last = { at: this.deps.clock.nowMs(), expired: plan.expiredCount, evicted, outcome, reason };
    registry.sweep();
    return evicted;
  }

  private schedule(): void {
    this.timer = this.deps.timers.setTimeout(() => {
      try {
        this.runOnce();
      } catch (e) {
        this.deps.logger.error({ err: e }, 'eviction run failed');
      }
      if (this.timer !== undefined) this.schedule();
    }, this.deps.intervalMs);
  }
}
