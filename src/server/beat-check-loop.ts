/**
 * Nacos's beat check, for instances kept alive by heartbeats with a beat timeout (Nacos-registered
 * ones): every interval, instances whose beat is overdue are shown unhealthy, and those past their
 * lease (Nacos's ip-delete timeout) are evicted, like the eviction task does for all leases (local
 * removals, not replicated; self-preservation applies). Free while there are no such instances.
 */
import type { Registry } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import type { Timers } from '../common/timers.js';

/** The part of the registry the beat check needs. */
export type BeatCheckRegistry = Pick<Registry, 'planHeartbeatTimeouts' | 'markHeartbeatTimeout' | 'planEviction' | 'expire'>;

export interface BeatCheckLoopDeps {
  readonly registry: BeatCheckRegistry;
  readonly timers: Timers;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Called before each run so a pause just ended is known before beats are judged. */
  readonly beforeRun?: () => void;
}

export class BeatCheckLoop {
  private timer: unknown;
  /** Instances evicted for missing beats since start. */
  evictedTotal = 0;

  constructor(private readonly deps: BeatCheckLoopDeps) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.schedule();
  }

  /** Idempotent. */
  stop(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One run. Returns how many instances were evicted. */
  runOnce(): number {
    const { registry, logger } = this.deps;
    this.deps.beforeRun?.();
    for (const ref of registry.planHeartbeatTimeouts()) {
      if (registry.markHeartbeatTimeout(ref) !== undefined) {
        logger.info({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId }, 'heartbeat overdue: instance unhealthy');
      }
    }
    let evicted = 0;
    for (const ref of registry.planEviction('heartbeat').toEvict) {
      if (registry.expire(ref) !== undefined) {
        evicted++;
        logger.info({ namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: ref.instanceId }, 'no heartbeat within the delete timeout: instance evicted');
      }
    }
    this.evictedTotal += evicted;
    return evicted;
  }

  private schedule(): void {
    this.timer = this.deps.timers.setTimeout(() => {
      try {
        this.runOnce();
      } catch (e) {
        this.deps.logger.error({ err: e }, 'beat check failed');
      }
      if (this.timer !== undefined) this.schedule();
    }, this.deps.intervalMs);
  }
}
