/**
 * The registry: a pure, clock-driven state machine implementing Eureka's lease discipline over
 * Nacos's namespace › group › service › cluster › instance model. No I/O, no timers: time comes from
 * the injected Clock, randomness from the injected `random`. Methods are synchronous and never
 * interleave; every rejected request throws RegistryError and changes nothing.
 *
 * Change notification: after every committed change that alters what clients see, each listener
 * registered with `onServiceChanged` is called synchronously with the service and its new revision.
 * The shell pushes, replicates and logs from there.
 */
import type { Clock } from './clock.js';
import { RegistryError } from './errors.js';
import { pickForEviction } from './eviction.js';
import { expectedRenewsPerMinute, isLeaseExpired, leaseExpiresAt } from './lease.js';
import { PauseLedger } from './pause-ledger.js';
import { decideHeartbeat, decideReplica, decideTombstone } from './replica-rules.js';
import { TombstoneStore, type Tombstone } from './tombstones.js';
import { isVersionAhead, VersionClock } from './version-clock.js';
import { replicaDigest } from './checksum.js';
import {
  serviceKey,
  type ActionType,
  type InstanceChange,
  type InstanceEntry,
  type InstanceRecord,
  type InstanceRef,
  type InstanceStatus,
  type ServiceFilter,
  type ServiceRef,
  type ServiceSummary,
  type ServiceView,
  isUsable,
} from './model.js';
import { NamespaceState } from './namespace-state.js';
import { resolveRegistryOptions, type RegistryOptions } from './options.js';
import { RenewMeter } from './renew-meter.js';
import { evictionLimit, selfPreservationState, type SelfPreservationState } from './self-preservation.js';
import { ServiceState } from './service-state.js';
import { buildView } from './service-view.js';
import { resolveStatus } from './status-rules.js';
import {
  normalizeGroupFilter,
  normalizeInstanceRef,
  normalizeNamespace,
  normalizeRegistration,
  normalizeServiceRef,
  normalizeServiceSettings,
  normalizeStatus,
  normalizeTimestamp,
  type RegisterInput,
} from './validate.js';

/** What the registry needs from its host. */
export interface RegistryDeps {
  readonly clock: Clock;
  /** Uniform floats in [0, 1); picks eviction victims. */
  readonly random: () => number;
  readonly options?: Partial<RegistryOptions>;
}

/** Which instances an eviction pass considers: all, or only heartbeat-checked (Nacos-style) ones. */
export type EvictionScope = 'all' | 'heartbeat';

/** Whether a write came from a client or from a peer (replications are never replicated again). */
export interface WriteContext {
  readonly replication?: boolean;
}

/** Announced after each change of what clients see. */
export interface ServiceChange extends ServiceRef {
  readonly revision: number;
}

/** Must not throw; runs synchronously inside the registry call that made the change. */
export type ServiceChangeListener = (change: ServiceChange) => void;

/**
 * A write that succeeded, as a peer must repeat it (the replicator listens). Emitted for every
 * successful register, renew, cancel, status update and override deletion, including no-op ones,
 * with `replication` telling whether it came from a peer. Evictions and heartbeat timeouts are
 * local decisions and are not emitted; neither are adoptions.
 */
export type WriteEvent =
  | { readonly kind: 'register'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly lastRenewalMs: number; readonly replication: boolean }
  | { readonly kind: 'renew'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly lastRenewalMs: number; readonly replication: boolean }
  | { readonly kind: 'cancel'; readonly ref: InstanceRef; readonly tombstone: Tombstone; readonly replication: boolean }
  | {
      readonly kind: 'status';
      readonly ref: InstanceRef;
      readonly record: InstanceRecord;
      readonly status: InstanceStatus;
      readonly lastDirtyTimestamp: number | undefined;
      readonly replication: boolean;
    }
  | { readonly kind: 'delete-override'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly status: InstanceStatus | undefined; readonly replication: boolean };

/** Must not throw. */
export type WriteListener = (event: WriteEvent) => void;

/** An instance's full state as a peer holds it (for adoption); `version` 0 = unknown (a Eureka peer). */
export type InstanceState = Omit<InstanceRecord, 'instanceId' | 'registrationTimestamp' | 'serviceUpTimestamp' | 'evictionTimestamp'>;

/** Unvalidated address of an instance (as it arrives from a transport). */
export interface InstanceAddress {
  readonly namespace?: string | undefined;
  readonly group?: string | undefined;
  readonly service?: string | undefined;
  readonly instanceId?: string | undefined;
}

/** Unvalidated address of a service. */
export type ServiceAddress = Omit<InstanceAddress, 'instanceId'>;

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
}

/** One instance as a peer exports it: where, the record, and its lease's last renewal. */
export interface ReplicaEntry extends ServiceRef {
  readonly record: InstanceRecord;
  readonly lastRenewalMs: number;
}

/** A service's replica digest (anti-entropy). */
export interface ReplicaDigestEntry extends ServiceRef {
  readonly digest: string;
}

export interface EvictionPlan {
  readonly selfPreservation: SelfPreservationState;
  /** Expired lease-bound instances found (all of them, also under self-preservation). */
  readonly expiredCount: number;
  /** The bounded random sample to evict now; empty under self-preservation. */
  readonly toEvict: readonly InstanceRef[];
}

export interface RegistryStats {
  readonly namespaces: number;
  readonly services: number;
  readonly instances: number;
  readonly leaseBoundInstances: number;
  readonly expectedRenewsPerMinute: number;
  readonly renewsLastMinute: number;
  readonly selfPreservation: SelfPreservationState;
  /** Tombstones held, and how many were dropped early because the store was full. */
  readonly tombstones: number;
  readonly tombstonesDropped: number;
}

export interface ServicePage {
  readonly services: readonly ServiceSummary[];
  readonly nextPageToken: string;
  readonly totalSize: number;
}

const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** True when two records would look the same to every client (snapshots, deltas). */
function sameVisible(a: InstanceRecord, b: InstanceRecord): boolean {
  return (
    a.ip === b.ip &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.healthy === b.healthy &&
    a.reportedHealthy === b.reportedHealthy &&
    a.unhealthyAfterMs === b.unhealthyAfterMs &&
    a.enabled === b.enabled &&
    a.ephemeral === b.ephemeral &&
    a.cluster === b.cluster &&
    a.status === b.status &&
    a.overriddenStatus === b.overriddenStatus &&
    a.registeredStatus === b.registeredStatus &&
    a.lastDirtyTimestamp === b.lastDirtyTimestamp &&
    a.leaseDurationMs === b.leaseDurationMs &&
    a.renewalIntervalMs === b.renewalIntervalMs &&
    sameMetadata(a.metadata, b.metadata)
  );
}

function describe(ref: InstanceRef): string {
  return `instance ${ref.instanceId} of ${serviceKey(ref.group, ref.service)} in namespace ${ref.namespace}`;
}

export class Registry {
  readonly options: RegistryOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly namespaces = new Map<string, NamespaceState>();
  private readonly listeners = new Set<ServiceChangeListener>();
  private readonly writeListeners = new Set<WriteListener>();
  private readonly meter = new RenewMeter();
  private readonly versions = new VersionClock();
  private readonly tombstones: TombstoneStore;
  private readonly pauses = new PauseLedger();
  private lastRevision = 0;
  private expectedPerMinute = 0;
  private leaseBound = 0;
  /** Instances with a heartbeat timeout (Nacos-style); the beat check is free while there are none. */
  private heartbeatChecked = 0;
  private instanceCount = 0;

  constructor(deps: RegistryDeps) {
    this.clock = deps.clock;
    this.random = deps.random;
    this.options = resolveRegistryOptions(deps.options);
    this.tombstones = new TombstoneStore(this.options.maxTombstones);
  }

  /** Adds a change listener; returns the function that removes it. */
  onServiceChanged(listener: ServiceChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a write listener; returns the function that removes it. */
  onWrite(listener: WriteListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  private emit(event: () => WriteEvent): void {
    if (this.writeListeners.size === 0) return;
    const e = event();
    for (const l of this.writeListeners) l(e);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Registers or re-registers an instance. When the stored copy has a newer last-dirty timestamp
   * than the registrant's, the stored data is kept (only the lease is refreshed). The effective
   * status follows the overridden-status rules; an existing override survives re-registration.
   */
  register(input: RegisterInput, ctx: WriteContext = {}): RegisterResult {
    const now = this.clock.nowMs();
    const reg = normalizeRegistration(input, this.options, now);
    const { ref } = reg;
    const key = serviceKey(ref.group, ref.service);
    const existingSvc = this.namespaces.get(ref.namespace)?.services.get(key);
    const existing = existingSvc?.instances.get(ref.instanceId);
    if (existing === undefined && existingSvc !== undefined && existingSvc.instances.size >= this.options.maxInstancesPerService) {
      throw RegistryError.limit(
        `service ${key} in namespace ${ref.namespace} already has ${existingSvc.instances.size} instances, the limit (max instances per service)`,
      );
    }
    const old = existing?.record;
    const keptExisting = old !== undefined && old.lastDirtyTimestamp > reg.lastDirtyTimestamp;
    const data = keptExisting ? old : { ...reg, registeredStatus: reg.status, reportedHealthy: reg.healthy };
    const overriddenStatus = old?.overriddenStatus ?? reg.overriddenStatus;
    const { status } = resolveStatus({
      reported: data.registeredStatus,
      overridden: overriddenStatus,
      existing: old?.status,
      replication: ctx.replication === true,
    });
    const serviceUpTimestamp = old !== undefined && old.serviceUpTimestamp > 0 ? old.serviceUpTimestamp : status === 'UP' ? now : 0;
    const draft: InstanceRecord = {
      instanceId: ref.instanceId,
      ip: data.ip,
      port: data.port,
      weight: data.weight,
      // Registering renews the lease, so a heartbeat timeout no longer applies.
      healthy: data.reportedHealthy,
      reportedHealthy: data.reportedHealthy,
      unhealthyAfterMs: data.unhealthyAfterMs,
      enabled: data.enabled,
      ephemeral: data.ephemeral,
      cluster: data.cluster,
      metadata: data.metadata,
      status,
      overriddenStatus,
      registeredStatus: data.registeredStatus,
      lastDirtyTimestamp: data.lastDirtyTimestamp,
      lastUpdatedTimestamp: now,
      leaseDurationMs: data.leaseDurationMs,
      renewalIntervalMs: data.renewalIntervalMs,
      registrationTimestamp: old?.registrationTimestamp ?? now,
      serviceUpTimestamp,
      evictionTimestamp: 0,
      version: old?.version ?? 0,
    };
    const replication = ctx.replication === true;
    if (existing !== undefined && old !== undefined && sameVisible(old, draft)) {
      existing.lastRenewalMs = now;
      this.emit(() => ({ kind: 'register', ref, record: old, lastRenewalMs: now, replication }));
      return { record: old, created: false, changed: false, keptExisting, lastRenewalMs: now };
    }
    // A change: a new write version, above any this node has seen (a cancel's included).
    const record: InstanceRecord = Object.freeze({ ...draft, version: this.versions.next(now) });
    this.tombstones.delete(ref);
    this.store(ref, existing, record, now);
    this.emit(() => ({ kind: 'register', ref, record, lastRenewalMs: now, replication }));
    return { record, created: existing === undefined, changed: true, keptExisting, lastRenewalMs: now };
  }

  /**
   * Renews a lease. NOT_FOUND when the instance is unknown, when the caller's dirty timestamp is
   * newer than the stored one (the caller must re-register), or when the effective status is
   * UNKNOWN (an override was deleted with UNKNOWN; Eureka's rule). CONFLICT, carrying the stored
   * copy, when a replication's dirty timestamp is older than the stored one.
   */
  renew(address: InstanceAddress & { lastDirtyTimestamp?: number | undefined }, ctx: WriteContext = {}): RenewResult {
    const ref = normalizeInstanceRef(address, this.options);
    const now = this.clock.nowMs();
    const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp, now, this.options);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const { ns, svc, entry } = found;
    const rec = entry.record;
    if (dirty !== undefined) {
      if (dirty > rec.lastDirtyTimestamp) {
        throw RegistryError.notFound(
          `${describe(ref)} is newer on the caller (last_dirty_timestamp ${dirty} > ${rec.lastDirtyTimestamp}); register it again`,
        );
      }
      if (dirty < rec.lastDirtyTimestamp && ctx.replication === true) {
        throw RegistryError.conflict(
          `${describe(ref)} is newer here (last_dirty_timestamp ${rec.lastDirtyTimestamp} > ${dirty})`,
          rec,
        );
      }
    }
    const { status } = resolveStatus({
      reported: rec.status,
      overridden: rec.overriddenStatus,
      existing: rec.status,
      replication: ctx.replication === true,
    });
    if (status === 'UNKNOWN') {
      throw RegistryError.notFound(`${describe(ref)} has status UNKNOWN (its status override was deleted); register it again`);
    }
    this.renewEntry(ns, svc, entry, now, now, status);
    const record = entry.record;
    this.emit(() => ({ kind: 'renew', ref, record, lastRenewalMs: now, replication: ctx.replication === true }));
    return { record, leaseExpiresAt: leaseExpiresAt(entry), renewalIntervalMs: rec.renewalIntervalMs };
  }

  /**
   * Renews a lease at `renewedAtMs` (later renewals win). A renewal ends a heartbeat timeout: the
   * instance is as healthy as it reported. Not a write: the version stays.
   */
  private renewEntry(ns: NamespaceState, svc: ServiceState, entry: InstanceEntry, now: number, renewedAtMs: number, status: InstanceStatus): void {
    if (renewedAtMs > entry.lastRenewalMs) entry.lastRenewalMs = renewedAtMs;
    this.meter.record(now);
    const rec = entry.record;
    const healthy = rec.reportedHealthy;
    if (status !== rec.status || healthy !== rec.healthy) {
      entry.record = Object.freeze({ ...rec, status, healthy, lastUpdatedTimestamp: now });
      this.commit(ns, svc, 'MODIFIED', entry.record, now);
    }
  }

  /**
   * Removes an instance and keeps a tombstone at a new write version, so no older copy of it can
   * come back from a peer. NOT_FOUND when it is not registered. Returns the removed record.
   */
  cancel(address: InstanceAddress, ctx: WriteContext = {}): InstanceRecord {
    const ref = normalizeInstanceRef(address, this.options);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const now = this.clock.nowMs();
    const rec = found.entry.record;
    const removed = this.remove(found.ns, found.svc, found.entry, now);
    const tombstone: Tombstone = Object.freeze({ ...ref, version: this.versions.next(now), deletedAt: now, expiresAt: this.tombstoneExpiry(rec, now) });
    this.tombstones.put(tombstone);
    this.emit(() => ({ kind: 'cancel', ref, tombstone, replication: ctx.replication === true }));
    return removed;
  }

  /** How long a cancel of `rec` at `deletedAt` is remembered (see tombstones.ts). */
  private tombstoneExpiry(rec: InstanceRecord | undefined, deletedAt: number): number {
    const o = this.options;
    const keep =
      rec === undefined
        ? o.tombstoneRetentionMs
        : rec.ephemeral
          ? Math.max(o.tombstoneRetentionMs, rec.leaseDurationMs + o.maxClockSkewMs)
          : Math.max(o.tombstoneRetentionMs, o.persistentTombstoneRetentionMs);
    return deletedAt + keep;
  }

  /**
   * Sets an overridden status: the instance takes it at once and keeps it through renewals and
   * re-registrations (unless it reports DOWN or STARTING) until the override is deleted.
   */
  setStatus(
    address: InstanceAddress & { status?: string | undefined; lastDirtyTimestamp?: number | undefined },
    ctx: WriteContext = {},
  ): InstanceRecord {
    const ref = normalizeInstanceRef(address, this.options);
    const status = normalizeStatus('status', address.status, true) as InstanceStatus;
    const now = this.clock.nowMs();
    const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp, now, this.options);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const rec = found.entry.record;
    const draft: InstanceRecord = {
      ...rec,
      status,
      overriddenStatus: status,
      lastDirtyTimestamp: dirty ?? rec.lastDirtyTimestamp,
      serviceUpTimestamp: status === 'UP' && rec.serviceUpTimestamp === 0 ? now : rec.serviceUpTimestamp,
      lastUpdatedTimestamp: now,
    };
    const replication = ctx.replication === true;
    if (sameVisible(rec, draft)) {
      this.emit(() => ({ kind: 'status', ref, record: rec, status, lastDirtyTimestamp: dirty, replication }));
      return rec;
    }
    const next: InstanceRecord = Object.freeze({ ...draft, version: this.versions.next(now) });
    found.entry.record = next;
    this.commit(found.ns, found.svc, 'MODIFIED', next, now);
    this.emit(() => ({ kind: 'status', ref, record: next, status, lastDirtyTimestamp: dirty, replication }));
    return next;
  }

  /**
   * Deletes an overridden status. The instance takes `status` when given, else the status it last
   * registered with. Without an override there is nothing to delete and nothing changes.
   */
  deleteStatusOverride(address: InstanceAddress & { status?: string | undefined }, ctx: WriteContext = {}): InstanceRecord {
    const ref = normalizeInstanceRef(address, this.options);
    const requested = normalizeStatus('status', address.status, false);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const rec = found.entry.record;
    const replication = ctx.replication === true;
    if (rec.overriddenStatus === undefined) {
      this.emit(() => ({ kind: 'delete-override', ref, record: rec, status: requested, replication }));
      return rec;
    }
    const now = this.clock.nowMs();
    const status = requested ?? rec.registeredStatus;
    const next: InstanceRecord = Object.freeze({
      ...rec,
      status,
      overriddenStatus: undefined,
      serviceUpTimestamp: status === 'UP' && rec.serviceUpTimestamp === 0 ? now : rec.serviceUpTimestamp,
      lastUpdatedTimestamp: now,
      version: this.versions.next(now),
    });
    found.entry.record = next;
    this.commit(found.ns, found.svc, 'MODIFIED', next, now);
    this.emit(() => ({ kind: 'delete-override', ref, record: next, status: requested, replication }));
    return next;
  }

  /**
   * Takes an instance exactly as a peer without write versions holds it (a Eureka server's 409 copy
   * or its registry at start-up): every field, status, override and dirty timestamp, at a new write
   * version of this node; the lease is renewed now. Validated like a registration; not announced as
   * a write (nothing is replicated). Peers that carry versions go through applyReplica.
   */
  adopt(address: InstanceAddress, state: InstanceState): InstanceRecord {
    const now = this.clock.nowMs();
    const { ref, record, existing } = this.replicaRecord(address, state, now);
    if (existing !== undefined && sameVisible(existing.record, record)) {
      existing.lastRenewalMs = now;
      return existing.record;
    }
    const versioned = Object.freeze({ ...record, version: this.versions.next(now) });
    this.tombstones.delete(ref);
    this.store(ref, existing, versioned, now);
    return versioned;
  }

  /**
   * Merges a peer's copy of an instance, at its write version, with its lease as last renewed on
   * the peer (see replica-rules.ts): adopted when newer, refused when a newer write or cancel is
   * held here (the result carries it, for the sender), ignored when its lease has run out.
   * Announced as a replicated write when it changes something.
   */
  applyReplica(address: InstanceAddress, state: InstanceState, lastRenewalMs: number): ReplicaResult {
    const now = this.clock.nowMs();
    this.checkPeerVersion(state.version, now);
    const { ref, record, existing, ns, svc } = this.replicaRecord(address, state, now);
    const tombstone = this.tombstones.get(ref);
    this.versions.observe(state.version);
    const renewedAt = lastRenewalMs > 0 ? Math.min(now, lastRenewalMs) : now;
    const decision = decideReplica(existing?.record, tombstone, { ...record, lastRenewalMs: renewedAt }, now);
    switch (decision) {
      case 'deleted':
        return { kind: 'deleted', tombstone: tombstone as Tombstone };
      case 'newer-here':
        return { kind: 'newer-here', record: (existing as InstanceEntry).record, lastRenewalMs: (existing as InstanceEntry).lastRenewalMs };
      case 'expired':
        return { kind: 'expired' };
      case 'same': {
        const entry = existing as InstanceEntry;
        if (renewedAt > entry.lastRenewalMs && ns !== undefined && svc !== undefined) {
          this.renewEntry(ns, svc, entry, now, renewedAt, entry.record.status);
          this.emit(() => ({ kind: 'renew', ref, record: entry.record, lastRenewalMs: entry.lastRenewalMs, replication: true }));
        }
        return { kind: 'same' };
      }
      case 'adopt': {
        if (tombstone !== undefined) this.tombstones.delete(ref);
        this.store(ref, existing, record, now, renewedAt);
        this.emit(() => ({ kind: 'register', ref, record, lastRenewalMs: renewedAt, replication: true }));
        return { kind: 'adopted', record };
      }
    }
  }

  /**
   * Merges a peer's cancel: removes an older record here (announced as a replicated cancel),
   * remembers the tombstone either way, and refuses it when a newer write is held here.
   */
  applyTombstone(input: TombstoneInput): TombstoneResult {
    const ref = normalizeInstanceRef(input, this.options);
    const now = this.clock.nowMs();
    this.checkPeerVersion(input.version, now);
    this.versions.observe(input.version);
    const found = this.find(ref);
    const held = this.tombstones.get(ref);
    const decision = decideTombstone(found?.entry.record, held, input.version);
    if (decision === 'newer-here' && found !== undefined) return { kind: 'newer-here', record: found.entry.record, lastRenewalMs: found.entry.lastRenewalMs };
    if (decision === 'known') return { kind: 'known' };
    const deletedAt = Math.min(now, input.deletedAt > 0 ? input.deletedAt : now);
    const expiresAt = Math.min(
      Math.max(input.expiresAt, this.tombstoneExpiry(found?.entry.record, deletedAt)),
      now + Math.max(this.options.tombstoneRetentionMs, this.options.persistentTombstoneRetentionMs),
    );
    const tombstone: Tombstone = Object.freeze({ ...ref, version: input.version, deletedAt, expiresAt });
    if (found !== undefined) this.remove(found.ns, found.svc, found.entry, now);
    this.tombstones.put(tombstone);
    if (found === undefined) return { kind: 'recorded' };
    this.emit(() => ({ kind: 'cancel', ref, tombstone, replication: true }));
    return { kind: 'removed' };
  }

  /**
   * Merges a peer's renewal of the record at `version`, renewed there at `renewedAtMs` (0 = now):
   * renews the lease when that record is held here; otherwise says what the sender should do.
   */
  renewReplica(address: InstanceAddress, version: number, renewedAtMs: number): HeartbeatResult {
    const ref = normalizeInstanceRef(address, this.options);
    const now = this.clock.nowMs();
    this.checkPeerVersion(version, now);
    this.versions.observe(version);
    const found = this.find(ref);
    const tombstone = this.tombstones.get(ref);
    switch (decideHeartbeat(found?.entry.record, tombstone, version)) {
      case 'deleted':
        return { kind: 'deleted', tombstone: tombstone as Tombstone };
      case 'unknown':
        return { kind: 'unknown' };
      case 'newer-here': {
        const entry = (found as { entry: InstanceEntry }).entry;
        return { kind: 'newer-here', record: entry.record, lastRenewalMs: entry.lastRenewalMs };
      }
      case 'renew': {
        const { ns, svc, entry } = found as { ns: NamespaceState; svc: ServiceState; entry: InstanceEntry };
        const renewedAt = renewedAtMs > 0 ? Math.min(now, renewedAtMs) : now;
        this.renewEntry(ns, svc, entry, now, renewedAt, entry.record.status);
        this.emit(() => ({ kind: 'renew', ref, record: entry.record, lastRenewalMs: entry.lastRenewalMs, replication: true }));
        return { kind: 'renewed' };
      }
    }
  }

  /** Refuses a peer's write version that is missing or dated beyond the tolerated clock skew. */
  private checkPeerVersion(version: number, now: number): void {
    if (!Number.isSafeInteger(version) || version <= 0) {
      throw RegistryError.invalid([{ field: 'version', description: `version must be a positive integer (got ${version})` }]);
    }
    if (isVersionAhead(version, now, this.options.maxClockSkewMs)) {
      throw RegistryError.invalid([
        {
          field: 'version',
          description: `version ${version} is dated ${Math.floor(version / 1000) - now} ms ahead of this node's clock; at most ${this.options.maxClockSkewMs} ms of clock skew is accepted (check the peers' clocks)`,
        },
      ]);
    }
  }

  /** A peer's instance state as a record of this node (validated like a registration), with what is held now. */
  private replicaRecord(
    address: InstanceAddress,
    state: InstanceState,
    now: number,
  ): { ref: InstanceRef; record: InstanceRecord; existing: InstanceEntry | undefined; ns: NamespaceState | undefined; svc: ServiceState | undefined } {
    const reg = normalizeRegistration(registrationOf(address, state), this.options, now);
    const effective = normalizeStatus('instance.status', state.status, true) as InstanceStatus;
    const { ref } = reg;
    const key = serviceKey(ref.group, ref.service);
    const ns = this.namespaces.get(ref.namespace);
    const svc = ns?.services.get(key);
    const existing = svc?.instances.get(ref.instanceId);
    if (existing === undefined && svc !== undefined && svc.instances.size >= this.options.maxInstancesPerService) {
      throw RegistryError.limit(`service ${key} in namespace ${ref.namespace} already has ${svc.instances.size} instances, the limit (max instances per service)`);
    }
    const old = existing?.record;
    const record: InstanceRecord = Object.freeze({
      instanceId: ref.instanceId,
      ip: reg.ip,
      port: reg.port,
      weight: reg.weight,
      healthy: state.healthy,
      reportedHealthy: reg.healthy,
      unhealthyAfterMs: reg.unhealthyAfterMs,
      enabled: reg.enabled,
      ephemeral: reg.ephemeral,
      cluster: reg.cluster,
      metadata: reg.metadata,
      status: effective,
      overriddenStatus: reg.overriddenStatus,
      registeredStatus: reg.status,
      lastDirtyTimestamp: reg.lastDirtyTimestamp,
      lastUpdatedTimestamp: now,
      leaseDurationMs: reg.leaseDurationMs,
      renewalIntervalMs: reg.renewalIntervalMs,
      registrationTimestamp: old?.registrationTimestamp ?? now,
      serviceUpTimestamp: old !== undefined && old.serviceUpTimestamp > 0 ? old.serviceUpTimestamp : effective === 'UP' ? now : 0,
      evictionTimestamp: 0,
      version: state.version,
    });
    return { ref, record, existing, ns, svc };
  }

  /** Creates a service or replaces its settings; an explicitly created service is kept when empty. */
  updateService(
    address: ServiceAddress & { protectThreshold?: number | undefined; metadata?: Readonly<Record<string, string>> | undefined },
  ): ServiceSummary {
    const ref = normalizeServiceRef(address, this.options);
    const settings = normalizeServiceSettings(address, this.options);
    const ns = this.namespaceOrCreate(ref.namespace);
    const svc = this.serviceOrCreate(ns, ref);
    svc.explicit = true;
    const threshold = settings.protectThreshold;
    if (svc.protectThreshold !== threshold || !sameMetadata(svc.metadata, settings.metadata) || svc.revision === 0) {
      svc.protectThreshold = threshold;
      svc.metadata = settings.metadata;
      this.bump(ns, svc, this.clock.nowMs());
    }
    return this.summarize(svc);
  }

  // ---------------------------------------------------------------- eviction

  /**
   * Decides what to evict now, without changing anything: under self-preservation nothing;
   * otherwise a random sample of the expired lease-bound instances across all services, at most
   * `size − ⌊size × threshold⌋`. Time the server was paused (notePause) is not held against leases.
   */
  planEviction(scope: EvictionScope = 'all'): EvictionPlan {
    const now = this.clock.nowMs();
    const expired: InstanceRef[] = [];
    const walk = scope === 'all' || this.heartbeatChecked > 0;
    for (const ns of walk ? this.namespaces.values() : []) {
      for (const svc of ns.services.values()) {
        for (const entry of svc.instances.values()) {
          if ((scope === 'all' || entry.record.unhealthyAfterMs > 0) && this.expired(entry, now)) {
            expired.push({ namespace: ns.name, group: svc.group, service: svc.name, instanceId: entry.record.instanceId });
          }
        }
      }
    }
    const selfPreservation = this.selfPreservation(now);
    if (selfPreservation.active) return { selfPreservation, expiredCount: expired.length, toEvict: [] };
    const limit = evictionLimit(this.leaseBound, this.options.renewalPercentThreshold);
    return { selfPreservation, expiredCount: expired.length, toEvict: pickForEviction(expired, limit, this.random) };
  }

  /**
   * Evicts one instance chosen by planEviction (an internal cancel), if its lease is still expired;
   * returns the removed record, or undefined when it was renewed or removed meanwhile.
   */
  expire(ref: InstanceRef): InstanceRecord | undefined {
    const found = this.find(ref);
    const now = this.clock.nowMs();
    if (found === undefined || !this.expired(found.entry, now)) return undefined;
    // An eviction is this node's opinion, not a cancel: no tombstone, nothing replicated, and a
    // peer that still hears the instance renewed gives it back (see replica-rules.ts).
    return this.remove(found.ns, found.svc, found.entry, now);
  }

  /**
   * Records that the server was not listening from `fromMs` to `toMs` (its process stopped, its
   * event loop blocked): that time is not held against any lease or heartbeat.
   */
  notePause(fromMs: number, toMs: number): void {
    this.pauses.record(fromMs, toMs);
  }

  private expired(entry: InstanceEntry, now: number): boolean {
    return isLeaseExpired(entry, now, this.pauses.pausedBetween(entry.lastRenewalMs, now));
  }

  private heartbeatOverdue(e: InstanceEntry, now: number): boolean {
    const r = e.record;
    return r.unhealthyAfterMs > 0 && r.healthy && now - this.pauses.pausedBetween(e.lastRenewalMs, now) > e.lastRenewalMs + r.unhealthyAfterMs;
  }

  /**
   * Instances whose last renewal is older than their unhealthyAfterMs and that are still shown
   * healthy (Nacos's beat check). Changes nothing.
   */
  planHeartbeatTimeouts(): InstanceRef[] {
    if (this.heartbeatChecked === 0) return [];
    const now = this.clock.nowMs();
    const overdue: InstanceRef[] = [];
    for (const ns of this.namespaces.values()) {
      for (const svc of ns.services.values()) {
        for (const e of svc.instances.values()) {
          if (this.heartbeatOverdue(e, now)) overdue.push({ namespace: ns.name, group: svc.group, service: svc.name, instanceId: e.record.instanceId });
        }
      }
    }
    return overdue;
  }

  /** Shows one instance planned by planHeartbeatTimeouts as unhealthy, if still overdue. */
  markHeartbeatTimeout(ref: InstanceRef): InstanceRecord | undefined {
    const found = this.find(ref);
    const now = this.clock.nowMs();
    if (found === undefined || !this.heartbeatOverdue(found.entry, now)) return undefined;
    const next: InstanceRecord = Object.freeze({ ...found.entry.record, healthy: false, lastUpdatedTimestamp: now });
    found.entry.record = next;
    this.commit(found.ns, found.svc, 'MODIFIED', next, now);
    return next;
  }

  /**
   * Housekeeping: forgets services that have been empty (and unconfigured) for the retention time,
   * tombstones whose time is over, and pauses no lease reaches back to. Returns what it forgot.
   */
  sweep(): { services: number; tombstones: number } {
    const now = this.clock.nowMs();
    const tombstones = this.tombstones.prune(now);
    this.pauses.prune(now - this.options.maxLeaseDurationMs);
    let swept = 0;
    for (const ns of this.namespaces.values()) {
      for (const [key, svc] of ns.services) {
        if (!svc.explicit && svc.emptySince !== undefined && now - svc.emptySince >= this.options.emptyServiceRetentionMs) {
          ns.services.delete(key);
          ns.removedRevisionFloor = Math.max(ns.removedRevisionFloor, svc.revision);
          ns.version++;
          swept++;
        }
      }
    }
    return { services: swept, tombstones };
  }

  // ---------------------------------------------------------------- reads

  /** Whether the instance is registered; a lookup in O(1), for adapters that resolve names. */
  hasInstance(address: InstanceAddress): boolean {
    return this.find(normalizeInstanceRef(address, this.options)) !== undefined;
  }

  /**
   * The names of a namespace's services that have instances, in one group (or every group), in no
   * particular order. O(services): nothing is counted or built, unlike listServices.
   */
  serviceNames(namespace: string | undefined, group: string | undefined): { group: string; service: string }[] {
    const ns = this.namespaces.get(normalizeNamespace(namespace, this.options));
    const wanted = normalizeGroupFilter(group, this.options);
    const out: { group: string; service: string }[] = [];
    for (const s of ns?.services.values() ?? []) if (s.instances.size > 0 && (wanted === undefined || s.group === wanted)) out.push({ group: s.group, service: s.name });
    return out;
  }

  /** One instance with its live renewal time. NOT_FOUND when unknown. */
  getInstance(address: InstanceAddress): { record: InstanceRecord; lastRenewalMs: number; leaseExpiresAt: number } {
    const ref = normalizeInstanceRef(address, this.options);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    return { record: found.entry.record, lastRenewalMs: found.entry.lastRenewalMs, leaseExpiresAt: leaseExpiresAt(found.entry) };
  }

  /**
   * A service through a filter. The same object is returned for the same revision and filter, so
   * encoders can cache bytes per view. An unknown service gives an empty view whose revision is the
   * namespace's removal floor (0 if nothing was ever removed).
   */
  query(address: ServiceAddress, filter: ServiceFilter = {}): ServiceView {
    const ref = normalizeServiceRef(address, this.options);
    const ns = this.namespaces.get(ref.namespace);
    const svc = ns?.services.get(serviceKey(ref.group, ref.service));
    if (svc !== undefined) return svc.getView(filter, this.options.defaultProtectThreshold, this.options.cacheMillis);
    return buildView(
      {
        namespace: ref.namespace,
        group: ref.group,
        name: ref.service,
        revision: ns?.removedRevisionFloor ?? 0,
        lastRefTime: 0,
        protectThreshold: this.options.defaultProtectThreshold,
        cacheMillis: this.options.cacheMillis,
        hosts: [],
      },
      filter,
    );
  }

  /** Services of a namespace ordered by group then name, paged. */
  listServices(input: { namespace?: string | undefined; group?: string | undefined; pageSize?: number | undefined; pageToken?: string | undefined }): ServicePage {
    const namespace = normalizeNamespace(input.namespace, this.options);
    const group = normalizeGroupFilter(input.group, this.options);
    const size = input.pageSize === undefined || input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw RegistryError.invalid([{ field: 'page_size', description: `page_size must be between 1 and ${MAX_PAGE_SIZE} (got ${size})` }]);
    }
    let after = '';
    if (input.pageToken !== undefined && input.pageToken !== '') {
      after = Buffer.from(input.pageToken, 'base64url').toString('utf8');
      if (!after.includes('@@')) throw RegistryError.invalid([{ field: 'page_token', description: 'page_token is not a token this server issued' }]);
    }
    const ns = this.namespaces.get(namespace);
    const all = [...(ns?.services.values() ?? [])].filter((s) => group === undefined || s.group === group);
    all.sort((a, b) => compare(a.group, b.group) || compare(a.name, b.name));
    const keyOf = (s: ServiceState) => `${s.group}@@${s.name}`;
    const start = after === '' ? 0 : all.findIndex((s) => compareKeys(keyOf(s), after) > 0);
    const page = start < 0 ? [] : all.slice(start, start + size);
    const last = page[page.length - 1];
    const more = start >= 0 && start + size < all.length && last !== undefined;
    return {
      services: page.map((s) => this.summarize(s)),
      nextPageToken: more ? Buffer.from(keyOf(last), 'utf8').toString('base64url') : '',
      totalSize: all.length,
    };
  }

  /** Every non-empty service of a namespace (unfiltered), ordered, with the reconcile hash. */
  fetchRegistry(namespace?: string): { services: ServiceView[]; reconcileHash: string } {
    const name = normalizeNamespace(namespace, this.options);
    const ns = this.namespaces.get(name);
    if (ns === undefined) return { services: [], reconcileHash: reconcileHashOfNothing };
    const services = [...ns.services.values()]
      .filter((s) => s.instances.size > 0)
      .sort((a, b) => compare(a.group, b.group) || compare(a.name, b.name))
      .map((s) => this.fullView(s));
    return { services, reconcileHash: ns.reconcileHash((s) => this.fullView(s).checksum) };
  }

  /** Changes of the retention window, oldest first, with the namespace's reconcile hash now. */
  fetchDelta(namespace?: string): { changes: InstanceChange[]; reconcileHash: string; retentionMs: number } {
    const name = normalizeNamespace(namespace, this.options);
    const ns = this.namespaces.get(name);
    const retentionMs = this.options.deltaRetentionMs;
    if (ns === undefined) return { changes: [], reconcileHash: reconcileHashOfNothing, retentionMs };
    return {
      changes: ns.changes.since(this.clock.nowMs()),
      reconcileHash: ns.reconcileHash((s) => this.fullView(s).checksum),
      retentionMs,
    };
  }

  // ---------------------------------------------------------------- replica reads (peers)

  /** One service's instances with their leases, and its tombstones (anti-entropy's repair). */
  replicaOf(address: ServiceAddress): { entries: ReplicaEntry[]; tombstones: Tombstone[] } {
    const ref = normalizeServiceRef(address, this.options);
    const svc = this.namespaces.get(ref.namespace)?.services.get(serviceKey(ref.group, ref.service));
    const entries: ReplicaEntry[] = [];
    for (const e of svc?.instances.values() ?? []) entries.push({ ...ref, record: e.record, lastRenewalMs: e.lastRenewalMs });
    return { entries, tombstones: this.tombstones.ofService(ref) };
  }

  /** The replica digest of every non-empty service (anti-entropy's comparison). */
  replicaDigests(): ReplicaDigestEntry[] {
    const out: ReplicaDigestEntry[] = [];
    for (const ns of this.namespaces.values()) {
      for (const svc of ns.services.values()) {
        if (svc.instances.size === 0) continue;
        const snap = svc.getSnapshot(this.options.defaultProtectThreshold, this.options.cacheMillis);
        out.push({ namespace: ns.name, group: svc.group, service: svc.name, digest: svc.memo('replica-digest', () => replicaDigest(snap.hosts)) });
      }
    }
    return out;
  }

  /** Every instance with its lease, service by service (a starting peer's sync). */
  *replicaEntries(): Generator<ReplicaEntry> {
    for (const ns of this.namespaces.values()) {
      for (const svc of ns.services.values()) {
        for (const e of svc.instances.values()) yield { namespace: ns.name, group: svc.group, service: svc.name, record: e.record, lastRenewalMs: e.lastRenewalMs };
      }
    }
  }

  /** Every tombstone held, oldest first. */
  tombstoneList(): Tombstone[] {
    return [...this.tombstones.values()];
  }

  /** Names of the namespaces that exist, sorted. */
  namespaceNames(): string[] {
    return [...this.namespaces.keys()].sort();
  }

  /** Counters for health, metrics and logs. */
  stats(): RegistryStats {
    let services = 0;
    for (const ns of this.namespaces.values()) services += ns.services.size;
    const now = this.clock.nowMs();
    return {
      namespaces: this.namespaces.size,
      services,
      instances: this.instanceCount,
      leaseBoundInstances: this.leaseBound,
      expectedRenewsPerMinute: this.expectedPerMinute,
      renewsLastMinute: this.meter.lastMinute(now),
      selfPreservation: this.selfPreservation(now),
      tombstones: this.tombstones.size,
      tombstonesDropped: this.tombstones.dropped,
    };
  }

  // ---------------------------------------------------------------- internals

  private selfPreservation(now: number): SelfPreservationState {
    return selfPreservationState({
      enabled: this.options.selfPreservation,
      expectedRenewsPerMinute: this.expectedPerMinute,
      renewsLastMinute: this.meter.lastMinute(now),
      leaseBoundInstances: this.leaseBound,
      renewalPercentThreshold: this.options.renewalPercentThreshold,
      minInstances: this.options.selfPreservationMinInstances,
    });
  }

  /** Expected-renewals bookkeeping (recomputed on every register and cancel). */
  private trackLease(record: InstanceRecord, sign: 1 | -1): void {
    if (record.unhealthyAfterMs > 0) this.heartbeatChecked += sign;
    if (!record.ephemeral) return;
    this.leaseBound += sign;
    this.expectedPerMinute += sign * expectedRenewsPerMinute(record.renewalIntervalMs);
    if (this.leaseBound === 0) this.expectedPerMinute = 0; // no floating-point residue
  }

  private fullView(svc: ServiceState): ServiceView {
    return svc.getView({}, this.options.defaultProtectThreshold, this.options.cacheMillis);
  }

  private summarize(svc: ServiceState): ServiceSummary {
    const snap = svc.getSnapshot(this.options.defaultProtectThreshold, this.options.cacheMillis);
    return {
      namespace: svc.namespace,
      group: svc.group,
      name: svc.name,
      instanceCount: snap.hosts.length,
      healthyInstanceCount: snap.hosts.filter(isUsable).length,
      clusters: [...new Set(snap.hosts.map((h) => h.cluster))].sort(),
      revision: svc.revision,
      protectThreshold: snap.protectThreshold,
      metadata: svc.metadata,
      configured: svc.explicit,
    };
  }

  private find(ref: InstanceRef): { ns: NamespaceState; svc: ServiceState; entry: InstanceEntry } | undefined {
    const ns = this.namespaces.get(ref.namespace);
    const svc = ns?.services.get(serviceKey(ref.group, ref.service));
    const entry = svc?.instances.get(ref.instanceId);
    return ns !== undefined && svc !== undefined && entry !== undefined ? { ns, svc, entry } : undefined;
  }

  private namespaceOrCreate(name: string): NamespaceState {
    let ns = this.namespaces.get(name);
    if (ns === undefined) {
      ns = new NamespaceState(name, this.options.deltaRetentionMs);
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  private serviceOrCreate(ns: NamespaceState, ref: ServiceRef): ServiceState {
    const key = serviceKey(ref.group, ref.service);
    let svc = ns.services.get(key);
    if (svc === undefined) {
      svc = new ServiceState(ns.name, ref.group, ref.service);
      ns.services.set(key, svc);
    }
    return svc;
  }

  /** Stores a new or changed record with a renewed lease, keeps the lease bookkeeping, commits. */
  private store(ref: InstanceRef, existing: InstanceEntry | undefined, record: InstanceRecord, now: number, renewedAtMs = now): void {
    const ns = this.namespaceOrCreate(ref.namespace);
    const svc = this.serviceOrCreate(ns, ref);
    if (existing === undefined) {
      svc.instances.set(ref.instanceId, { record, lastRenewalMs: renewedAtMs });
      this.instanceCount++;
    } else {
      this.trackLease(existing.record, -1);
      existing.record = record;
      existing.lastRenewalMs = Math.max(existing.lastRenewalMs, renewedAtMs);
    }
    this.trackLease(record, 1);
    this.commit(ns, svc, existing === undefined ? 'ADDED' : 'MODIFIED', record, now);
  }

  private remove(ns: NamespaceState, svc: ServiceState, entry: InstanceEntry, now: number): InstanceRecord {
    const rec = entry.record;
    svc.instances.delete(rec.instanceId);
    this.instanceCount--;
    this.trackLease(rec, -1);
    const removed: InstanceRecord = Object.freeze({ ...rec, evictionTimestamp: now, lastUpdatedTimestamp: now });
    this.commit(ns, svc, 'DELETED', removed, now);
    return removed;
  }

  /** Records an instance change: new revision, queue entry, notification. */
  private commit(ns: NamespaceState, svc: ServiceState, action: ActionType, record: InstanceRecord, now: number): void {
    const revision = this.bump(ns, svc, now, false);
    ns.changes.add({ action, namespace: ns.name, group: svc.group, service: svc.name, record, changedAt: now, revision });
    this.notify(svc, revision);
  }

  /**
   * Gives the service a new revision: `max(previous + 1, now × 1000)` across the registry, so
   * revisions increase per service, also across restarts (they follow the clock), and a service
   * that is forgotten and created again still moves forward.
   */
  private bump(ns: NamespaceState, svc: ServiceState, now: number, notify = true): number {
    const revision = Math.max(this.lastRevision + 1, Math.floor(now) * 1000);
    this.lastRevision = revision;
    svc.touch(revision, now);
    ns.version++;
    if (notify) this.notify(svc, revision);
    return revision;
  }

  private notify(svc: ServiceState, revision: number): void {
    const change: ServiceChange = { namespace: svc.namespace, group: svc.group, service: svc.name, revision };
    for (const l of this.listeners) l(change);
  }
}

/**
 * The registration that reproduces an instance's state (its registered status and reported health,
 * its override, dirty timestamp and lease settings): how peers, adoption and metadata updates
 * register an instance as it is.
 */
export function registrationOf(address: InstanceAddress, state: InstanceState): RegisterInput {
  return {
    namespace: address.namespace,
    group: address.group,
    service: address.service,
    instance: {
      instanceId: address.instanceId,
      ip: state.ip,
      port: state.port,
      weight: state.weight,
      healthy: state.reportedHealthy,
      enabled: state.enabled,
      ephemeral: state.ephemeral,
      cluster: state.cluster,
      metadata: state.metadata,
      status: state.registeredStatus,
      overriddenStatus: state.overriddenStatus,
      lastDirtyTimestamp: state.lastDirtyTimestamp,
      leaseDurationMs: state.leaseDurationMs,
      renewalIntervalMs: state.renewalIntervalMs,
      unhealthyAfterMs: state.unhealthyAfterMs,
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders `group@@name` keys the way listServices orders services (group, then name). */
function compareKeys(a: string, b: string): number {
  const [ga = '', na = ''] = a.split('@@');
  const [gb = '', nb = ''] = b.split('@@');
  return compare(ga, gb) || compare(na, nb);
}

/** The reconcile hash of a namespace with no services (SHA-1 of nothing). */
const reconcileHashOfNothing = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
