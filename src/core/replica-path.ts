/**
 * The replica path: what peers send (a replication, an answer to one, the start-up sync, an
 * anti-entropy repair) merged into this node by write version (replica-rules.ts), and the adoption
 * of a copy without a version (a Eureka server's). Validated like a registration; a version dated
 * beyond the tolerated clock skew is refused. Merges that change something are announced as
 * replicated writes (never replicated again).
 */
import { RegistryError } from './errors.js';
import {
  buildRecord,
  changeRecord,
  checkRoom,
  dataOf,
  registrationOf,
  sameMetadata,
  sameVisible,
  type InstanceAddress,
  type InstanceState,
  type ServiceAddress,
} from './instance-record.js';
import type { InstanceEntry, InstanceRecord, InstanceRef, InstanceStatus } from './model.js';
import type { Found, RegistryState, ServiceSettings } from './registry-state.js';
import type { ServiceState } from './service-state.js';
import { decideHeartbeat, decideReplica, decideTombstone } from './replica-rules.js';
import { makeTombstone, type Tombstone } from './tombstones.js';
import { normalizeInstanceRef, normalizeRegistration, normalizeServiceRef, normalizeServiceSettings, normalizeStatus } from './validate.js';
import { isVersionAhead } from './version-clock.js';

/** How a peer's copy of an instance was merged (see replica-rules.ts). */
export type ReplicaResult =
  | { readonly kind: 'adopted'; readonly record: InstanceRecord }
  /** The same write was held here; the lease moved forward if the copy's was later. */
  | { readonly kind: 'same' }
  /** This node holds a newer write; the sender should take it. */
  | { readonly kind: 'newer-here'; readonly record: InstanceRecord; readonly lastRenewalMs: number }
  /** This node holds a newer cancel; the sender should apply it. */
  | { readonly kind: 'deleted'; readonly tombstone: Tombstone }
  /** The copy's lease had run out: a stale copy, ignored. */
  | { readonly kind: 'expired' };

/** How a peer's cancel was merged. */
export type TombstoneResult =
  | { readonly kind: 'removed' }
  | { readonly kind: 'recorded' }
  | { readonly kind: 'known' }
  | { readonly kind: 'newer-here'; readonly record: InstanceRecord; readonly lastRenewalMs: number };

/** How a peer's renewal was merged. */
export type HeartbeatResult =
  | { readonly kind: 'renewed' }
  /** Unknown here, or an older write here: the sender should send the record. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'newer-here'; readonly record: InstanceRecord; readonly lastRenewalMs: number }
  | { readonly kind: 'deleted'; readonly tombstone: Tombstone };

/** A cancel as peers exchange it. */
export interface TombstoneInput extends InstanceAddress {
  readonly version: number;
  readonly deletedAt: number;
  /** When the cancelling node forgets it; this node keeps it at least that long (and its own minimum). */
  readonly expiresAt: number;
  /** The cancel of a persistent instance (stored by every node that learns of it); absent = not known to be. */
  readonly persistent?: boolean | undefined;
}

function newerHere(found: Found): { kind: 'newer-here'; record: InstanceRecord; lastRenewalMs: number } {
  return { kind: 'newer-here', record: found.entry.record, lastRenewalMs: found.entry.lastRenewalMs };
}

/** Refuses a peer's write version that is missing or dated beyond the tolerated clock skew. */
function checkPeerVersion(s: RegistryState, version: number, now: number): void {
  if (!Number.isSafeInteger(version) || version <= 0) {
    throw RegistryError.invalid([{ field: 'version', description: `version must be a positive integer (got ${version})` }]);
  }
  if (isVersionAhead(version, now, s.options.maxClockSkewMs)) {
    throw RegistryError.invalid([
      {
        field: 'version',
        description: `version ${version} is dated ${Math.floor(version / 1000) - now} ms ahead of this node's clock; at most ${s.options.maxClockSkewMs} ms of clock skew is accepted (check the peers' clocks)`,
      },
    ]);
  }
}

/** A peer's instance state as a record of this node (validated like a registration), with what is held now. */
function replicaRecord(
  s: RegistryState,
  address: InstanceAddress,
  state: InstanceState,
  now: number,
  version: number,
): { ref: InstanceRef; record: InstanceRecord; found: Found | undefined } {
  const reg = normalizeRegistration(registrationOf(address, state), s.options, now);
  const status = normalizeStatus('instance.status', state.status, true) as InstanceStatus;
  const { ref } = reg;
  const found = s.find(ref);
  checkRoom(s.service(ref), ref, found === undefined, s.options);
  const record = buildRecord(
    ref.instanceId,
    dataOf(reg, s.interner, found?.svc ?? s.service(ref)),
    { status, overriddenStatus: reg.overriddenStatus, healthy: state.healthy, version, registrant: state.registrant, transport: state.transport },
    found?.entry.record,
    now,
  );
  return { ref, record, found };
}

/**
 * Takes an instance exactly as a peer without write versions holds it (a Eureka server's 409 copy
 * or its registry at start-up), at a new write version of this node; the lease is renewed now.
 * Not announced as a write.
 */
export function adopt(s: RegistryState, address: InstanceAddress, state: InstanceState): InstanceRecord {
  const now = s.clock.nowMs();
  const { ref, record, found } = replicaRecord(s, address, state, now, 0);
  if (found !== undefined && sameVisible(found.entry.record, record)) {
    found.entry.lastRenewalMs = now;
    return found.entry.record;
  }
  const versioned = changeRecord(record, { version: s.versions.next(now) });
  s.tombstones.delete(ref);
  s.store(ref, found?.entry, versioned, now);
  return versioned;
}

export function applyReplica(s: RegistryState, address: InstanceAddress, state: InstanceState, lastRenewalMs: number): ReplicaResult {
  const now = s.clock.nowMs();
  checkPeerVersion(s, state.version, now);
  const { ref, record, found } = replicaRecord(s, address, state, now, state.version);
  const tombstone = s.tombstones.get(ref);
  s.versions.observe(state.version);
  const renewedAt = lastRenewalMs > 0 ? Math.min(now, lastRenewalMs) : now;
  const incoming = { version: record.version, ephemeral: record.ephemeral, leaseDurationMs: record.leaseDurationMs, lastRenewalMs: renewedAt };
  switch (decideReplica(found?.entry.record, tombstone, incoming, now)) {
    case 'deleted':
      return { kind: 'deleted', tombstone: tombstone as Tombstone };
    case 'newer-here':
      return newerHere(found as Found);
    case 'expired':
      return { kind: 'expired' };
    case 'same': {
      const f = found as Found;
      if (renewedAt > f.entry.lastRenewalMs) {
        s.renewLease(f, now, renewedAt, f.entry.record.status);
        s.emit(() => ({ kind: 'renew', ref, record: f.entry.record, lastRenewalMs: f.entry.lastRenewalMs, replication: true }));
      }
      return { kind: 'same' };
    }
    case 'adopt':
      if (tombstone !== undefined) s.tombstones.delete(ref);
      s.store(ref, found?.entry, record, now, renewedAt);
      s.emit(() => ({ kind: 'register', ref, record, lastRenewalMs: renewedAt, replication: true }));
      return { kind: 'adopted', record };
  }
}

export function applyTombstone(s: RegistryState, input: TombstoneInput): TombstoneResult {
  const ref = normalizeInstanceRef(input, s.options);
  const now = s.clock.nowMs();
  checkPeerVersion(s, input.version, now);
  s.versions.observe(input.version);
  const found = s.find(ref);
  const decision = decideTombstone(found?.entry.record, s.tombstones.get(ref), input.version);
  if (decision === 'newer-here') return newerHere(found as Found);
  if (decision === 'known') return { kind: 'known' };
  const deletedAt = Math.min(now, input.deletedAt > 0 ? input.deletedAt : now);
  const o = s.options;
  const expiresAt = Math.min(
    Math.max(input.expiresAt, s.tombstoneExpiry(found?.entry.record, deletedAt)),
    now + Math.max(o.tombstoneRetentionMs, o.persistentTombstoneRetentionMs),
  );
  const persistent = found !== undefined ? !found.entry.record.ephemeral : input.persistent === true;
  const tombstone = makeTombstone(ref, input.version, deletedAt, expiresAt, persistent);
  if (found !== undefined) s.remove(found, now);
  s.tombstones.put(tombstone);
  if (found === undefined) {
    // A cancel of a persistent instance this node never held is still announced, so the store keeps
    // it: a stale peer's older copy must not bring it back after a restart.
    if (persistent) s.emit(() => ({ kind: 'cancel', ref, tombstone, replication: true }));
    return { kind: 'recorded' };
  }
  s.emit(() => ({ kind: 'cancel', ref, tombstone, replication: true }));
  return { kind: 'removed' };
}

export function renewReplica(s: RegistryState, address: InstanceAddress, version: number, renewedAtMs: number): HeartbeatResult {
  const ref = normalizeInstanceRef(address, s.options);
  const now = s.clock.nowMs();
  checkPeerVersion(s, version, now);
  s.versions.observe(version);
  const found = s.find(ref);
  const tombstone = s.tombstones.get(ref);
  switch (decideHeartbeat(found?.entry.record, tombstone, version)) {
    case 'deleted':
      return { kind: 'deleted', tombstone: tombstone as Tombstone };
    case 'unknown':
      return { kind: 'unknown' };
    case 'newer-here':
      return newerHere(found as Found);
    case 'renew': {
      const f = found as Found;
      const entry: InstanceEntry = f.entry;
      s.renewLease(f, now, renewedAtMs > 0 ? Math.min(now, renewedAtMs) : now, entry.record.status);
      s.emit(() => ({ kind: 'renew', ref, record: entry.record, lastRenewalMs: entry.lastRenewalMs, replication: true }));
      return { kind: 'renewed' };
    }
  }
}

/** A service's settings as peers (and the store) exchange them. */
export interface SettingsInput extends ServiceAddress {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Their write version; 0 = unknown (an older node or store): taken only when nothing versioned is held here. */
  readonly version: number;
}

/** How a peer's settings were merged: taken, the same write as here, or older than what is held here (the result carries it). */
export type SettingsResult = { readonly kind: 'adopted' } | { readonly kind: 'same' } | { readonly kind: 'newer-here'; readonly settings: ServiceSettings };

/**
 * Merges a peer's (or the store's) settings of a service by write version, as instances are
 * merged: a higher version replaces what is held here and is announced as a replicated settings
 * change (stored, pushed, never replicated again); the same version changes nothing; a lower one is
 * refused with what is held here.
 */
export function applyServiceSettings(s: RegistryState, input: SettingsInput): SettingsResult {
  const ref = normalizeServiceRef(input, s.options);
  const settings = normalizeServiceSettings(input, s.options);
  const now = s.clock.nowMs();
  if (input.version !== 0) {
    checkPeerVersion(s, input.version, now);
    s.versions.observe(input.version);
  }
  const held = s.service(ref);
  const heldVersion = held?.explicit === true ? held.settingsVersion : -1;
  if (input.version === 0 ? heldVersion > 0 : input.version < heldVersion) {
    const h = held as ServiceState;
    return {
      kind: 'newer-here',
      settings: { ...ref, protectThreshold: h.protectThreshold ?? s.options.defaultProtectThreshold, metadata: h.metadata, version: h.settingsVersion },
    };
  }
  if (held !== undefined && heldVersion === input.version && held.protectThreshold === settings.protectThreshold && sameMetadata(held.metadata, settings.metadata)) {
    return { kind: 'same' };
  }
  const ns = s.namespaceOrCreate(ref.namespace);
  const svc = s.serviceOrCreate(ns, ref);
  svc.explicit = true;
  svc.protectThreshold = settings.protectThreshold;
  svc.metadata = settings.metadata;
  svc.settingsVersion = input.version;
  s.bump(ns, svc, now);
  const change = { ...ref, protectThreshold: settings.protectThreshold, metadata: settings.metadata, version: input.version, replication: true };
  for (const l of s.settingsListeners) l(change);
  return { kind: 'adopted' };
}
