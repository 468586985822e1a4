/**
 * The registry's state and the primitives every job of the registry shares: finding and storing
 * instances, committing a change (new revision, recently-changed entry, change notification),
 * announcing writes, and the lease bookkeeping self-preservation reads. The jobs themselves (client
 * writes, replica merges, expiry, reads) are in write-path.ts, replica-path.ts, expiry.ts and
 * reads.ts; registry.ts is their one face. Not exported from the core: only those modules use it.
 */
import type { Clock } from './clock.js';
import { expectedRenewsPerMinute } from './lease.js';
import {
  isUsable,
  serviceKey,
  type ActionType,
  type Actor,
  type InstanceEntry,
  type InstanceRecord,
  type InstanceRef,
  type RegistrantTransport,
  type ServiceRef,
  type ServiceSummary,
  type ServiceView,
} from './model.js';
import { NamespaceState } from './namespace-state.js';
import type { RegistryOptions } from './options.js';
import { PauseLedger } from './pause-ledger.js';
import { RenewMeter } from './renew-meter.js';
import { selfPreservationState, type SelfPreservationState } from './self-preservation.js';
import { ServiceState, type ViewContext } from './service-state.js';
import { ChecksumCache } from './checksum.js';
import { Interner } from './interner.js';
import { changeRecord } from './instance-record.js';
import { PendingOverrides } from './pending-overrides.js';
import { TombstoneStore, type Tombstone } from './tombstones.js';
import { VersionClock } from './version-clock.js';

/** Whether a write came from a client or from a peer (replications are never replicated again). */
export interface WriteContext {
  readonly replication?: boolean;
  /** Who asks (authenticated transports); the registrant rule applies when set. */
  readonly actor?: Actor | undefined;
  /** The API a registration came through (kept from the stored record when absent). */
  readonly transport?: RegistrantTransport | undefined;
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
 * and for every replica merged that changed something, with `replication` telling whether it came
 * from a peer (a peer's cancel of a persistent instance not held here too, so the store keeps its
 * tombstone). Evictions and heartbeat timeouts are local decisions and are not emitted.
 */
export type WriteEvent =
  | { readonly kind: 'register'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly lastRenewalMs: number; readonly replication: boolean }
  | { readonly kind: 'renew'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly lastRenewalMs: number; readonly replication: boolean }
  | { readonly kind: 'cancel'; readonly ref: InstanceRef; readonly tombstone: Tombstone; readonly replication: boolean }
  | {
      readonly kind: 'status';
      readonly ref: InstanceRef;
      readonly record: InstanceRecord;
      readonly status: InstanceRecord['status'];
      readonly lastDirtyTimestamp: number | undefined;
      readonly replication: boolean;
    }
  | {
      readonly kind: 'delete-override';
      readonly ref: InstanceRef;
      readonly record: InstanceRecord;
      readonly status: InstanceRecord['status'] | undefined;
      readonly replication: boolean;
    };

/** Must not throw. */
export type WriteListener = (event: WriteEvent) => void;

/** A service's settings as UpdateService left them (the service is kept even when empty). */
export interface ServiceSettings extends ServiceRef {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * The write version of the last UpdateService (a version-clock value like an instance's, issued
   * by the node that accepted it): every node keeps the settings of the highest version. 0 = unknown
   * (an older node's or an older store's settings).
   */
  readonly version: number;
}

/** A change of a service's settings: a client's UpdateService here, or a peer's settings merged (`replication`). */
export interface SettingsChange extends ServiceSettings {
  readonly replication: boolean;
}

/** Must not throw; runs synchronously inside the registry call that changed the settings. */
export type SettingsListener = (change: SettingsChange) => void;

/** An instance found with its namespace and service. */
export interface Found {
  readonly ns: NamespaceState;
  readonly svc: ServiceState;
  readonly entry: InstanceEntry;
}

export class RegistryState {
  readonly namespaces = new Map<string, NamespaceState>();
  readonly listeners = new Set<ServiceChangeListener>();
  readonly writeListeners = new Set<WriteListener>();
  readonly settingsListeners = new Set<SettingsListener>();
  readonly meter = new RenewMeter();
  readonly versions = new VersionClock();
  readonly tombstones: TombstoneStore;
  /** Overrides of ephemeral instances not registered now, waiting for them to register again. */
  readonly pendingOverrides: PendingOverrides;
  readonly pauses = new PauseLedger();
  /** Strings and metadata maps that many records repeat, held once. */
  readonly interner = new Interner();
  /** What snapshots and views are built with (defaults, and the checksum cache this registry owns). */
  readonly views: ViewContext;
  private lastRevision = 0;
  expectedPerMinute = 0;
  leaseBound = 0;
  /** Instances with a heartbeat timeout (Nacos-style); the beat check is free while there are none. */
  heartbeatChecked = 0;
  instanceCount = 0;

  constructor(
    readonly options: RegistryOptions,
    readonly clock: Clock,
    readonly random: () => number,
  ) {
    this.tombstones = new TombstoneStore(options.maxTombstones);
    this.pendingOverrides = new PendingOverrides(options.maxTombstones);
    this.views = { defaultProtectThreshold: options.defaultProtectThreshold, cacheMillis: options.cacheMillis, checksum: new ChecksumCache().serviceChecksum };
  }

  /** Announces a write to the write listeners (the event is built only when someone listens). */
  emit(event: () => WriteEvent): void {
    if (this.writeListeners.size === 0) return;
    const e = event();
    for (const l of this.writeListeners) l(e);
  }

  find(ref: InstanceRef): Found | undefined {
    const ns = this.namespaces.get(ref.namespace);
    const svc = ns?.services.get(serviceKey(ref.group, ref.service));
    const entry = svc?.instances.get(ref.instanceId);
    return ns !== undefined && svc !== undefined && entry !== undefined ? { ns, svc, entry } : undefined;
  }

  service(ref: ServiceRef): ServiceState | undefined {
    return this.namespaces.get(ref.namespace)?.services.get(serviceKey(ref.group, ref.service));
  }

  namespaceOrCreate(name: string): NamespaceState {
    let ns = this.namespaces.get(name);
    if (ns === undefined) {
      ns = new NamespaceState(name, this.options.deltaRetentionMs);
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  serviceOrCreate(ns: NamespaceState, ref: ServiceRef): ServiceState {
    const key = serviceKey(ref.group, ref.service);
    let svc = ns.services.get(key);
    if (svc === undefined) {
      svc = new ServiceState(ns.name, ref.group, ref.service);
      ns.services.set(key, svc);
    }
    return svc;
  }

  /** Stores a new or changed record with its lease renewed at `renewedAtMs` (later renewals win), keeps the bookkeeping, commits. */
  store(ref: InstanceRef, existing: InstanceEntry | undefined, record: InstanceRecord, now: number, renewedAtMs = now): void {
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

  /** Removes an instance and commits the removal; returns the removed record. */
  remove(found: Found, now: number): InstanceRecord {
    const { ns, svc, entry } = found;
    const rec = entry.record;
    svc.instances.delete(rec.instanceId);
    this.instanceCount--;
    this.trackLease(rec, -1);
    const removed = changeRecord(rec, { evictionTimestamp: now, lastUpdatedTimestamp: now });
    this.commit(ns, svc, 'DELETED', removed, now);
    return removed;
  }

  /**
   * Renews a lease at `renewedAtMs` (later renewals win; counted for self-preservation). A renewal
   * ends a heartbeat timeout: the instance is as healthy as it reported, with `status`. Not a
   * write: the version stays.
   */
  renewLease(found: Found, now: number, renewedAtMs: number, status: InstanceRecord['status']): void {
    const { entry } = found;
    if (renewedAtMs > entry.lastRenewalMs) entry.lastRenewalMs = renewedAtMs;
    this.meter.record(now);
    const rec = entry.record;
    const healthy = rec.reportedHealthy;
    if (status !== rec.status || healthy !== rec.healthy) this.replace(found, changeRecord(rec, { status, healthy, lastUpdatedTimestamp: now }), now);
  }

  /** Replaces a record in place (status, health) and commits the change. */
  replace(found: Found, record: InstanceRecord, now: number): void {
    found.entry.record = record;
    this.commit(found.ns, found.svc, 'MODIFIED', record, now);
  }

  /** Records an instance change: new revision, queue entry, notification. */
  private commit(ns: NamespaceState, svc: ServiceState, action: ActionType, record: InstanceRecord, now: number): void {
    const revision = this.bump(ns, svc, now, false);
    ns.changes.add(svc, action, record, now, revision);
    this.notify(svc, revision);
  }

  /**
   * Gives the service a new revision: `max(previous + 1, now × 1000)` across the registry, so
   * revisions increase per service, also across restarts (they follow the clock), and a service
   * that is forgotten and created again still moves forward.
   */
  bump(ns: NamespaceState, svc: ServiceState, now: number, notify = true): number {
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

  /** Expected-renewals bookkeeping (recomputed on every store and removal). */
  private trackLease(record: InstanceRecord, sign: 1 | -1): void {
    if (record.unhealthyAfterMs > 0) this.heartbeatChecked += sign;
    if (!record.ephemeral) return;
    this.leaseBound += sign;
    this.expectedPerMinute += sign * expectedRenewsPerMinute(record.renewalIntervalMs);
    if (this.leaseBound === 0) this.expectedPerMinute = 0; // no floating-point residue
  }

  selfPreservation(now: number): SelfPreservationState {
    return selfPreservationState({
      enabled: this.options.selfPreservation,
      expectedRenewsPerMinute: this.expectedPerMinute,
      renewsLastMinute: this.meter.lastMinute(now),
      leaseBoundInstances: this.leaseBound,
      renewalPercentThreshold: this.options.renewalPercentThreshold,
      minInstances: this.options.selfPreservationMinInstances,
    });
  }

  /** Counts and settings of a service, for listings. */
  summarize(svc: ServiceState): ServiceSummary {
    const snap = svc.getSnapshot(this.views);
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
      settingsVersion: svc.settingsVersion,
    };
  }

  /** A service's unfiltered view at its current revision. */
  fullView(svc: ServiceState): ServiceView {
    return svc.getView({}, this.views);
  }

  /** How long a cancel of `rec` at `deletedAt` is remembered (see tombstones.ts). */
  tombstoneExpiry(rec: InstanceRecord | undefined, deletedAt: number): number {
    const o = this.options;
    const keep =
      rec === undefined
        ? o.tombstoneRetentionMs
        : rec.ephemeral
          ? Math.max(o.tombstoneRetentionMs, rec.leaseDurationMs + o.maxClockSkewMs)
          : Math.max(o.tombstoneRetentionMs, o.persistentTombstoneRetentionMs);
    return deletedAt + keep;
  }
}
