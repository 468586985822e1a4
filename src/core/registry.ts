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
  | { readonly kind: 'register'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly replication: boolean }
  | { readonly kind: 'renew'; readonly ref: InstanceRef; readonly record: InstanceRecord; readonly replication: boolean }
  | { readonly kind: 'cancel'; readonly ref: InstanceRef; readonly replication: boolean }
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

/** An instance's full state as a peer holds it (for adoption). */
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
    const record: InstanceRecord = Object.freeze({
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
    });
    const replication = ctx.replication === true;
    if (existing !== undefined && old !== undefined && sameVisible(old, record)) {
      existing.lastRenewalMs = now;
      this.emit(() => ({ kind: 'register', ref, record: old, replication }));
      return { record: old, created: false, changed: false, keptExisting, lastRenewalMs: now };
    }
    this.store(ref, existing, record, now);
    this.emit(() => ({ kind: 'register', ref, record, replication }));
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
    const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp);
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
    const now = this.clock.nowMs();
    entry.lastRenewalMs = now;
    this.meter.record(now);
    // A renewal ends a heartbeat timeout: the instance is as healthy as it reported.
    const healthy = rec.reportedHealthy;
    if (status !== rec.status || healthy !== rec.healthy) {
      entry.record = Object.freeze({ ...rec, status, healthy, lastUpdatedTimestamp: now });
      this.commit(ns, svc, 'MODIFIED', entry.record, now);
    }
    const record = entry.record;
    this.emit(() => ({ kind: 'renew', ref, record, replication: ctx.replication === true }));
    return { record, leaseExpiresAt: leaseExpiresAt(entry), renewalIntervalMs: rec.renewalIntervalMs };
  }

  /** Removes an instance. NOT_FOUND when it is not registered. Returns the removed record. */
  cancel(address: InstanceAddress, ctx: WriteContext = {}): InstanceRecord {
    const ref = normalizeInstanceRef(address, this.options);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const removed = this.remove(found.ns, found.svc, found.entry, this.clock.nowMs());
    this.emit(() => ({ kind: 'cancel', ref, replication: ctx.replication === true }));
    return removed;
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
    const dirty = normalizeTimestamp('last_dirty_timestamp', address.lastDirtyTimestamp);
    const found = this.find(ref);
    if (found === undefined) throw RegistryError.notFound(`${describe(ref)} is not registered`);
    const rec = found.entry.record;
    const now = this.clock.nowMs();
    const next: InstanceRecord = Object.freeze({
      ...rec,
      status,
      overriddenStatus: status,
      lastDirtyTimestamp: dirty ?? rec.lastDirtyTimestamp,
      serviceUpTimestamp: status === 'UP' && rec.serviceUpTimestamp === 0 ? now : rec.serviceUpTimestamp,
      lastUpdatedTimestamp: now,
    });
    const replication = ctx.replication === true;
    if (sameVisible(rec, next)) {
      this.emit(() => ({ kind: 'status', ref, record: rec, status, lastDirtyTimestamp: dirty, replication }));
      return rec;
    }
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
    });
    found.entry.record = next;
    this.commit(found.ns, found.svc, 'MODIFIED', next, now);
    this.emit(() => ({ kind: 'delete-override', ref, record: next, status: requested, replication }));
    return next;
  }

  /**
   * Takes an instance exactly as a peer holds it (Eureka's conflict path, start-up sync, anti-entropy
   * repair): every field, status, override and dirty timestamp; the lease is renewed now. Validated
   * like a registration; not announced as a write (nothing is replicated).
   */
  adopt(address: InstanceAddress, state: InstanceState): InstanceRecord {
    const now = this.clock.nowMs();
    const reg = normalizeRegistration(registrationOf(address, state), this.options, now);
    const effective = normalizeStatus('instance.status', state.status, true) as InstanceStatus;
    const { ref } = reg;
    const key = serviceKey(ref.group, ref.service);
    const existingSvc = this.namespaces.get(ref.namespace)?.services.get(key);
    const existing = existingSvc?.instances.get(ref.instanceId);
    if (existing === undefined && existingSvc !== undefined && existingSvc.instances.size >= this.options.maxInstancesPerService) {
      throw RegistryError.limit(`service ${key} in namespace ${ref.namespace} already has ${existingSvc.instances.size} instances, the limit (max instances per service)`);
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
    });
    if (existing !== undefined && old !== undefined && sameVisible(old, record)) {
      existing.lastRenewalMs = now;
      return old;
    }
    this.store(ref, existing, record, now);
    return record;
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
   * `size − ⌊size × threshold⌋`. `compensationMs` is how late the eviction task is running.
   */
  planEviction(compensationMs = 0, scope: EvictionScope = 'all'): EvictionPlan {
    const now = this.clock.nowMs();
    const expired: InstanceRef[] = [];
    const walk = scope === 'all' || this.heartbeatChecked > 0;
    for (const ns of walk ? this.namespaces.values() : []) {
      for (const svc of ns.services.values()) {
        for (const entry of svc.instances.values()) {
          if ((scope === 'all' || entry.record.unhealthyAfterMs > 0) && isLeaseExpired(entry, now, compensationMs)) {
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
  expire(ref: InstanceRef, compensationMs = 0): InstanceRecord | undefined {
    const found = this.find(ref);
    const now = this.clock.nowMs();
    if (found === undefined || !isLeaseExpired(found.entry, now, compensationMs)) return undefined;
    return this.remove(found.ns, found.svc, found.entry, now);
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
          if (heartbeatOverdue(e, now)) overdue.push({ namespace: ns.name, group: svc.group, service: svc.name, instanceId: e.record.instanceId });
        }
      }
    }
    return overdue;
  }

  /** Shows one instance planned by planHeartbeatTimeouts as unhealthy, if still overdue. */
  markHeartbeatTimeout(ref: InstanceRef): InstanceRecord | undefined {
    const found = this.find(ref);
    const now = this.clock.nowMs();
    if (found === undefined || !heartbeatOverdue(found.entry, now)) return undefined;
    const next: InstanceRecord = Object.freeze({ ...found.entry.record, healthy: false, lastUpdatedTimestamp: now });
    found.entry.record = next;
    this.commit(found.ns, found.svc, 'MODIFIED', next, now);
    return next;
  }

  /** Forgets services that have been empty (and unconfigured) for the retention time. Returns how many. */
  sweepEmptyServices(): number {
    const now = this.clock.nowMs();
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
    return swept;
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
  private store(ref: InstanceRef, existing: InstanceEntry | undefined, record: InstanceRecord, now: number): void {
    const ns = this.namespaceOrCreate(ref.namespace);
    const svc = this.serviceOrCreate(ns, ref);
    if (existing === undefined) {
      svc.instances.set(ref.instanceId, { record, lastRenewalMs: now });
      this.instanceCount++;
    } else {
      this.trackLease(existing.record, -1);
      existing.record = record;
      existing.lastRenewalMs = now;
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

function heartbeatOverdue(e: InstanceEntry, now: number): boolean {
  const r = e.record;
  return r.unhealthyAfterMs > 0 && r.healthy && now > e.lastRenewalMs + r.unhealthyAfterMs;
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
