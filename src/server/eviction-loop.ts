/**
 * Runs the registry's eviction decision every interval and applies it: each chosen instance is
 * expired (an internal cancel, which pushes through the registry's change listeners). Runs that
 * start late (a paused process, a blocked event loop) pass the delay as compensation, so clients
 * are not evicted for time the server itself was not listening.
 *
 * Two loops run: Eureka's eviction (every 60 s, all instances) and Nacos's beat check (every 5 s:
 * overdue heartbeat-checked instances are shown unhealthy, and those past their lease evicted).
 */
import type { Clock } from '../core/clock.js';
import type { EvictionScope, Registry } from '../core/registry.js';
import type { Logger } from '../common/logger.js';

export interface EvictionLoopDeps {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Which instances to evict. Default 'all'. */
  readonly scope?: EvictionScope;
  /** Also mark heartbeat-checked instances unhealthy when overdue. Default false. */
  readonly checkHeartbeats?: boolean;
}

export class EvictionLoop {
  private timer: NodeJS.Timeout | undefined;
  private lastRunMs = 0;
  private wasPreserving = false;

  constructor(private readonly deps: EvictionLoopDeps) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.lastRunMs = this.deps.clock.nowMs();
    this.schedule();
  }

  /** Idempotent. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One run: decide, apply, forget long-empty services. Returns how many instances were evicted. */
  runOnce(compensationMs = 0): number {
    const { registry, logger } = this.deps;
    if (this.deps.checkHeartbeats === true) {
      for (const ref of registry.planHeartbeatTimeouts()) {
        if (registry.markHeartbeatTimeout(ref) !== undefined) {
          logger.info({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId }, 'heartbeat overdue: instance unhealthy');
        }
      }
    }
    const plan = registry.planEviction(compensationMs, this.deps.scope ?? 'all');
    if (plan.selfPreservation.active !== this.wasPreserving) {
      this.wasPreserving = plan.selfPreservation.active;
      const stats = registry.stats();
      logger.warn(
        { renewsLastMinute: stats.renewsLastMinute, renewsThreshold: plan.selfPreservation.renewsThreshold, expired: plan.expiredCount },
        plan.selfPreservation.active ? 'self-preservation engaged: eviction suspended' : 'self-preservation released: eviction resumed',
      );
    }
    let evicted = 0;
    for (const ref of plan.toEvict) {
      const removed = registry.expire(ref, compensationMs);
      if (removed !== undefined) {
        evicted++;
        logger.info({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId }, 'evicted expired instance');
      }
    }
    if (plan.expiredCount > evicted && !plan.selfPreservation.active) {
      logger.info({ expired: plan.expiredCount, evicted }, 'eviction capped for this run; the rest follow in later runs');
    }
    registry.sweepEmptyServices();
    return evicted;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      const now = this.deps.clock.nowMs();
      const compensation = Math.max(0, now - this.lastRunMs - this.deps.intervalMs);
      this.lastRunMs = now;
      try {
        this.runOnce(compensation);
      } catch (e) {
        this.deps.logger.error({ err: e }, 'eviction run failed');
      }
      this.schedule();
    }, this.deps.intervalMs);
    this.timer.unref();
  }
}
