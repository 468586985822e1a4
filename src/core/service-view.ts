/**
 * From a service snapshot to what one client sees: the cluster filter, the healthy-only filter and
 * Nacos's protect threshold. Pure; the registry memoises the result per revision and filter.
 */
import { serviceChecksum } from './checksum.js';
import { isUsable, type InstanceRecord, type ServiceFilter, type ServiceSnapshot, type ServiceView } from './model.js';

/** Sorted, de-duplicated clusters of a filter; empty = all. */
export function normalizeClusters(clusters: readonly string[] | undefined): string[] {
  if (clusters === undefined || clusters.length === 0) return [];
  return [...new Set(clusters.filter((c) => c !== ''))].sort();
}

/** A stable key for a filter: `clusters,sorted|h` (h when healthy-only). */
export function filterKey(filter: ServiceFilter): string {
  return `${normalizeClusters(filter.clusters).join(',')}|${filter.healthyOnly === true ? 'h' : ''}`;
}

/**
 * Applies a filter. With healthyOnly, only usable instances are returned, unless their share of the
 * (cluster-filtered) instances is below the service's protect threshold: then all of them are
 * returned and `reachProtectionThreshold` says so, so a few survivors are not flooded with all traffic.
 */
export function buildView(snapshot: ServiceSnapshot, filter: ServiceFilter, checksum: (hosts: readonly InstanceRecord[]) => string = serviceChecksum): ServiceView {
  const clusters = normalizeClusters(filter.clusters);
  const healthyOnly = filter.healthyOnly === true;
  let hosts = snapshot.hosts;
  if (clusters.length > 0) {
    const wanted = new Set(clusters);
    hosts = hosts.filter((h) => wanted.has(h.cluster));
  }
  let reachProtectionThreshold = false;
  if (healthyOnly) {
    const usable = hosts.filter(isUsable);
    const t = snapshot.protectThreshold;
    if (t > 0 && hosts.length > 0 && usable.length / hosts.length < t) reachProtectionThreshold = true;
    else hosts = usable;
  }
  return {
    namespace: snapshot.namespace,
    group: snapshot.group,
    name: snapshot.name,
    revision: snapshot.revision,
    lastRefTime: snapshot.lastRefTime,
    protectThreshold: snapshot.protectThreshold,
    cacheMillis: snapshot.cacheMillis,
    clusters,
    healthyOnly,
    hosts,
    checksum: checksum(hosts),
    reachProtectionThreshold,
  };
}
