/**
 * Write versions, tombstones and the merge rules that replication, the start-up sync and
 * anti-entropy use (core/replica-rules.ts), on registries with a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { decideHeartbeat, decideReplica, decideTombstone } from '../../src/core/replica-rules.js';
import { VersionClock } from '../../src/core/version-clock.js';
import { TombstoneStore } from '../../src/core/tombstones.js';
import { PauseLedger } from '../../src/core/pause-ledger.js';
import type { InstanceRecord } from '../../src/core/model.js';
import type { InstanceState } from '../../src/core/registry.js';
import { RegistryError } from '../../src/core/errors.js';
import { inst, makeRegistry } from './helpers.js';

const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'a', instanceId: 'i-1' };

function stateOf(r: InstanceRecord): InstanceState {
  const { instanceId: _i, registrationTimestamp: _r, serviceUpTimestamp: _s, evictionTimestamp: _e, ...state } = r;
  return state;
}

describe('the version clock', () => {
  it('issues increasing versions that follow the wall clock and move past every version seen', () => {
    const c = new VersionClock();
    expect(c.next(1_000)).toBe(1_000_000);
    expect(c.next(1_000)).toBe(1_000_001);
    expect(c.next(999)).toBe(1_000_002); // the clock stepping back does not move versions back
    c.observe(5_000_000);
    expect(c.next(1_001)).toBe(5_000_001);
    expect(c.next(6_000)).toBe(6_000_000);
  });
});

describe('the tombstone store', () => {
  it('finds tombstones by instance and service, forgets them when their time is over, and bounds their number', () => {
    const store = new TombstoneStore(2);
    const t = (id: string, expiresAt: number) => ({ ...ref, instanceId: id, version: 1, deletedAt: 0, expiresAt, persistent: false });
    store.put(t('x', 100));
    store.put(t('y', 50));
    expect(store.get({ ...ref, instanceId: 'x' })?.expiresAt).toBe(100);
    expect(
      store
        .ofService(ref)
        .map((s) => s.instanceId)
        .sort(),
    ).toEqual(['x', 'y']);
    expect(store.prune(60)).toBe(1);
    expect(store.size).toBe(1);
    store.put(t('z', 200));
    store.put(t('w', 200));
    expect(store.size).toBe(2);
    expect(store.dropped).toBe(1);
    expect(store.get({ ...ref, instanceId: 'x' })).toBeUndefined(); // the oldest went first
  });
});

describe('the pause ledger', () => {
  it('adds up the pauses that overlap a period and merges overlapping ones', () => {
    const l = new PauseLedger();
    l.record(100, 200);
    l.record(150, 300);
    l.record(500, 600);
    expect(l.list()).toEqual([
      { fromMs: 100, toMs: 300 },
      { fromMs: 500, toMs: 600 },
    ]);
    expect(l.pausedBetween(0, 1_000)).toBe(300);
    expect(l.pausedBetween(250, 550)).toBe(100);
    expect(l.pausedBetween(600, 700)).toBe(0);
    l.prune(400);
    expect(l.list()).toEqual([{ fromMs: 500, toMs: 600 }]);
  });
});

describe('write versions on client writes', () => {
  it('a change gets a new version; an idempotent re-registration and renewals keep it', () => {
    const { registry, clock } = makeRegistry();
    const v1 = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }).record.version;
    expect(v1).toBe(clock.nowMs() * 1000);
    clock.advance(1);
    expect(registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: 1_000_000 }) }).record.version).toBe(v1);
    expect(registry.renew({ service: 'a', instanceId: 'i-1' }).record.version).toBe(v1);
    const v2 = registry.setStatus({ service: 'a', instanceId: 'i-1', status: 'OUT_OF_SERVICE' }).version;
    expect(v2).toBeGreaterThan(v1);
    const v3 = registry.deleteStatusOverride({ service: 'a', instanceId: 'i-1' }).version;
    expect(v3).toBeGreaterThan(v2);
    const v4 = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', weight: 2 }) }).record.version;
    expect(v4).toBeGreaterThan(v3);
  });

  it('a cancel leaves a tombstone above the record, kept for the retention or the lease plus the skew, whichever is longer', () => {
    const { registry, clock } = makeRegistry({ tombstoneRetentionMs: 60_000, maxClockSkewMs: 5_000 });
    const short = registry.register({ service: 'a', instance: inst({ instanceId: 'short', leaseDurationMs: 10_000 }) }).record;
    const long = registry.register({ service: 'a', instance: inst({ instanceId: 'long', leaseDurationMs: 600_000 }) }).record;
    const durable = registry.register({ service: 'a', instance: inst({ instanceId: 'durable', ephemeral: false }) }).record;
    const now = clock.nowMs();
    for (const id of ['short', 'long', 'durable']) registry.cancel({ service: 'a', instanceId: id });
    const tombs = new Map(registry.replicaOf({ service: 'a' }).tombstones.map((t) => [t.instanceId, t]));
    expect(tombs.get('short')?.version).toBeGreaterThan(short.version);
    expect(tombs.get('short')?.expiresAt).toBe(now + 60_000);
    expect(tombs.get('long')?.version).toBeGreaterThan(long.version);
    expect(tombs.get('long')?.expiresAt).toBe(now + 605_000);
    expect(tombs.get('durable')?.expiresAt).toBe(now + registry.options.persistentTombstoneRetentionMs);
    expect(durable.version).toBeGreaterThan(0);
    clock.advance(60_000);
    expect(registry.sweep().tombstones).toBe(1);
    expect(registry.stats().tombstones).toBe(2);
  });

  it('registering a cancelled instance again gets a version above its cancel and forgets the tombstone', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) });
    registry.cancel({ service: 'a', instanceId: 'i-1' });
    const tomb = registry.replicaOf({ service: 'a' }).tombstones[0];
    const again = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }).record;
    expect(again.version).toBeGreaterThan(tomb?.version ?? Infinity);
    expect(registry.replicaOf({ service: 'a' }).tombstones).toEqual([]);
  });

  it("an eviction leaves no tombstone: it is this node's opinion", () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false });
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', leaseDurationMs: 2_000, renewalIntervalMs: 500 }) });
    clock.advance(2_001);
    for (const r of registry.planEviction().toEvict) registry.expire(r);
    expect(registry.stats().instances).toBe(0);
    expect(registry.replicaOf({ service: 'a' }).tombstones).toEqual([]);
  });

  it('refuses a last_dirty_timestamp beyond the clock skew, naming the field, and changes nothing', () => {
    const { registry, clock } = makeRegistry({ maxClockSkewMs: 60_000 });
    const tenYears = clock.nowMs() + 10 * 365 * 86_400_000;
    expect(() => registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: tenYears }) })).toThrow(
      /instance\.last_dirty_timestamp \d+ is \d+ ms ahead of the server's clock; at most 60000 ms of clock skew is accepted/,
    );
    expect(registry.stats().instances).toBe(0);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: clock.nowMs() + 60_000 }) });
    expect(() => registry.renew({ service: 'a', instanceId: 'i-1', lastDirtyTimestamp: clock.nowMs() + 60_001 })).toThrow(/last_dirty_timestamp .* ahead/);
    expect(() => registry.setStatus({ service: 'a', instanceId: 'i-1', status: 'DOWN', lastDirtyTimestamp: tenYears })).toThrow(/last_dirty_timestamp .* ahead/);
    expect(registry.getInstance(ref).record.status).toBe('UP');
  });

  it("the owner's registration is not blocked for long by a copy dated ahead: at most the skew", () => {
    const { registry, clock } = makeRegistry({ maxClockSkewMs: 60_000 });
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', lastDirtyTimestamp: clock.nowMs() + 60_000, weight: 5 }) });
    expect(registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', weight: 1 }) }).keptExisting).toBe(true);
    clock.advance(60_001);
    expect(registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', weight: 1 }) }).record.weight).toBe(1);
  });
});

describe("merging a peer's copy (applyReplica)", () => {
  function peerCopy(version: number, lastRenewalMs: number, overrides: Partial<InstanceState> = {}): InstanceState {
    const { registry } = makeRegistry();
    const r = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', leaseDurationMs: 30_000, renewalIntervalMs: 10_000 }) }).record;
    return { ...stateOf(r), version, ...overrides, ...(lastRenewalMs === 0 ? {} : {}) };
  }

  it('adopts a copy it lacks with the lease as the peer last renewed it, and announces a replicated write', () => {
    const { registry, clock } = makeRegistry();
    const events: string[] = [];
    registry.onWrite((e) => events.push(`${e.kind}:${e.replication}`));
    const now = clock.nowMs();
    const r = registry.applyReplica(ref, peerCopy(now * 1000 - 5, now - 20_000), now - 20_000);
    expect(r.kind).toBe('adopted');
    const held = registry.getInstance(ref);
    expect(held.lastRenewalMs).toBe(now - 20_000);
    expect(held.leaseExpiresAt).toBe(now + 10_000);
    expect(held.record.version).toBe(now * 1000 - 5);
    expect(events).toEqual(['register:true']);
  });

  it('refuses a copy whose lease has run out (a stale copy nobody renews)', () => {
    const { registry, clock } = makeRegistry();
    const now = clock.nowMs();
    expect(registry.applyReplica(ref, peerCopy(1_000, now - 30_001), now - 30_001).kind).toBe('expired');
    expect(registry.stats().instances).toBe(0);
    // A persistent copy has no lease to run out.
    expect(registry.applyReplica(ref, peerCopy(1_000, now - 30_001, { ephemeral: false }), now - 30_001).kind).toBe('adopted');
  });

  it('keeps a newer write and says so; takes a newer one; the same write only moves the lease forward', () => {
    const { registry, clock } = makeRegistry();
    const mine = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1', weight: 3 }) }).record;
    const now = clock.nowMs();
    const older = registry.applyReplica(ref, { ...stateOf(mine), weight: 9, version: mine.version - 1 }, now);
    expect(older).toMatchObject({ kind: 'newer-here', record: { weight: 3 } });
    clock.advance(5_000);
    expect(registry.applyReplica(ref, { ...stateOf(mine), version: mine.version }, clock.nowMs() - 1_000).kind).toBe('same');
    expect(registry.getInstance(ref).lastRenewalMs).toBe(clock.nowMs() - 1_000);
    expect(registry.applyReplica(ref, { ...stateOf(mine), version: mine.version }, clock.nowMs() - 4_000).kind).toBe('same');
    expect(registry.getInstance(ref).lastRenewalMs).toBe(clock.nowMs() - 1_000); // never backwards
    expect(registry.applyReplica(ref, { ...stateOf(mine), weight: 9, version: mine.version + 1 }, clock.nowMs()).kind).toBe('adopted');
    expect(registry.getInstance(ref).record.weight).toBe(9);
  });

  it('refuses a copy older than a cancel it remembers, and answers with the tombstone', () => {
    const { registry, clock } = makeRegistry();
    const rec = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }).record;
    registry.cancel(ref);
    const r = registry.applyReplica(ref, stateOf(rec), clock.nowMs());
    expect(r.kind).toBe('deleted');
    expect(registry.stats().instances).toBe(0);
    // A registration newer than the cancel (the owner came back elsewhere) is taken.
    const tomb = registry.replicaOf({ service: 'a' }).tombstones[0];
    expect(registry.applyReplica(ref, { ...stateOf(rec), version: (tomb?.version ?? 0) + 1 }, clock.nowMs()).kind).toBe('adopted');
    expect(registry.replicaOf({ service: 'a' }).tombstones).toEqual([]);
  });

  it('moves its version clock past what peers send, so its next change of the instance is newer', () => {
    const { registry, clock } = makeRegistry();
    const now = clock.nowMs();
    // The peer's clock is 30 s ahead (within the skew).
    const peerVersion = (now + 30_000) * 1000;
    registry.applyReplica(ref, peerCopy(peerVersion, now), now);
    registry.cancel(ref);
    expect(registry.replicaOf({ service: 'a' }).tombstones[0]?.version).toBeGreaterThan(peerVersion);
  });

  it('refuses a version dated beyond the clock skew, or none, naming the field', () => {
    const { registry, clock } = makeRegistry({ maxClockSkewMs: 60_000 });
    const now = clock.nowMs();
    const ahead = (now + 61_000) * 1000;
    expect(() => registry.applyReplica(ref, peerCopy(ahead, now), now)).toThrow(/version \d+ is dated 61000 ms ahead of this node's clock/);
    expect(() => registry.applyReplica(ref, peerCopy(0, now), now)).toThrow(RegistryError);
    expect(() => registry.applyTombstone({ ...ref, version: ahead, deletedAt: now, expiresAt: now })).toThrow(/ahead/);
    expect(() => registry.renewReplica(ref, ahead, now)).toThrow(/ahead/);
    expect(registry.stats().instances).toBe(0);
  });
});

describe("merging a peer's cancel (applyTombstone) and renewal (renewReplica)", () => {
  it('removes an older record (a replicated cancel), remembers it when absent, keeps a newer record', () => {
    const { registry, clock } = makeRegistry();
    const events: string[] = [];
    registry.onWrite((e) => events.push(`${e.kind}:${e.replication}`));
    const rec = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }).record;
    const now = clock.nowMs();
    expect(registry.applyTombstone({ ...ref, version: rec.version - 1, deletedAt: now, expiresAt: now + 1 }).kind).toBe('newer-here');
    expect(registry.applyTombstone({ ...ref, version: rec.version + 1, deletedAt: now, expiresAt: now + 1 }).kind).toBe('removed');
    expect(registry.stats().instances).toBe(0);
    expect(events).toEqual(['register:false', 'cancel:true']);
    expect(registry.applyTombstone({ ...ref, version: rec.version + 1, deletedAt: now, expiresAt: now + 1 }).kind).toBe('known');
    expect(registry.applyTombstone({ ...ref, instanceId: 'other', version: 7, deletedAt: now, expiresAt: now + 1 }).kind).toBe('recorded');
    // Kept at least this node's own retention, whatever the peer said.
    expect(registry.replicaOf({ service: 'a' }).tombstones.every((t) => t.expiresAt >= now + registry.options.tombstoneRetentionMs)).toBe(true);
  });

  it('renews the record it was sent for; asks for the record when it lacks it or holds an older one', () => {
    const { registry, clock } = makeRegistry();
    const rec = registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }).record;
    clock.advance(10_000);
    expect(registry.renewReplica(ref, rec.version, clock.nowMs() - 100).kind).toBe('renewed');
    expect(registry.getInstance(ref).lastRenewalMs).toBe(clock.nowMs() - 100);
    expect(registry.renewReplica(ref, rec.version + 1, 0).kind).toBe('unknown');
    expect(registry.renewReplica(ref, rec.version - 1, 0)).toMatchObject({ kind: 'newer-here', record: { version: rec.version } });
    expect(registry.renewReplica({ ...ref, instanceId: 'nope' }, 5, 0).kind).toBe('unknown');
    registry.cancel(ref);
    expect(registry.renewReplica(ref, rec.version, 0).kind).toBe('deleted');
  });
});

describe('the pure decisions', () => {
  const record = (version: number) => ({ version }) as InstanceRecord;
  const tomb = (version: number) => ({ ...ref, version, deletedAt: 0, expiresAt: 0, persistent: false });
  const incoming = (version: number) => ({ version, ephemeral: true, leaseDurationMs: 1_000, lastRenewalMs: 0 });

  it('every combination of held record, held tombstone and incoming version', () => {
    const cases: [number | undefined, number | undefined, number, string, string, string][] = [
      // held record, held tombstone, incoming version → replica, tombstone, heartbeat decisions
      [undefined, undefined, 5, 'adopt', 'record', 'unknown'],
      [undefined, 5, 5, 'deleted', 'known', 'deleted'],
      [undefined, 6, 5, 'deleted', 'known', 'deleted'],
      [undefined, 4, 5, 'adopt', 'record', 'unknown'],
      [5, undefined, 5, 'same', 'remove', 'renew'],
      [6, undefined, 5, 'newer-here', 'newer-here', 'newer-here'],
      [4, undefined, 5, 'adopt', 'remove', 'unknown'],
    ];
    for (const [held, tombVersion, v, replica, tombstone, heartbeat] of cases) {
      const local = held === undefined ? undefined : record(held);
      const t = tombVersion === undefined ? undefined : tomb(tombVersion);
      expect(decideReplica(local, t, incoming(v), 500), `replica ${held}/${tombVersion}/${v}`).toBe(replica);
      expect(decideTombstone(local, t, v), `tombstone ${held}/${tombVersion}/${v}`).toBe(tombstone);
      expect(decideHeartbeat(local, t, v), `heartbeat ${held}/${tombVersion}/${v}`).toBe(heartbeat);
    }
    expect(decideReplica(undefined, undefined, incoming(5), 1_001)).toBe('expired');
  });
});
