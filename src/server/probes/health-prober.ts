/**
 * Health checks of persistent instances (Nacos's server-side checks): they hold no lease, so every
 * node probes them on a schedule (each instance on its own interval, spread over the first one),
 * at most `concurrency` probes in flight, and shows an instance unhealthy after `unhealthyThreshold`
 * failed probes in a row and healthy again after `healthyThreshold` successes. A change is a
 * registry change like any other: pushed to subscribers, seen by every API. Each node judges with
 * its own probes (health is not replicated or stored; write versions and digests ignore it).
 *
 * Probes are asynchronous socket calls; the scheduling pass is a walk over the registry's
 * instances every tick, and probes run from a queue, so the event loop is never held for long.
 */
import type { Clock } from '../../core/clock.js';
import type { InstanceRef } from '../../core/model.js';
import type { Registry } from '../../core/registry.js';
import type { Logger } from '../../common/logger.js';
import type { Timers } from '../../common/timers.js';
import type { Probe } from './net-probes.js';
import { probeSettings, type ProbeDefaults, type ProbeSettings } from './probe-settings.js';

export type ProberRegistry = Pick<Registry, 'replicaEntries' | 'markProbeResult' | 'namespaceNames' | 'listServices'>;

export interface HealthProberDeps {
  readonly registry: ProberRegistry;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly probe: Probe;
  readonly defaults: ProbeDefaults;
  /** Most probes in flight. */
  readonly concurrency: number;
  /** Uniform floats in [0, 1): spreads first probes over an interval. */
  readonly random: () => number;
}

/** What the prober has done (status, tests, the benchmark). */
export interface ProberStats {
  readonly targets: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly probes: number;
  readonly failures: number;
  /** How late probes started, past their due time (ms): the largest seen. */
  readonly maxLatenessMs: number;
}

interface TargetState {
  nextAt: number;
  failures: number;
  successes: number;
  busy: boolean;
  seen: number;
}

interface Job {
  readonly key: string;
  readonly ref: InstanceRef;
  readonly ip: string;
  readonly settings: ProbeSettings;
  readonly dueAt: number;
}

const keyOf = (r: InstanceRef): string => `${r.namespace}\u0000${r.group}\u0000${r.service}\u0000${r.instanceId}`;

export class HealthProber {
  private readonly targets = new Map<string, TargetState>();
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private timer: unknown;
  private pass = 0;
  private probes = 0;
  private failures = 0;
  private maxLatenessMs = 0;
  private stopped = true;
  /**
   * The scheduling tick: a twentieth of the default interval, within 50–250 ms, so a probe starts
   * at most a tick after it is due (bench/probes.ts: a 1 s tick left probes ~0.5 s late on average).
   */
  readonly tickMs: number;

  constructor(private readonly deps: HealthProberDeps) {
    this.tickMs = Math.min(250, Math.max(50, Math.floor(deps.defaults.intervalMs / 20)));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops scheduling and drops queued probes; probes in flight finish. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  stats(): ProberStats {
    return { targets: this.targets.size, inFlight: this.inFlight, queued: this.queue.length, probes: this.probes, failures: this.failures, maxLatenessMs: this.maxLatenessMs };
  }

  /** One scheduling pass: queues the probes that are due and starts as many as allowed. */
  tick(): void {
    const { registry, clock, defaults } = this.deps;
    const now = clock.nowMs();
    const pass = ++this.pass;
    const serviceMetadata = this.serviceMetadata();
    for (const e of registry.replicaEntries()) {
      const rec = e.record;
      if (rec.ephemeral) continue;
      const ref = { namespace: e.namespace, group: e.group, service: e.service, instanceId: rec.instanceId };
      const key = keyOf(ref);
      const settings = probeSettings(defaults, rec.port, rec.metadata, serviceMetadata.get(serviceKeyOf(e)) ?? {});
      let t = this.targets.get(key);
      if (settings.kind === 'none') {
        if (t !== undefined) this.targets.delete(key);
        continue;
      }
      if (t === undefined) {
        // First probe somewhere in the first interval, so a restart does not probe everything at once.
        t = { nextAt: now + Math.floor(this.deps.random() * settings.intervalMs), failures: 0, successes: 0, busy: false, seen: pass };
        this.targets.set(key, t);
      }
      t.seen = pass;
      if (t.busy || t.nextAt > now) continue;
      t.busy = true;
      this.queue.push({ key, ref, ip: rec.ip, settings, dueAt: t.nextAt });
    }
    for (const [key, t] of this.targets) if (t.seen !== pass) this.targets.delete(key); // gone or ephemeral now
    this.drain();
  }

  private serviceMetadata(): Map<string, Readonly<Record<string, string>>> {
    const out = new Map<string, Readonly<Record<string, string>>>();
    const { registry } = this.deps;
    for (const namespace of registry.namespaceNames()) {
      let pageToken = '';
      do {
        const page = registry.listServices({ namespace, pageSize: 1000, pageToken });
        for (const s of page.services) if (Object.keys(s.metadata).length > 0) out.set(serviceKeyOf({ namespace, group: s.group, service: s.name }), s.metadata);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
    }
    return out;
  }

  private drain(): void {
    while (this.inFlight < this.deps.concurrency && this.queue.length > 0) {
      const job = this.queue.shift();
      if (job === undefined) break;
      this.run(job);
    }
  }

  private run(job: Job): void {
    const { clock, probe } = this.deps;
    const started = clock.nowMs();
    this.maxLatenessMs = Math.max(this.maxLatenessMs, started - job.dueAt);
    this.inFlight++;
    const s = job.settings;
    void probe({ kind: s.kind === 'http' ? 'http' : 'tcp', ip: job.ip, port: s.port, path: s.path, timeoutMs: s.timeoutMs })
      .catch(() => false)
      .then((ok) => {
        this.inFlight--;
        this.probes++;
        if (!ok) this.failures++;
        this.record(job, ok);
        this.drain();
      });
  }

  private record(job: Job, ok: boolean): void {
    const t = this.targets.get(job.key);
    if (t === undefined) return;
    t.busy = false;
    // Fixed rate: the next probe is due an interval after this one was due, not after it started,
    // so lateness (the tick, the concurrency queue) does not stretch every period; a target more
    // than an interval behind is due at once rather than making up the probes it missed.
    t.nextAt = Math.max(job.dueAt + job.settings.intervalMs, this.deps.clock.nowMs());
    if (ok) {
      t.failures = 0;
      t.successes++;
      if (t.successes >= job.settings.healthyThreshold) this.show(job, true);
    } else {
      t.successes = 0;
      t.failures++;
      if (t.failures >= job.settings.unhealthyThreshold) this.show(job, false);
    }
  }

  private show(job: Job, healthy: boolean): void {
    if (this.deps.registry.markProbeResult(job.ref, healthy) === undefined) return;
    const { namespace, group, service, instanceId } = job.ref;
    this.deps.logger.info({ namespace, group, service, instanceId, probe: job.settings.kind, healthy }, healthy ? 'probe: instance healthy again' : 'probe: instance unhealthy');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => {
      try {
        this.tick();
      } catch (e) {
        this.deps.logger.error({ err: e }, 'probe scheduling failed');
      }
      this.schedule();
    }, this.tickMs);
  }
}

function serviceKeyOf(s: { namespace: string; group: string; service: string }): string {
  return `${s.namespace}\u0000${s.group}\u0000${s.service}`;
}
