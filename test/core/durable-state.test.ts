/**
 * The core's part in durable state, on a manual clock: service settings carry write versions and
 * merge like instances (the newer wins on every node, whatever order they arrive in; anti-entropy
 * repairs them); a status override of an ephemeral instance outlives the instance (a restart gives
 * it back from the store, an eviction keeps it) until its retention ends; a peer's cancel of a
 * persistent instance never held here is announced so the store keeps its tombstone.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { verifyWithPeer } from '../../src/cluster/anti-entropy.js';
import type { PeerLink, ServiceReplica } from '../../src/cluster/peer-link.js';
import type { Registry, WriteEvent } from '../../src/core/registry.js';
import { RegistryJournal } from '../../src/store/registry-journal.js';
import type { StoreOp } from '../../src/store/store-ops.js';
import { inst, makeRegistry } from './helpers.js';

const svc = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'db' };

/** A peer link that answers from another registry in this process (anti-entropy's two calls). */
function linkTo(peer: Registry): PeerLink {
  return {
    address: 'peer',
    replicate: () => Promise.reject(new Error('not used')),
    syncRegistry: () => {
      throw new Error('not used');
    },
    listDigests: () => Promise.resolve(peer.replicaDigests()),
    fetchServices: (_id, services) =>
      Promise.resolve(
        services.map((s): ServiceReplica => {
          const r = peer.replicaOf(s);
          return { service: s, copies: r.entries.map((e) => ({ address: e, state: e.record, lastRenewalMs: e.lastRenewalMs })), tombstones: r.tombstones, settings: r.settings };
        }),
      ),
    close: () => undefined,
  };
}

const settingsOf = (r: Registry) => {
  const s = r.listServices({}).services.find((x) => x.name === 'db');
  return s === undefined ? undefined : { protectThreshold: s.protectThreshold, metadata: s.metadata, version: s.settingsVersion };
};

describe('service settings with write versions', () => {
  it('a client UpdateService gets a new version; the newer settings win on every node whatever the order', () => {
    const { registry: a, clock } = makeRegistry();
    const { registry: b } = makeRegistry();
    const seen: string[] = [];
    b.onSettingsChanged((c) => seen.push(`${c.protectThreshold}:${c.replication}`));
    a.updateService({ ...svc, protectThreshold: 0.4, metadata: { owner: 'x' } });
    const first = settingsOf(a);
    expect(first?.version).toBeGreaterThan(0);
    clock.advance(10);
    a.updateService({ ...svc, protectThreshold: 0.7 });
    const second = settingsOf(a);
    expect(second?.version).toBeGreaterThan(first?.version ?? Infinity);

    // The newer arrives first, then the older: the older is refused with what is held.
    expect(b.applyServiceSettings({ ...svc, protectThreshold: 0.7, metadata: {}, version: second?.version ?? 0 }).kind).toBe('adopted');
    const older = b.applyServiceSettings({ ...svc, protectThreshold: 0.4, metadata: { owner: 'x' }, version: first?.version ?? 0 });
    expect(older).toMatchObject({ kind: 'newer-here', settings: { protectThreshold: 0.7, version: second?.version } });
    expect(b.applyServiceSettings({ ...svc, protectThreshold: 0.7, metadata: {}, version: second?.version ?? 0 }).kind).toBe('same');
    expect(settingsOf(b)).toEqual(second);
    expect(seen).toEqual(['0.7:true']);

    // A later write on b is above every version it has seen, whatever a's clock said.
    b.updateService({ ...svc, protectThreshold: 0.1 });
    expect(settingsOf(b)?.version).toBeGreaterThan(second?.version ?? Infinity);
    // Settings without a version (an older node) only fill a service that has none.
    expect(b.applyServiceSettings({ ...svc, protectThreshold: 0.9, metadata: {}, version: 0 }).kind).toBe('newer-here');
    const { registry: fresh } = makeRegistry();
    expect(fresh.applyServiceSettings({ ...svc, protectThreshold: 0.9, metadata: {}, version: 0 }).kind).toBe('adopted');
  });

  it('configured services are in the digests with their settings version, and anti-entropy repairs settings both ways', async () => {
    const { registry: a, clock } = makeRegistry();
    const { registry: b } = makeRegistry();
    a.updateService({ ...svc, protectThreshold: 0.5, metadata: { tier: 'gold' } });
    expect(a.replicaDigests()).toEqual([expect.objectContaining({ service: 'db', settingsVersion: settingsOf(a)?.version })]);
    let r = await verifyWithPeer(b, linkTo(a), 'b', silentLogger);
    expect(r).toMatchObject({ differing: 1, settings: 1 });
    expect(settingsOf(b)).toEqual(settingsOf(a));
    // b changes them later; a repairs itself from b, and a pass with nothing different repairs nothing.
    clock.advance(5);
    b.updateService({ ...svc, protectThreshold: 0.2, metadata: { tier: 'silver' } });
    r = await verifyWithPeer(a, linkTo(b), 'a', silentLogger);
    expect(r.settings).toBe(1);
    expect(settingsOf(a)).toEqual(settingsOf(b));
    expect(await verifyWithPeer(a, linkTo(b), 'a', silentLogger)).toMatchObject({ differing: 0, settings: 0 });
    expect(await verifyWithPeer(b, linkTo(a), 'b', silentLogger)).toMatchObject({ differing: 0, settings: 0 });
  });
});

describe('a status override of an ephemeral instance', () => {
  const id = { ...svc, instanceId: 'e-1' };

  it('comes back from the store when the instance registers again after a restart, until its expiry', () => {
    const { registry, clock } = makeRegistry();
    registry.restoreOverride({ ...id, status: 'OUT_OF_SERVICE', version: 7, expiresAt: clock.nowMs() + 1_000 });
    expect(registry.pendingOverride(id)).toBe('OUT_OF_SERVICE');
    const r = registry.register({ ...svc, instance: inst({ instanceId: 'e-1' }) });
    expect([r.record.status, r.record.overriddenStatus]).toEqual(['OUT_OF_SERVICE', 'OUT_OF_SERVICE']);
    expect(registry.pendingOverride(id)).toBeUndefined();

    const { registry: late, clock: lateClock } = makeRegistry();
    late.restoreOverride({ ...id, status: 'OUT_OF_SERVICE', version: 7, expiresAt: lateClock.nowMs() + 1_000 });
    lateClock.advance(1_000);
    expect(late.register({ ...svc, instance: inst({ instanceId: 'e-1' }) }).record.status).toBe('UP');
    expect(clock.nowMs()).toBeGreaterThan(0);
  });

  it('outlives an eviction and is forgotten once its retention has passed', () => {
    const { registry, clock } = makeRegistry({ selfPreservation: false, persistentTombstoneRetentionMs: 60_000 });
    registry.register({ ...svc, instance: inst({ instanceId: 'e-1', leaseDurationMs: 5_000 }) });
    registry.setStatus({ ...id, status: 'OUT_OF_SERVICE' });
    clock.advance(6_000);
    const plan = registry.planEviction();
    for (const ref of plan.toEvict) registry.expire(ref);
    expect(registry.hasInstance(id)).toBe(false);
    expect(registry.pendingOverride(id)).toBe('OUT_OF_SERVICE');
    expect(registry.register({ ...svc, instance: inst({ instanceId: 'e-1', leaseDurationMs: 5_000 }) }).record.status).toBe('OUT_OF_SERVICE');

    clock.advance(6_000);
    for (const ref of registry.planEviction().toEvict) registry.expire(ref);
    clock.advance(60_000);
    registry.sweep();
    expect(registry.pendingOverride(id)).toBeUndefined();
    expect(registry.register({ ...svc, instance: inst({ instanceId: 'e-1' }) }).record.status).toBe('UP');
  });
});

describe('the journal', () => {
  function journaled(): { registry: Registry; clock: ReturnType<typeof makeRegistry>['clock']; ops: StoreOp[] } {
    const { registry, clock } = makeRegistry();
    const ops: StoreOp[] = [];
    const journal = new RegistryJournal({ write: (o) => ops.push(...o) }, silentLogger, { overrideRetentionMs: 100_000, nowMs: () => clock.nowMs() });
    journal.attach(registry);
    return { registry, clock, ops };
  }

  it('stores a peer cancel of a persistent instance it never held, and nothing for an ephemeral one', () => {
    const { registry, clock, ops } = journaled();
    const events: WriteEvent['kind'][] = [];
    registry.onWrite((e) => events.push(e.kind));
    const t = { ...svc, version: clock.nowMs() * 1000, deletedAt: clock.nowMs(), expiresAt: clock.nowMs() + 86_400_000 };
    expect(registry.applyTombstone({ ...t, instanceId: 'p-9', persistent: true }).kind).toBe('recorded');
    expect(registry.applyTombstone({ ...t, instanceId: 'e-9', persistent: false }).kind).toBe('recorded');
    expect(events).toEqual(['cancel']);
    expect(ops.map((o) => [o[0], o[4]])).toEqual([['cancel', 'p-9']]);
  });

  it('stores an ephemeral instance override with its expiry, refreshes it on renewals, drops it on delete or cancel', () => {
    const { registry, clock, ops } = journaled();
    const id = { ...svc, instanceId: 'e-1' };
    registry.register({ ...svc, instance: inst({ instanceId: 'e-1' }) });
    expect(ops).toEqual([]);
    registry.setStatus({ ...id, status: 'OUT_OF_SERVICE' });
    expect(ops.map((o) => o.slice(0, 6))).toEqual([['override', 'public', 'DEFAULT_GROUP', 'db', 'e-1', 'OUT_OF_SERVICE']]);
    expect(ops[0]?.[7]).toBe(clock.nowMs() + 100_000);
    registry.renew(id);
    expect(ops).toHaveLength(1); // fresh: nothing to refresh
    clock.advance(50_000);
    registry.renew(id);
    expect(ops).toHaveLength(2);
    expect(ops[1]?.[7]).toBe(clock.nowMs() + 100_000);
    registry.deleteStatusOverride(id);
    expect(ops[2]?.[0]).toBe('unoverride');
    registry.setStatus({ ...id, status: 'OUT_OF_SERVICE' });
    registry.cancel(id);
    expect(ops.slice(3).map((o) => o[0])).toEqual(['override', 'unoverride']);
  });
});
