import { describe, expect, it } from 'vitest';
import { RegistryError, type ServiceChange } from '../../src/core/index.js';
import { inst, makeRegistry } from './helpers.js';

const ref = { service: 'orders', instanceId: 'i-1' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RegistryError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('register', () => {
  it('stores a new instance, bumps the revision, queues ADDED and notifies once', () => {
    const { registry, clock } = makeRegistry();
    const changes: ServiceChange[] = [];
    registry.onServiceChanged((c) => changes.push(c));
    const r = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    expect(r).toMatchObject({ created: true, changed: true, keptExisting: false });
    expect(r.record).toMatchObject({ status: 'UP', registrationTimestamp: clock.nowMs(), serviceUpTimestamp: clock.nowMs() });
    expect(changes).toEqual([{ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', revision: clock.nowMs() * 1000 }]);
    const delta = registry.fetchDelta();
    expect(delta.changes.map((c) => c.action)).toEqual(['ADDED']);
    expect(registry.query({ service: 'orders' }).hosts).toHaveLength(1);
  });

  it('treats an identical re-registration as a lease refresh only: no revision, no push, no delta', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: 10 }) });
    const before = registry.query({ service: 'orders' });
    let notified = 0;
    registry.onServiceChanged(() => notified++);
    clock.advance(80_000);
    const r = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: 10 }) });
    expect(r).toMatchObject({ created: false, changed: false });
    expect(notified).toBe(0);
    expect(registry.query({ service: 'orders' })).toBe(before);
    expect(registry.fetchDelta().changes).toHaveLength(1);
    // The lease was refreshed: 80 s + 90 s later it is only now expiring.
    clock.advance(90_000);
    expect(registry.planEviction().expiredCount).toBe(0);
    clock.advance(1);
    expect(registry.planEviction().expiredCount).toBe(1);
  });

  it('applies new data as MODIFIED and carries the service-up and registration timestamps over', () => {
    const { registry, clock } = makeRegistry();
    const first = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', weight: 1 }) }).record;
    clock.advance(1_000);
    const second = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', weight: 5 }) }).record;
    expect(second.weight).toBe(5);
    expect(second.serviceUpTimestamp).toBe(first.serviceUpTimestamp);
    expect(second.registrationTimestamp).toBe(first.registrationTimestamp);
    expect(registry.fetchDelta().changes.map((c) => c.action)).toEqual(['ADDED', 'MODIFIED']);
  });

  it('keeps the stored copy when its dirty timestamp is newer, but takes the registrant on a tie', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', weight: 2, lastDirtyTimestamp: 200 }) });
    const older = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', weight: 9, lastDirtyTimestamp: 100 }) });
    expect(older).toMatchObject({ keptExisting: true, changed: false });
    expect(older.record.weight).toBe(2);
    // Equal timestamps: Eureka compares with '>' so the registrant's copy wins.
    const tie = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', weight: 7, lastDirtyTimestamp: 200 }) });
    expect(tie).toMatchObject({ keptExisting: false, changed: true });
    expect(tie.record.weight).toBe(7);
  });

  it('sets service-up only once the instance is UP', () => {
    const { registry, clock } = makeRegistry();
    const starting = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', status: 'STARTING' }) }).record;
    expect(starting.serviceUpTimestamp).toBe(0);
    clock.advance(5_000);
    const up = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', status: 'UP' }) }).record;
    expect(up.serviceUpTimestamp).toBe(clock.nowMs());
  });

  it('keeps expected-renewal bookkeeping per instance interval, ignoring persistent instances', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    registry.register({ service: 'a', instance: inst({ instanceId: '2', leaseDurationMs: 30_000, renewalIntervalMs: 10_000 }) });
    registry.register({ service: 'a', instance: inst({ instanceId: '3', ephemeral: false }) });
    expect(registry.stats()).toMatchObject({ instances: 3, leaseBoundInstances: 2, expectedRenewsPerMinute: 2 + 6 });
    // Re-registering with another interval replaces the instance's share.
    registry.register({ service: 'a', instance: inst({ instanceId: '1', renewalIntervalMs: 15_000 }) });
    expect(registry.stats().expectedRenewsPerMinute).toBe(4 + 6);
    registry.cancel({ service: 'a', instanceId: '2' });
    expect(registry.stats()).toMatchObject({ instances: 2, leaseBoundInstances: 1, expectedRenewsPerMinute: 4 });
    registry.cancel({ service: 'a', instanceId: '1' });
    expect(registry.stats().expectedRenewsPerMinute).toBe(0);
  });

  it('refuses an instance beyond the per-service limit and changes nothing, but re-registers existing ones', () => {
    const { registry } = makeRegistry({ maxInstancesPerService: 2 });
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    registry.register({ service: 'a', instance: inst({ instanceId: '2' }) });
    const rev = registry.query({ service: 'a' }).revision;
    expect(() => registry.register({ service: 'a', instance: inst({ instanceId: '3' }) })).toThrow(
      'service DEFAULT_GROUP@@a in namespace public already has 2 instances, the limit (max instances per service)',
    );
    expect(registry.query({ service: 'a' }).revision).toBe(rev);
    expect(registry.stats().instances).toBe(2);
    expect(registry.register({ service: 'a', instance: inst({ instanceId: '2', weight: 3 }) }).changed).toBe(true);
  });

  it('changes nothing when a request is invalid', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    const before = { stats: registry.stats(), view: registry.query({ service: 'a' }), delta: registry.fetchDelta().changes.length };
    let notified = 0;
    registry.onServiceChanged(() => notified++);
    expect(codeOf(() => registry.register({ service: 'a', instance: inst({ instanceId: '1', port: 0 }) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => registry.register({ service: 'b b', instance: inst() }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => registry.register({ namespace: 'ns!', service: 'b', instance: inst() }))).toBe('INVALID_ARGUMENT');
    expect(registry.stats()).toEqual(before.stats);
    expect(registry.query({ service: 'a' })).toBe(before.view);
    expect(registry.fetchDelta().changes).toHaveLength(before.delta);
    expect(notified).toBe(0);
  });

  it('keeps namespaces, groups and clusters apart', () => {
    const { registry } = makeRegistry();
    registry.register({ namespace: 'dev', service: 'a', instance: inst({ instanceId: '1' }) });
    registry.register({ namespace: 'prod', service: 'a', instance: inst({ instanceId: '1' }) });
    registry.register({ namespace: 'prod', group: 'PAY', service: 'a', instance: inst({ instanceId: '1', cluster: 'east' }) });
    expect(registry.query({ namespace: 'dev', service: 'a' }).hosts).toHaveLength(1);
    expect(registry.query({ namespace: 'prod', service: 'a' }).hosts).toHaveLength(1);
    expect(registry.query({ namespace: 'prod', group: 'PAY', service: 'a' }).hosts[0]?.cluster).toBe('east');
    expect(registry.query({ namespace: 'other', service: 'a' }).hosts).toHaveLength(0);
    registry.cancel({ namespace: 'dev', service: 'a', instanceId: '1' });
    expect(registry.query({ namespace: 'prod', service: 'a' }).hosts).toHaveLength(1);
    expect(registry.stats()).toMatchObject({ namespaces: 2, instances: 2 });
  });
});

describe('renew', () => {
  it('answers NOT_FOUND for an unknown instance, naming it', () => {
    const { registry } = makeRegistry();
    expect(() => registry.renew(ref)).toThrow('instance i-1 of DEFAULT_GROUP@@orders in namespace public is not registered');
  });

  it('expires a lease at last renewal + duration, not twice the duration', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    clock.advance(60_000);
    const r = registry.renew(ref);
    expect(r.leaseExpiresAt).toBe(clock.nowMs() + 90_000);
    expect(r.renewalIntervalMs).toBe(30_000);
    clock.advance(90_000);
    expect(registry.planEviction().toEvict).toHaveLength(0);
    clock.advance(1);
    expect(registry.planEviction().toEvict).toEqual([{ namespace: 'public', group: 'DEFAULT_GROUP', ...ref }]);
  });

  it('applies the dirty-timestamp rules', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: 500 }) });
    const registeredAt = registry.getInstance(ref).lastRenewalMs;
    clock.advance(1_000);
    // The client's copy is newer: it must re-register; the lease is not renewed.
    expect(() => registry.renew({ ...ref, lastDirtyTimestamp: 600 })).toThrow('is newer on the caller');
    expect(registry.getInstance(ref).lastRenewalMs).toBe(registeredAt);
    // A client with an older copy is simply renewed.
    expect(registry.renew({ ...ref, lastDirtyTimestamp: 400 }).leaseExpiresAt).toBe(clock.nowMs() + 90_000);
    // A peer with an older copy gets a conflict carrying the server's copy.
    try {
      registry.renew({ ...ref, lastDirtyTimestamp: 400 }, { replication: true });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryError);
      expect((e as RegistryError).code).toBe('CONFLICT');
      expect((e as RegistryError).serverCopy?.lastDirtyTimestamp).toBe(500);
    }
    expect(registry.renew({ ...ref, lastDirtyTimestamp: 500 }, { replication: true }).record.instanceId).toBe('i-1');
  });

  it('counts renewals over the trailing minute', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      registry.renew(ref);
    }
    expect(registry.stats().renewsLastMinute).toBe(3);
    // Renewals at +10 s, +20 s, +30 s; the window ending at +75 s holds the last two.
    clock.advance(45_000);
    expect(registry.stats().renewsLastMinute).toBe(2);
    clock.advance(10_000);
    expect(registry.stats().renewsLastMinute).toBe(1);
  });
});

describe('cancel', () => {
  it('removes the instance, queues DELETED with the eviction time, bumps the revision and notifies', () => {
    const { registry, clock } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    const rev = registry.query({ service: 'orders' }).revision;
    const changes: ServiceChange[] = [];
    registry.onServiceChanged((c) => changes.push(c));
    clock.advance(10);
    const removed = registry.cancel(ref);
    expect(removed.evictionTimestamp).toBe(clock.nowMs());
    const view = registry.query({ service: 'orders' });
    expect(view.hosts).toHaveLength(0);
    expect(view.revision).toBeGreaterThan(rev);
    expect(changes).toHaveLength(1);
    expect(registry.fetchDelta().changes.at(-1)).toMatchObject({ action: 'DELETED', record: { evictionTimestamp: clock.nowMs() } });
    expect(codeOf(() => registry.cancel(ref))).toBe('NOT_FOUND');
  });
});

describe('status overrides', () => {
  it('SetStatus applies the override at once and it survives renewals and re-registration', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    const rec = registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    expect(rec).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    expect(registry.renew(ref).record.status).toBe('OUT_OF_SERVICE');
    const again = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', status: 'UP', weight: 2 }) }).record;
    expect(again).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', registeredStatus: 'UP' });
    expect(registry.query({ service: 'orders' }, { healthyOnly: true }).hosts).toHaveLength(0);
  });

  it('an instance reporting DOWN or STARTING wins over an override', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    const down = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', status: 'DOWN' }) }).record;
    expect(down).toMatchObject({ status: 'DOWN', overriddenStatus: 'OUT_OF_SERVICE' });
  });

  it('deleting the override restores the registered status, or takes the given one', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    expect(registry.deleteStatusOverride(ref)).toMatchObject({ status: 'UP', overriddenStatus: undefined });
    registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    expect(registry.deleteStatusOverride({ ...ref, status: 'DOWN' }).status).toBe('DOWN');
  });

  it('after deleting the override with UNKNOWN, the next renew asks the client to re-register', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' });
    registry.deleteStatusOverride({ ...ref, status: 'UNKNOWN' });
    expect(() => registry.renew(ref)).toThrow('has status UNKNOWN');
    expect(registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) }).record.status).toBe('UP');
    expect(registry.renew(ref).record.status).toBe('UP');
  });

  it('deleting a missing override changes nothing', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    const rev = registry.query({ service: 'orders' }).revision;
    registry.deleteStatusOverride(ref);
    expect(registry.query({ service: 'orders' }).revision).toBe(rev);
  });

  it('a replicated registration carries the sender override; a lone UNKNOWN override means none', () => {
    const { registry } = makeRegistry();
    const r = registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1', overriddenStatus: 'OUT_OF_SERVICE' }) }, { replication: true });
    expect(r.record).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
  });

  it('validates and finds before changing', () => {
    const { registry } = makeRegistry();
    expect(codeOf(() => registry.setStatus({ ...ref, status: 'OUT_OF_SERVICE' }))).toBe('NOT_FOUND');
    registry.register({ service: 'orders', instance: inst({ instanceId: 'i-1' }) });
    expect(() => registry.setStatus({ ...ref })).toThrow('status is required');
    expect(() => registry.setStatus({ ...ref, status: 'NAPPING' })).toThrow('status "NAPPING" is not one of');
    expect(codeOf(() => registry.deleteStatusOverride({ ...ref, instanceId: 'nope' }))).toBe('NOT_FOUND');
  });
});

describe('revisions', () => {
  it('follow the clock, strictly increase, and survive a service being forgotten and recreated', () => {
    const { registry, clock } = makeRegistry({ emptyServiceRetentionMs: 1_000 });
    registry.register({ service: 'a', instance: inst({ instanceId: '1' }) });
    const r1 = registry.query({ service: 'a' }).revision;
    registry.register({ service: 'a', instance: inst({ instanceId: '2' }) });
    const r2 = registry.query({ service: 'a' }).revision;
    expect(r1).toBe(clock.nowMs() * 1000);
    expect(r2).toBe(r1 + 1);
    registry.cancel({ service: 'a', instanceId: '1' });
    registry.cancel({ service: 'a', instanceId: '2' });
    const r4 = registry.query({ service: 'a' }).revision;
    clock.advance(1_000);
    expect(registry.sweep().services).toBe(1);
    // Forgotten: an untracked service reports the removal floor, which a stale copy is older than.
    expect(registry.query({ service: 'a' }).revision).toBe(r4);
    // The clock stepping back does not make revisions go back.
    clock.set(10);
    registry.register({ service: 'a', instance: inst({ instanceId: '3' }) });
    expect(registry.query({ service: 'a' }).revision).toBe(r4 + 1);
    expect(registry.query({ service: 'a' }).lastRefTime).toBe(10);
  });

  it('keeps explicitly created services when empty, and forgets others only after the retention', () => {
    const { registry, clock } = makeRegistry({ emptyServiceRetentionMs: 60_000 });
    registry.updateService({ service: 'kept', protectThreshold: 0.5 });
    registry.register({ service: 'temp', instance: inst({ instanceId: '1' }) });
    registry.cancel({ service: 'temp', instanceId: '1' });
    clock.advance(59_999);
    expect(registry.sweep().services).toBe(0);
    clock.advance(1);
    expect(registry.sweep().services).toBe(1);
    expect(registry.listServices({}).services.map((s) => s.name)).toEqual(['kept']);
  });
});
