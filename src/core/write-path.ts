/**
 * The client write path: register, renew, cancel, status overrides and service settings. Every
 * request is validated first (a rejected one changes nothing); a change gets a new write version,
 * is committed (revision, recently-changed entry, change notification) and is announced as a write
 * for the replicator. Eureka's rules: the newer dirty timestamp wins, overridden statuses follow
 * status-rules.ts, a cancel leaves a tombstone.
 */
import { RegistryError } from './errors.js';
import {
  buildRecord,
  changeRecord,
  checkRegistrant,
  checkRoom,
  dataOf,
  describeInstance,
  registrantAfter,
  sameMetadata,
  sameVisible,
  type InstanceAddress,
  type ServiceAddress,
} from './instance-record.js';
import { leaseExpiresAt } from './lease.js';
import type { InstanceRecord, InstanceStatus, ServiceSummary } from './model.js';
import type { RegistryState, WriteContext } from './registry-state.js';
import { resolveStatus } from './status-rules.js';
import { makeTombstone } from './tombstones.js';
import { normalizeInstanceRef, normalizeRegistration, normalizeServiceRef, normalizeServiceSettings, normalizeStatus, normalizeTimestamp, type RegisterInput } from './validate.js';

export interface RegisterResult {
  readonly record: InstanceRecord;
  /** False for a re-registration of an instance already known. */
  readonly created: boolean;
  /** False when nothing clients see changed (an idempotent re-registration). */
  readonly changed: boolean;
  /** True when the stored copy had a newer dirty timestamp and was kept. */
  readonly keptExisting: boolean;
  /** The lease's renewal time: registering always renews. */
  readonly lastRenewalMs: number;
}

export interface RenewResult {
  readonly record: InstanceRecord;
  readonly leaseExpiresAt: number;
  readonly renewalIntervalMs: number;
}

export function register(s: RegistryState, input: RegisterInput, ctx: WriteContext): RegisterResult {
  const now = s.clock.nowMs();
  const reg = normalizeRegistration(input, s.options, now);
  const { ref } = reg;
  const found = s.find(ref);
  checkRoom(s.service(ref), ref, found === undefined, s.options);
  const old = found?.entry.record;
  if (old !== undefined) checkRegistrant(old, ref, ctx.actor);
  const keptExisting = old !== undefined && old.lastDirtyTimestamp > reg.lastDirtyTimestamp;
  const data = keptExisting ? old : dataOf(reg, s.interner, found?.svc ?? s.service(ref));
  // An override that outlived the instance (its lease expired, or this node restarted) applies again.
  const pending = old === undefined ? s.pendingOverrides.take(ref, now) : undefined;
  const overriddenStatus = old?.overriddenStatus ?? pending?.status ?? reg.overriddenStatus;
  const replication = ctx.replication === true;
  const { status } = resolveStatus({ reported: data.registeredStatus, overridden: overriddenStatus, existing: old?.status, replication });
  // Registering renews the lease, so a heartbeat timeout no longer applies: healthy as reported.
  const healthy = data.reportedHealthy;
  const registrant = registrantAfter(old, ctx.actor);
  const transport = ctx.transport ?? old?.transport ?? '';
  if (
    found !== undefined &&
    old !== undefined &&
    sameVisible(old, buildRecord(ref.instanceId, data, { status, overriddenStatus, healthy, registrant, transport, version: old.version }, old, now))
  ) {
    found.entry.lastRenewalMs = now;
    s.emit(() => ({ kind: 'register', ref, record: old, lastRenewalMs: now, replication }));
    return { record: old, created: false, changed: false, keptExisting, lastRenewalMs: now };
  }
  // A change: a new write version, above any this node has seen (a cancel's included).
  const record = buildRecord(ref.instanceId, data, { status, overriddenStatus, healthy, registrant, transport, version: s.versions.next(now) }, old, now);
  s.tombstones.delete(ref);
  s.store(ref, found?.entry, record, now);
  s.emit(() => ({ kind: 'register', ref, record, lastRenewalMs: now, replication }));
  return { record, created: found === undefined, changed: true, keptExisting, lastRenewalMs: now };
}

export function renew(s: RegistryState, address: InstanceAddress & { lastDirtyTimestamp?: number | undefined }, ctx: WriteContext): RenewResult {
  const ref = normalizeInstanceRef(address, s.options);
  const now = s.clock.nowMs();
  const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp, now, s.options);
  const found = s.find(ref);
  if (found === undefined) throw RegistryError.notFound(`${describeInstance(ref)} is not registered`);
  const rec = found.entry.record;
  checkRegistrant(rec, ref, ctx.actor);
  const replication = ctx.replication === true;
  if (dirty !== undefined) {
    if (dirty > rec.lastDirtyTimestamp) {
      throw RegistryError.notFound(`${describeInstance(ref)} is newer on the caller (last_dirty_timestamp ${dirty} > ${rec.lastDirtyTimestamp}); register it again`);
    }
    if (dirty < rec.lastDirtyTimestamp && replication) {
      throw RegistryError.conflict(`${describeInstance(ref)} is newer here (last_dirty_timestamp ${rec.lastDirtyTimestamp} > ${dirty})`, rec);
    }
  }
  const { status } = resolveStatus({ reported: rec.status, overridden: rec.overriddenStatus, existing: rec.status, replication });
  if (status === 'UNKNOWN') {
    throw RegistryError.notFound(`${describeInstance(ref)} has status UNKNOWN (its status override was deleted); register it again`);
  }
  s.renewLease(found, now, now, status);
  const record = found.entry.record;
  s.emit(() => ({ kind: 'renew', ref, record, lastRenewalMs: now, replication }));
  return { record, leaseExpiresAt: leaseExpiresAt(found.entry), renewalIntervalMs: rec.renewalIntervalMs };
}

export function cancel(s: RegistryState, address: InstanceAddress, ctx: WriteContext): InstanceRecord {
  const ref = normalizeInstanceRef(address, s.options);
  const found = s.find(ref);
  if (found === undefined) throw RegistryError.notFound(`${describeInstance(ref)} is not registered`);
  checkRegistrant(found.entry.record, ref, ctx.actor);
  const now = s.clock.nowMs();
  const rec = found.entry.record;
  const removed = s.remove(found, now);
  const tombstone = makeTombstone(ref, s.versions.next(now), now, s.tombstoneExpiry(rec, now), !rec.ephemeral);
  s.tombstones.put(tombstone);
  s.emit(() => ({ kind: 'cancel', ref, tombstone, replication: ctx.replication === true }));
  return removed;
}

export function setStatus(
  s: RegistryState,
  address: InstanceAddress & { status?: string | undefined; lastDirtyTimestamp?: number | undefined },
  ctx: WriteContext,
): InstanceRecord {
  const ref = normalizeInstanceRef(address, s.options);
  const status = normalizeStatus('status', address.status, true) as InstanceStatus;
  const now = s.clock.nowMs();
  const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp, now, s.options);
  const found = s.find(ref);
  if (found === undefined) throw RegistryError.notFound(`${describeInstance(ref)} is not registered`);
  const rec = found.entry.record;
  checkRegistrant(rec, ref, ctx.actor);
  const draft = changeRecord(rec, {
    status,
    overriddenStatus: status,
    lastDirtyTimestamp: dirty ?? rec.lastDirtyTimestamp,
    serviceUpTimestamp: status === 'UP' && rec.serviceUpTimestamp === 0 ? now : rec.serviceUpTimestamp,
    lastUpdatedTimestamp: now,
  });
  const replication = ctx.replication === true;
  if (sameVisible(rec, draft)) {
    s.emit(() => ({ kind: 'status', ref, record: rec, status, lastDirtyTimestamp: dirty, replication }));
    return rec;
  }
  const next = changeRecord(draft, { version: s.versions.next(now) });
  s.replace(found, next, now);
  s.emit(() => ({ kind: 'status', ref, record: next, status, lastDirtyTimestamp: dirty, replication }));
  return next;
}

export function deleteStatusOverride(s: RegistryState, address: InstanceAddress & { status?: string | undefined }, ctx: WriteContext): InstanceRecord {
  const ref = normalizeInstanceRef(address, s.options);
  const requested = normalizeStatus('status', address.status, false);
  const found = s.find(ref);
  if (found === undefined) throw RegistryError.notFound(`${describeInstance(ref)} is not registered`);
  const rec = found.entry.record;
  checkRegistrant(rec, ref, ctx.actor);
  const replication = ctx.replication === true;
  if (rec.overriddenStatus === undefined) {
    s.emit(() => ({ kind: 'delete-override', ref, record: rec, status: requested, replication }));
    return rec;
  }
  const now = s.clock.nowMs();
  const status = requested ?? rec.registeredStatus;
  const next = changeRecord(rec, {
    status,
    overriddenStatus: undefined,
    serviceUpTimestamp: status === 'UP' && rec.serviceUpTimestamp === 0 ? now : rec.serviceUpTimestamp,
    lastUpdatedTimestamp: now,
    version: s.versions.next(now),
  });
  s.replace(found, next, now);
  s.emit(() => ({ kind: 'delete-override', ref, record: next, status: requested, replication }));
  return next;
}

export function updateService(
  s: RegistryState,
  address: ServiceAddress & { protectThreshold?: number | undefined; metadata?: Readonly<Record<string, string>> | undefined },
): ServiceSummary {
  const ref = normalizeServiceRef(address, s.options);
  const settings = normalizeServiceSettings(address, s.options);
  const ns = s.namespaceOrCreate(ref.namespace);
  const svc = s.serviceOrCreate(ns, ref);
  svc.explicit = true;
  const threshold = settings.protectThreshold;
  if (svc.protectThreshold !== threshold || !sameMetadata(svc.metadata, settings.metadata) || svc.revision === 0 || svc.settingsVersion === 0) {
    const now = s.clock.nowMs();
    svc.protectThreshold = threshold;
    svc.metadata = settings.metadata;
    // A new write version, above any this node has seen, so the change wins on every node.
    svc.settingsVersion = s.versions.next(now);
    s.bump(ns, svc, now);
    const changed = {
      namespace: ref.namespace,
      group: ref.group,
      service: ref.service,
      protectThreshold: threshold,
      metadata: settings.metadata,
      version: svc.settingsVersion,
      replication: false,
    };
    for (const l of s.settingsListeners) l(changed);
  }
  return s.summarize(svc);
}
