/**
 * The registry: a pure, clock-driven state machine implementing Eureka's lease discipline over
 * Nacos's namespace › group › service › cluster › instance model, with write versions and
 * tombstones so a cluster converges on the acknowledged writes. No I/O, no timers: time comes from
 * the injected Clock, randomness from the injected `random`. Methods are synchronous and never
 * interleave; every rejected request throws RegistryError and changes nothing.
 *
 * This class is the one face of the registry; each job lives in its own module: the client write
 * path (write-path.ts), merging what peers send (replica-path.ts), expiry and eviction (expiry.ts)
 * and reads (reads.ts), over the shared state (registry-state.ts).
 *
 * Change notification: after every committed change that alters what clients see, each listener
 * registered with `onServiceChanged` is called synchronously with the service and its new revision.
 * The shell pushes, replicates and logs from there.
 */
import type { Clock } from './clock.js';
import * as expiry from './expiry.js';
import type { InstanceAddress, InstanceState, ServiceAddress } from './instance-record.js';
import type { InstanceChange, InstanceRecord, InstanceRef, InstanceStatus, ServiceFilter, ServiceSummary, ServiceView } from './model.js';
import { resolveRegistryOptions, type RegistryOptions } from './options.js';
import * as reads from './reads.js';
import * as probes from './probe-health.js';
import { RegistryState, type ServiceChangeListener, type ServiceSettings, type SettingsListener, type WriteContext, type WriteListener } from './registry-state.js';
import * as replicas from './replica-path.js';
import type { Tombstone } from './tombstones.js';
import type { RegisterInput } from './validate.js';
import * as writes from './write-path.js';

export type { EvictionPlan, EvictionScope } from './expiry.js';
export { registrationOf } from './instance-record.js';
export type { InstanceAddress, InstanceState, ServiceAddress } from './instance-record.js';
export type { PopulationCounts, RegistryStats, ReplicaDigestEntry, ReplicaEntry, ServicePage } from './reads.js';
export type { ServiceChange, ServiceChangeListener, ServiceSettings, SettingsChange, SettingsListener, WriteContext, WriteEvent, WriteListener } from './registry-state.js';
export type { HeartbeatResult, ReplicaResult, SettingsInput, SettingsResult, TombstoneInput, TombstoneResult } from './replica-path.js';
export type { RegisterResult, RenewResult } from './write-path.js';

/** What the registry needs from its host. */
export interface RegistryDeps {
  readonly clock: Clock;
  /** Uniform floats in [0, 1); picks eviction victims. */
  readonly random: () => number;
  readonly options?: Partial<RegistryOptions>;
}

export class Registry {
  readonly options: RegistryOptions;
  private readonly s: RegistryState;

  constructor(deps: RegistryDeps) {
    this.options = resolveRegistryOptions(deps.options);
    this.s = new RegistryState(this.options, deps.clock, deps.random);
  }

  /** Adds a change listener; returns the function that removes it. */
  onServiceChanged(listener: ServiceChangeListener): () => void {
    this.s.listeners.add(listener);
    return () => this.s.listeners.delete(listener);
  }

  /**
   * Adds a write listener: every client write and every replica merged (renewals included; see
   * WriteEvent) is announced to it. The replicator is one; any listener may be. Returns the
   * function that removes it.
   */
  onWrite(listener: WriteListener): () => void {
    this.s.writeListeners.add(listener);
    return () => this.s.writeListeners.delete(listener);
  }

  /**
   * Adds a settings listener: called after every updateService that changed a service's settings
   * (or created it), with the settings as they now are. The store is one. Returns the function
   * that removes it.
   */
  onSettingsChanged(listener: SettingsListener): () => void {
    this.s.settingsListeners.add(listener);
    return () => this.s.settingsListeners.delete(listener);
  }

  // ---------------------------------------------------------------- client writes

  /**
   * Registers or re-registers an instance. When the stored copy has a newer last-dirty timestamp
   * than the registrant's, the stored data is kept (only the lease is refreshed). The effective
   * status follows the overridden-status rules; an existing override survives re-registration.
   */
  register(input: RegisterInput, ctx: WriteContext = {}): writes.RegisterResult {
    return writes.register(this.s, input, ctx);
  }

  /**
   * Renews a lease. NOT_FOUND when the instance is unknown, when the caller's dirty timestamp is
   * newer than the stored one (the caller must re-register), or when the effective status is
   * UNKNOWN (an override was deleted with UNKNOWN; Eureka's rule). CONFLICT, carrying the stored
   * copy, when a replication's dirty timestamp is older than the stored one.
   */
  renew(address: InstanceAddress & { lastDirtyTimestamp?: number | undefined }, ctx: WriteContext = {}): writes.RenewResult {
    return writes.renew(this.s, address, ctx);
  }

  /**
   * Removes an instance and keeps a tombstone at a new write version, so no older copy of it can
   * come back from a peer. NOT_FOUND when it is not registered. Returns the removed record.
   */
  cancel(address: InstanceAddress, ctx: WriteContext = {}): InstanceRecord {
    return writes.cancel(this.s, address, ctx);
  }

  /**
   * Sets an overridden status: the instance takes it at once and keeps it through renewals and
   * re-registrations (unless it reports DOWN or STARTING) until the override is deleted.
   */
  setStatus(address: InstanceAddress & { status?: string | undefined; lastDirtyTimestamp?: number | undefined }, ctx: WriteContext = {}): InstanceRecord {
    return writes.setStatus(this.s, address, ctx);
  }

  /**
   * Deletes an overridden status. The instance takes `status` when given, else the status it last
   * registered with. Without an override there is nothing to delete and nothing changes.
   */
  deleteStatusOverride(address: InstanceAddress & { status?: string | undefined }, ctx: WriteContext = {}): InstanceRecord {
    return writes.deleteStatusOverride(this.s, address, ctx);
  }

  /**
   * Creates a service or replaces its settings (a client's write: a new write version, announced to
   * the settings listeners with `replication: false`); an explicitly created service is kept when empty.
   */
  updateService(address: ServiceAddress & { protectThreshold?: number | undefined; metadata?: Readonly<Record<string, string>> | undefined }): ServiceSummary {
    return writes.updateService(this.s, address);
  }

  // ---------------------------------------------------------------- what peers send

  /**
   * Takes an instance exactly as a peer without write versions holds it (a Eureka server's 409 copy
   * or its registry at start-up): every field, status, override and dirty timestamp, at a new write
   * version of this node; the lease is renewed now. Not announced as a write (nothing is
   * replicated). Peers that carry versions go through applyReplica.
   */
  adopt(address: InstanceAddress, state: InstanceState): InstanceRecord {
    return replicas.adopt(this.s, address, state);
  }

  /**
   * Merges a peer's copy of an instance, at its write version, with its lease as last renewed on
   * the peer (see replica-rules.ts): adopted when newer, refused when a newer write or cancel is
   * held here (the result carries it, for the sender), ignored when its lease has run out.
   */
  applyReplica(address: InstanceAddress, state: InstanceState, lastRenewalMs: number): replicas.ReplicaResult {
    return replicas.applyReplica(this.s, address, state, lastRenewalMs);
  }

  /** Merges a peer's cancel: removes an older record, remembers the tombstone, refuses it when a newer write is held here. */
  applyTombstone(input: replicas.TombstoneInput): replicas.TombstoneResult {
    return replicas.applyTombstone(this.s, input);
  }

  /**
   * Merges a peer's (or the store's) settings of a service by write version: the higher version
   * wins on every node (see replica-path.ts). Announced to the settings listeners when taken.
   */
  applyServiceSettings(input: replicas.SettingsInput): replicas.SettingsResult {
    return replicas.applyServiceSettings(this.s, input);
  }

  /**
   * Merges a peer's renewal of the record at `version`, renewed there at `renewedAtMs` (0 = now):
   * renews the lease when that record is held here; otherwise says what the sender should do.
   */
  renewReplica(address: InstanceAddress, version: number, renewedAtMs: number): replicas.HeartbeatResult {
    return replicas.renewReplica(this.s, address, version, renewedAtMs);
  }

  /**
   * Gives back a status override of an ephemeral instance that is not registered (the store's, at
   * start): the instance takes it when it registers again, within `expiresAt`. Ignored when the
   * instance is registered already.
   */
  restoreOverride(input: InstanceRef & { status: InstanceStatus; version: number; expiresAt: number }): void {
    if (this.s.find(input) !== undefined) return;
    this.s.pendingOverrides.put(input);
  }

  /** The override waiting for an unregistered instance, if any (see restoreOverride). */
  pendingOverride(ref: InstanceRef): InstanceStatus | undefined {
    return this.s.pendingOverrides.get(ref)?.status;
  }

  // ---------------------------------------------------------------- expiry

  /**
   * Decides what to evict now, without changing anything: under self-preservation nothing;
   * otherwise a random sample of the expired lease-bound instances across all services, at most
   * `size − ⌊size × threshold⌋`. Time the server was paused (notePause) is not held against leases.
   */
  planEviction(scope: expiry.EvictionScope = 'all'): expiry.EvictionPlan {
    return expiry.planEviction(this.s, scope);
  }

  /**
   * Evicts one instance chosen by planEviction, if its lease is still expired; returns the removed
   * record, or undefined when it was renewed or removed meanwhile. No tombstone, nothing
   * replicated: a peer that still hears the instance renewed gives it back.
   */
  expire(ref: InstanceRef): InstanceRecord | undefined {
    return expiry.expire(this.s, ref);
  }

  /**
   * Records that the server was not listening from `fromMs` to `toMs` (its process stopped, its
   * event loop blocked): that time is not held against any lease or heartbeat.
   */
  notePause(fromMs: number, toMs: number): void {
    this.s.pauses.record(fromMs, toMs);
  }

  /** Instances whose beat is overdue (older than their unhealthyAfterMs) and still shown healthy. Changes nothing. */
  planHeartbeatTimeouts(): InstanceRef[] {
    return expiry.planHeartbeatTimeouts(this.s);
  }

  /** Shows one instance planned by planHeartbeatTimeouts as unhealthy, if still overdue. */
  markHeartbeatTimeout(ref: InstanceRef): InstanceRecord | undefined {
    return expiry.markHeartbeatTimeout(this.s, ref);
  }

  /**
   * Housekeeping: forgets services that have been empty (and unconfigured) for the retention time,
   * tombstones whose time is over, and pauses no lease reaches back to. Returns what it forgot.
   */
  sweep(): { services: number; tombstones: number } {
    return expiry.sweep(this.s);
  }

  /**
   * Records what a health probe found of a persistent instance (it has no lease: the server checks
   * it): shows it healthy or unhealthy. Returns the new record, or undefined when nothing changed
   * (unknown, ephemeral, or already shown so). A local observation like a heartbeat timeout: no
   * write version, not announced as a write, so every node judges with its own probes.
   */
  markProbeResult(ref: InstanceRef, healthy: boolean): InstanceRecord | undefined {
    return probes.markProbeResult(this.s, ref, healthy);
  }

  // ---------------------------------------------------------------- reads

  /** Whether the instance is registered; a lookup in O(1), for adapters that resolve names. */
  hasInstance(address: InstanceAddress): boolean {
    return reads.hasInstance(this.s, address);
  }

  /**
   * The names of a namespace's services that have instances, in one group (or every group), in no
   * particular order. O(services): nothing is counted or built, unlike listServices.
   */
  serviceNames(namespace: string | undefined, group: string | undefined): { group: string; service: string }[] {
    return reads.serviceNames(this.s, namespace, group);
  }

  /** One instance with its live renewal time. NOT_FOUND when unknown. */
  getInstance(address: InstanceAddress): { record: InstanceRecord; lastRenewalMs: number; leaseExpiresAt: number } {
    return reads.getInstance(this.s, address);
  }

  /**
   * A service through a filter. The same object is returned for the same revision and filter, so
   * encoders can cache bytes per view. An unknown service gives an empty view whose revision is the
   * namespace's removal floor (0 if nothing was ever removed).
   */
  query(address: ServiceAddress, filter: ServiceFilter = {}): ServiceView {
    return reads.query(this.s, address, filter);
  }

  /** Services of a namespace ordered by group then name, paged. */
  listServices(input: { namespace?: string | undefined; group?: string | undefined; pageSize?: number | undefined; pageToken?: string | undefined }): reads.ServicePage {
    return reads.listServices(this.s, input);
  }

  /** Every non-empty service of a namespace (unfiltered), ordered, with the reconcile hash. */
  fetchRegistry(namespace?: string): { services: ServiceView[]; reconcileHash: string } {
    return reads.fetchRegistry(this.s, namespace);
  }

  /** Changes of the retention window, oldest first, with the namespace's reconcile hash now. */
  fetchDelta(namespace?: string): { changes: InstanceChange[]; reconcileHash: string; retentionMs: number } {
    return reads.fetchDelta(this.s, namespace);
  }

  /** One service's instances with their leases, its tombstones and its settings when configured (anti-entropy's repair). */
  replicaOf(address: ServiceAddress): { entries: reads.ReplicaEntry[]; tombstones: Tombstone[]; settings: ServiceSettings | undefined } {
    return reads.replicaOf(this.s, address);
  }

  /** The replica digest of every non-empty service (anti-entropy's comparison). */
  replicaDigests(): reads.ReplicaDigestEntry[] {
    return reads.replicaDigests(this.s);
  }

  /** Every instance with its lease, service by service (a starting peer's sync). */
  replicaEntries(): Generator<reads.ReplicaEntry> {
    return reads.replicaEntries(this.s);
  }

  /** Every tombstone held, oldest first. */
  tombstoneList(): Tombstone[] {
    return [...this.s.tombstones.values()];
  }

  /** Names of the namespaces that exist, sorted. */
  namespaceNames(): string[] {
    return [...this.s.namespaces.keys()].sort();
  }

  /** Counters for health, metrics and logs. */
  stats(): reads.RegistryStats {
    return reads.stats(this.s);
  }

  /** Services, instances and healthy instances per namespace (and per service when asked): O(instances), for metrics scrapes. */
  populations(perService = false): { namespaces: reads.PopulationCounts[]; services: reads.PopulationCounts[] } {
    return reads.populations(this.s, perService);
  }
}
