import { describe, expect, it } from 'vitest';
import { evictionLimit, selfPreservationState } from '../../src/core/self-preservation.js';
import { pickForEviction } from '../../src/core/eviction.js';
import { RenewMeter } from '../../src/core/renew-meter.js';
import { inst, makeRegistry } from './helpers.js';

/** Registers `n` instances spread over `services` services. */
function fill(registry: ReturnType<typeof makeRegistry>['registry'], n: number, services = 1): void {
  for (let i = 0; i < n; i++) registry.register({ service: `s${i % services}`, instance: inst({ instanceId: `i${i}`, port: 1000 + i }) });
}

function renewAll(registry: ReturnType<typeof makeRegistry>['registry'], n: number, services = 1, except = new Set<number>()): void {
  for (let i = 0; i < n; i++) if (!except.has(i)) registry.renew({ service: `s${i % services}`, instanceId: `i${i}` });
}

describe('self-preservation arithmetic', () => {
  it('follows Eureka: threshold = floor(expected × 0.85); expiry only while renewals exceed it', () => {
    const base = { enabled: true, renewalPercentThreshold: 0.85, minInstances: 0, leaseBoundInstances: 10, expectedRenewsPerMinute: 20 };
    expect(selfPreservationState({ ...base, renewsLastMinute: 18 })).toEqual({ renewsThreshold: 17, active: false });
    expect(selfPreservationState({ ...base, renewsLastMinute: 17 })).toEqual({ renewsThreshold: 17, active: true });
    expect(selfPreservationState({ ...base, expectedRenewsPerMinute: 0, renewsLastMinute: 0 }).active).toBe(true);
    expect(selfPreservationState({ ...base, enabled: false, renewsLastMinute: 0 }).active).toBe(false);
    expect(selfPreservationState({ ...base, minInstances: 11, renewsLastMinute: 0 }).active).toBe(false);
  });

  it('bounds one run to size − floor(size × 0.85)', () => {
    expect(evictionLimit(100, 0.85)).toBe(15);
    expect(evictionLimit(10, 0.85)).toBe(2);
    expect(evictionLimit(1, 0.85)).toBe(1);
    expect(evictionLimit(0, 0.85)).toBe(0);
  });
});

describe('pickForEviction', () => {
  it('returns everything under the limit and a uniform sample over it', () => {
    expect(pickForEviction([1, 2, 3], 5, Math.random)).toEqual([1, 2, 3]);
    expect(pickForEviction([1, 2, 3], 0, Math.random)).toEqual([]);
    const counts = new Map<number, number>();
    const items = Array.from({ length: 10 }, (_, i) => i);
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let round = 0; round < 20_000; round++) {
      const picked = pickForEviction(items, 3, random);
      expect(new Set(picked).size).toBe(3);
      for (const p of picked) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    // Each item is picked 3/10 of the time: 6 000 ± 5 %.
    for (const i of items) expect(Math.abs((counts.get(i) ?? 0) - 6_000)).toBeLessThan(300);
    expect(items).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});

describe('RenewMeter', () => {
  it('slides over one-second buckets and survives a long gap', () => {
    const m = new RenewMeter();
    m.record(0);
    m.record(59_999);
    expect(m.lastMinute(59_999)).toBe(2);
    expect(m.lastMinute(60_000)).toBe(1);
    expect(m.lastMinute(10_000_000)).toBe(0);
    m.record(10_000_000, 5);
    expect(m.lastMinute(10_000_000)).toBe(5);
  });
});

describe('eviction', () => {
  it('without self-preservation, evicts exactly the expired lease-bound instances', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst({ instanceId: 'dead' }) });
    registry.register({ service: 'a', instance: inst({ instanceId: 'persistent', ephemeral: false }) });
    clock.advance(60_000);
    registry.register({ service: 'a', instance: inst({ instanceId: 'alive' }) });
    clock.advance(30_001);
    const plan = registry.planEviction();
    expect(plan.toEvict.map((r) => r.instanceId)).toEqual(['dead']);
    expect(registry.stats().instances).toBe(3); // planning changes nothing
    expect(registry.expire(plan.toEvict[0] ?? { namespace: '', group: '', service: '', instanceId: '' })?.instanceId).toBe('dead');
    expect(registry.query({ service: 'a' }).hosts.map((h) => h.instanceId)).toEqual(['alive', 'persistent']);
    expect(registry.fetchDelta().changes.at(-1)).toMatchObject({ action: 'DELETED', record: { instanceId: 'dead' } });
  });

  it('does not hold time the server was paused against leases or heartbeats', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst({ instanceId: 'lease' }) }); // 90 s
    registry.register({ service: 'a', instance: inst({ instanceId: 'beat', leaseDurationMs: 30_000, renewalIntervalMs: 5_000, unhealthyAfterMs: 15_000 }) });
    const t0 = clock.nowMs();
    // Stopped from t0 + 10 s to t0 + 70 s: those 60 s count neither for leases nor for beats.
    registry.notePause(t0 + 10_000, t0 + 70_000);
    clock.advance(85_000); // 25 s of listening since the renewals
    expect(registry.planHeartbeatTimeouts().map((r) => r.instanceId)).toEqual(['beat']);
    expect(registry.planEviction().expiredCount).toBe(0);
    clock.advance(10_000); // 35 s
    expect(registry.planEviction().toEvict.map((r) => r.instanceId)).toEqual(['beat']);
    clock.advance(56_000); // 91 s
    expect(registry.planEviction().expiredCount).toBe(2);
    // Renewed after the pause: the pause no longer counts for it.
    registry.renew({ service: 'a', instanceId: 'lease' });
    clock.advance(89_000);
    expect(registry.planEviction().toEvict.map((r) => r.instanceId)).toEqual(['beat']);
    clock.advance(2_000);
    expect(registry.planEviction().expiredCount).toBe(2);
  });

  it('expire() re-checks: an instance renewed after planning stays', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    clock.advance(90_001);
    const [victim] = registry.planEviction().toEvict;
    registry.renew({ service: 'a', instanceId: '1' });
    expect(victim && registry.expire(victim)).toBeUndefined();
    expect(registry.stats().instances).toBe(1);
  });

  it('suspends eviction when renewals fall under 85 % of the expected rate', () => {
    const { registry, clock } = makeRegistry();
    fill(registry, 20, 4);
    // 20 instances renewing every 30 s: expected 40/min, threshold 34.
    for (let t = 0; t < 4; t++) {
      clock.advance(30_000);
      renewAll(registry, 20, 4);
    }
    expect(registry.stats().selfPreservation).toEqual({ renewsThreshold: 34, active: false });
    // Half of them stop renewing (a partition from the server's point of view).
    const silent = new Set(Array.from({ length: 10 }, (_, i) => i));
    for (let t = 0; t < 4; t++) {
      clock.advance(30_000);
      renewAll(registry, 20, 4, silent);
    }
    const plan = registry.planEviction();
    expect(plan.selfPreservation.active).toBe(true);
    expect(plan.expiredCount).toBe(10);
    expect(plan.toEvict).toHaveLength(0);
  });

  it('evicts at most 15 % of the registry per run, drawn across services', () => {
    const { registry, clock } = makeRegistry();
    fill(registry, 40, 4);
    clock.advance(30_000);
    renewAll(registry, 40, 4);
    // Twelve die, three per service; 28 keep renewing. Expected 80/min, threshold floor(80 × 0.85) = 68.
    const dead = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    clock.advance(30_000);
    renewAll(registry, 40, 4, dead);
    clock.advance(30_000);
    renewAll(registry, 40, 4, dead);
    clock.advance(30_001);
    renewAll(registry, 40, 4, dead);
    // Renewals last minute: 28 × 2 = 56 < threshold 68, so self-preservation holds...
    expect(registry.planEviction().selfPreservation.active).toBe(true);
    // ...until the survivors renew often enough (e.g. a burst of re-registrations keeps them well).
    for (let i = 0; i < 20; i++) renewAll(registry, 40, 4, dead);
    const plan = registry.planEviction();
    expect(plan.selfPreservation.active).toBe(false);
    expect(plan.expiredCount).toBe(12);
    expect(plan.toEvict).toHaveLength(40 - Math.floor(40 * 0.85)); // 6
    const services = new Set(plan.toEvict.map((r) => r.service));
    expect(services.size).toBeGreaterThan(1);
    for (const v of plan.toEvict) registry.expire(v);
    expect(registry.stats().instances).toBe(34);
  });

  it('does not engage self-preservation below the minimum instance count', () => {
    const { registry, clock } = makeRegistry();
    fill(registry, 3);
    clock.advance(90_001);
    const plan = registry.planEviction();
    expect(plan.selfPreservation.active).toBe(false);
    expect(plan.toEvict).toHaveLength(1); // 3 − floor(2.55) = 1 per run
  });
});

describe('heartbeat timeouts (Nacos beat check)', () => {
  const beat = { instanceId: 'b', leaseDurationMs: 30_000, renewalIntervalMs: 5_000, unhealthyAfterMs: 15_000 };

  it('shows an instance unhealthy after unhealthyAfterMs without a renewal, healthy again on the next one', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst(beat) });
    registry.register({ service: 'a', instance: inst({ instanceId: 'plain' }) });
    clock.advance(15_000);
    expect(registry.planHeartbeatTimeouts()).toEqual([]);
    clock.advance(1);
    const [overdue] = registry.planHeartbeatTimeouts();
    expect(overdue?.instanceId).toBe('b');
    const rev = registry.query({ service: 'a' }).revision;
    expect(overdue && registry.markHeartbeatTimeout(overdue)).toMatchObject({ healthy: false, reportedHealthy: true });
    expect(registry.query({ service: 'a' }).revision).toBeGreaterThan(rev);
    expect(registry.query({ service: 'a' }, { healthyOnly: true }).hosts.map((h) => h.instanceId)).toEqual(['plain']);
    // Marking is idempotent, and not re-planned.
    expect(registry.planHeartbeatTimeouts()).toEqual([]);
    registry.renew({ service: 'a', instanceId: 'b' });
    expect(registry.getInstance({ service: 'a', instanceId: 'b' }).record.healthy).toBe(true);
    expect(registry.fetchDelta().changes.map((c) => c.action)).toEqual(['ADDED', 'ADDED', 'MODIFIED', 'MODIFIED']);
  });

  it('a registrant that reports itself unhealthy stays unhealthy after renewals', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ ...beat, healthy: false }) });
    clock.advance(20_000);
    expect(registry.planHeartbeatTimeouts()).toEqual([]);
    expect(registry.renew({ service: 'a', instanceId: 'b' }).record.healthy).toBe(false);
  });

  it('a renewal between planning and marking wins', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'a', instance: inst(beat) });
    clock.advance(16_000);
    const [overdue] = registry.planHeartbeatTimeouts();
    registry.renew({ service: 'a', instanceId: 'b' });
    expect(overdue && registry.markHeartbeatTimeout(overdue)).toBeUndefined();
  });

  it('heartbeat-scoped eviction removes only beat-checked instances past their lease', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst(beat) });
    registry.register({ service: 'a', instance: inst({ instanceId: 'eureka', leaseDurationMs: 30_000 }) });
    clock.advance(30_001);
    const scoped = registry.planEviction('heartbeat');
    expect(scoped.expiredCount).toBe(1);
    expect(scoped.toEvict.map((r) => r.instanceId)).toEqual(['b']);
    expect(registry.planEviction('all').expiredCount).toBe(2);
  });

  it('validates the timeout against the lease', () => {
    const { registry } = makeRegistry();
    expect(() => registry.register({ service: 'a', instance: inst({ ...beat, unhealthyAfterMs: 40_000 }) })).toThrow(
      'instance.lease.unhealthy_after_ms must be 0 or between the renewal interval (5000 ms) and the lease duration (30000 ms) (got 40000)',
    );
  });
});

describe('heartbeat bookkeeping', () => {
  it('skips the walk when no instance has a heartbeat timeout, and tracks adds and removals', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst({ instanceId: 'plain', leaseDurationMs: 2_000 }) });
    clock.advance(5_000);
    expect(registry.planHeartbeatTimeouts()).toEqual([]);
    expect(registry.planEviction('heartbeat').expiredCount).toBe(0);
    expect(registry.planEviction('all').expiredCount).toBe(1);
    registry.register({ service: 'a', instance: inst({ instanceId: 'beat', leaseDurationMs: 30_000, renewalIntervalMs: 5_000, unhealthyAfterMs: 15_000 }) });
    clock.advance(16_000);
    expect(registry.planHeartbeatTimeouts().map((r) => r.instanceId)).toEqual(['beat']);
    registry.cancel({ service: 'a', instanceId: 'beat' });
    expect(registry.planHeartbeatTimeouts()).toEqual([]);
  });
});

describe('replicated writes and self-preservation', () => {
  it('counts replicated renewals and registrations like local ones (each node evicts on its own leases)', () => {
    const { registry, clock } = makeRegistry({ selfPreservationMinInstances: 0 });
    for (let i = 0; i < 4; i++) registry.register({ service: 'a', instance: inst({ instanceId: `r${i}` }) }, { replication: true });
    expect(registry.stats()).toMatchObject({ leaseBoundInstances: 4, expectedRenewsPerMinute: 8 });
    clock.advance(30_000);
    for (let i = 0; i < 4; i++) registry.renew({ service: 'a', instanceId: `r${i}` }, { replication: true });
    clock.advance(29_000);
    for (let i = 0; i < 4; i++) registry.renew({ service: 'a', instanceId: `r${i}` }, { replication: true });
    // 8 renewals in the last minute against a threshold of floor(8 × 0.85) = 6: no self-preservation.
    expect(registry.stats()).toMatchObject({ renewsLastMinute: 8, selfPreservation: { renewsThreshold: 6, active: false } });
  });
});
