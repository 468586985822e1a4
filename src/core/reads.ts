/**
 * Reads: one instance, one service through a filter (memoised per revision, so encoders can cache
 * bytes per view), paged listings, the whole namespace and its recent changes with the reconcile
 * hash, what peers compare and repair with, and the counters for health and metrics. Reads never
 * change anything.
 */
import { RegistryError } from './errors.js';
import { replicaDigest } from './checksum.js';
import { describeInstance, type InstanceAddress, type ServiceAddress } from './instance-record.js';
import { leaseExpiresAt } from './lease.js';
import type { InstanceChange, InstanceRecord, ServiceFilter, ServiceRef, ServiceSummary, ServiceView } from './model.js';
import type { RegistryState, ServiceSettings } from './registry-state.js';
import type { SelfPreservationState } from './self-preservation.js';
import type { ServiceState } from './service-state.js';
import { buildView } from './service-view.js';
import type { Tombstone } from './tombstones.js';
import { normalizeGroupFilter, normalizeInstanceRef, normalizeNamespace, normalizeServiceRef } from './validate.js';

/** Instance counts of one namespace, or of one service (`group` and `service` set). */
export interface PopulationCounts {
  readonly namespace: string;
  readonly group?: string;
  readonly service?: string;
  /** Services with at least one instance, or explicitly configured (namespace rows only; 1 on service rows). */
  readonly services: number;
  readonly instances: number;
  /** Instances whose effective health is healthy (a late heartbeat has turned off). */
  readonly healthy: number;
}

export interface ServicePage {
  readonly services: readonly ServiceSummary[];
  readonly nextPageToken: string;
  readonly totalSize: number;
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

/** One instance as a peer exports it: where, the record, and its lease's last renewal. */
export interface ReplicaEntry extends ServiceRef {
  readonly record: InstanceRecord;
  readonly lastRenewalMs: number;
}

/** A service's replica digest (anti-entropy). */
export interface ReplicaDigestEntry extends ServiceRef {
  readonly digest: string;
  /** The write version of the service's settings (0 = none, or not configured). */
  readonly settingsVersion: number;
}

const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

/** The reconcile hash of a namespace with no services (SHA-1 of nothing). */
const reconcileHashOfNothing = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders `group@@name` keys the way listServices orders services (group, then name). */
function compareKeys(a: string, b: string): number {
  const [ga = '', na = ''] = a.split('@@');
  const [gb = '', nb = ''] = b.split('@@');
  return compare(ga, gb) || compare(na, nb);
}

export function hasInstance(s: RegistryState, address: InstanceAddress): boolean {
  return s.find(normalizeInstanceRef(address, s.options)) !== undefined;
}

export function serviceNames(s: RegistryState, namespace: string | undefined, group: string | undefined): { group: string; service: string }[] {
  const ns = s.namespaces.get(normalizeNamespace(namespace, s.options));
  const wanted = normalizeGroupFilter(group, s.options);
  const out: { group: string; service: string }[] = [];
  for (const svc of ns?.services.values() ?? []) if (svc.instances.size > 0 && (wanted === undefined || svc.group === wanted)) out.push({ group: svc.group, service: svc.name });
  return out;
}

export function getInstance(s: RegistryState, address: InstanceAddress): { record: InstanceRecord; lastRenewalMs: number; leaseExpiresAt: number } {
  const ref = normalizeInstanceRef(address, s.options);
  const found = s.find(ref);
  if (found === undefined) throw RegistryError.notFound(`${describeInstance(ref)} is not registered`);
  return { record: found.entry.record, lastRenewalMs: found.entry.lastRenewalMs, leaseExpiresAt: leaseExpiresAt(found.entry) };
}

export function query(s: RegistryState, address: ServiceAddress, filter: ServiceFilter): ServiceView {
  const ref = normalizeServiceRef(address, s.options);
  const ns = s.namespaces.get(ref.namespace);
  const svc = s.service(ref);
  if (svc !== undefined) return svc.getView(filter, s.views);
  return buildView(
    {
      namespace: ref.namespace,
      group: ref.group,
      name: ref.service,
      revision: ns?.removedRevisionFloor ?? 0,
      lastRefTime: 0,
      protectThreshold: s.options.defaultProtectThreshold,
      cacheMillis: s.options.cacheMillis,
      hosts: [],
    },
    filter,
    s.views.checksum,
  );
}

export function listServices(
  s: RegistryState,
  input: { namespace?: string | undefined; group?: string | undefined; pageSize?: number | undefined; pageToken?: string | undefined },
): ServicePage {
  const namespace = normalizeNamespace(input.namespace, s.options);
  const group = normalizeGroupFilter(input.group, s.options);
  const size = input.pageSize === undefined || input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw RegistryError.invalid([{ field: 'page_size', description: `page_size must be between 1 and ${MAX_PAGE_SIZE} (got ${size})` }]);
  }
  let after = '';
  if (input.pageToken !== undefined && input.pageToken !== '') {
    after = Buffer.from(input.pageToken, 'base64url').toString('utf8');
    if (!after.includes('@@')) throw RegistryError.invalid([{ field: 'page_token', description: 'page_token is not a token this server issued' }]);
  }
  const ns = s.namespaces.get(namespace);
  const all = [...(ns?.services.values() ?? [])].filter((svc) => group === undefined || svc.group === group);
  all.sort((a, b) => compare(a.group, b.group) || compare(a.name, b.name));
  const keyOf = (svc: ServiceState) => `${svc.group}@@${svc.name}`;
  const start = after === '' ? 0 : all.findIndex((svc) => compareKeys(keyOf(svc), after) > 0);
  const page = start < 0 ? [] : all.slice(start, start + size);
  const last = page[page.length - 1];
  const more = start >= 0 && start + size < all.length && last !== undefined;
  return {
    services: page.map((svc) => s.summarize(svc)),
    nextPageToken: more ? Buffer.from(keyOf(last), 'utf8').toString('base64url') : '',
    totalSize: all.length,
  };
}

export function fetchRegistry(s: RegistryState, namespace: string | undefined): { services: ServiceView[]; reconcileHash: string } {
  const ns = s.namespaces.get(normalizeNamespace(namespace, s.options));
  if (ns === undefined) return { services: [], reconcileHash: reconcileHashOfNothing };
  const services = [...ns.services.values()]
    .filter((svc) => svc.instances.size > 0)
    .sort((a, b) => compare(a.group, b.group) || compare(a.name, b.name))
    .map((svc) => s.fullView(svc));
  return { services, reconcileHash: ns.reconcileHash((svc) => s.fullView(svc).checksum) };
}

export function fetchDelta(s: RegistryState, namespace: string | undefined): { changes: InstanceChange[]; reconcileHash: string; retentionMs: number } {
  const ns = s.namespaces.get(normalizeNamespace(namespace, s.options));
  const retentionMs = s.options.deltaRetentionMs;
  if (ns === undefined) return { changes: [], reconcileHash: reconcileHashOfNothing, retentionMs };
  return { changes: ns.changes.since(s.clock.nowMs()), reconcileHash: ns.reconcileHash((svc) => s.fullView(svc).checksum), retentionMs };
}

export function replicaOf(s: RegistryState, address: ServiceAddress): { entries: ReplicaEntry[]; tombstones: Tombstone[]; settings: ServiceSettings | undefined } {
  const ref = normalizeServiceRef(address, s.options);
  const entries: ReplicaEntry[] = [];
  const svc = s.service(ref);
  for (const e of svc?.instances.values() ?? []) {
    entries.push({ namespace: ref.namespace, group: ref.group, service: ref.service, record: e.record, lastRenewalMs: e.lastRenewalMs });
  }
  const settings =
    svc?.explicit === true
      ? { ...ref, protectThreshold: svc.protectThreshold ?? s.options.defaultProtectThreshold, metadata: svc.metadata, version: svc.settingsVersion }
      : undefined;
  return { entries, tombstones: s.tombstones.ofService(ref), settings };
}

export function replicaDigests(s: RegistryState): ReplicaDigestEntry[] {
  const out: ReplicaDigestEntry[] = [];
  for (const ns of s.namespaces.values()) {
    for (const svc of ns.services.values()) {
      // Empty services count when configured: their settings are compared too.
      if (svc.instances.size === 0 && !svc.explicit) continue;
      const digest = svc.memo('replica-digest', () => replicaDigest(svc.getSnapshot(s.views).hosts));
      out.push({ namespace: ns.name, group: svc.group, service: svc.name, digest, settingsVersion: svc.explicit ? svc.settingsVersion : 0 });
    }
  }
  return out;
}

export function* replicaEntries(s: RegistryState): Generator<ReplicaEntry> {
  for (const ns of s.namespaces.values()) {
    for (const svc of ns.services.values()) {
      for (const e of svc.instances.values()) yield { namespace: ns.name, group: svc.group, service: svc.name, record: e.record, lastRenewalMs: e.lastRenewalMs };
    }
  }
}

export function stats(s: RegistryState): RegistryStats {
  let services = 0;
  for (const ns of s.namespaces.values()) services += ns.services.size;
  const now = s.clock.nowMs();
  return {
    namespaces: s.namespaces.size,
    services,
    instances: s.instanceCount,
    leaseBoundInstances: s.leaseBound,
    expectedRenewsPerMinute: s.expectedPerMinute,
    renewsLastMinute: s.meter.lastMinute(now),
    selfPreservation: s.selfPreservation(now),
    tombstones: s.tombstones.size,
    tombstonesDropped: s.tombstones.dropped,
  };
}

/**
 * Instance counts per namespace, and per service when `perService` (one row per service: as many
 * rows as services, so only for operators who opted in). O(instances): for scrapes, not hot paths.
 */
export function populations(s: RegistryState, perService: boolean): { namespaces: PopulationCounts[]; services: PopulationCounts[] } {
  const namespaces: PopulationCounts[] = [];
  const services: PopulationCounts[] = [];
  for (const ns of s.namespaces.values()) {
    let instances = 0;
    let healthy = 0;
    for (const svc of ns.services.values()) {
      let h = 0;
      for (const e of svc.instances.values()) if (e.record.healthy) h++;
      instances += svc.instances.size;
      healthy += h;
      if (perService) services.push({ namespace: ns.name, group: svc.group, service: svc.name, services: 1, instances: svc.instances.size, healthy: h });
    }
    namespaces.push({ namespace: ns.name, services: ns.services.size, instances, healthy });
  }
  return { namespaces, services };
}
