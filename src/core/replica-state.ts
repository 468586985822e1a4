/**
 * What peers read of a registry: every instance (start-up sync), per-service checksums
 * (anti-entropy's comparison) and one service's instances with its recent deletions (the repair).
 * Built on the registry's public reads; changes nothing.
 */
import type { InstanceRecord, ServiceRef } from './model.js';
import type { Registry } from './registry.js';

export interface ReplicaInstance extends ServiceRef {
  readonly record: InstanceRecord;
}

export interface ServiceChecksumEntry extends ServiceRef {
  readonly checksum: string;
}

export interface ConfiguredService extends ServiceRef {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface Tombstone {
  readonly instanceId: string;
  /** When it was removed on this node (ms since epoch). */
  readonly deletedAt: number;
}

/** Every service of every namespace, as ServiceRefs with their summaries. */
function* everyService(registry: Registry): Generator<{ ref: ServiceRef; configured: boolean; protectThreshold: number; metadata: Readonly<Record<string, string>> }> {
  for (const namespace of registry.namespaceNames()) {
    let pageToken = '';
    do {
      const page = registry.listServices({ namespace, pageSize: 1000, pageToken });
      for (const s of page.services) {
        yield { ref: { namespace, group: s.group, service: s.name }, configured: s.configured, protectThreshold: s.protectThreshold, metadata: s.metadata };
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }
}

/** Every instance, service by service. */
export function* exportInstances(registry: Registry): Generator<ReplicaInstance> {
  for (const { ref } of everyService(registry)) {
    for (const record of registry.query(ref).hosts) yield { ...ref, record };
  }
}

/** Services created or configured explicitly (their settings travel with a sync). */
export function configuredServices(registry: Registry): ConfiguredService[] {
  const out: ConfiguredService[] = [];
  for (const s of everyService(registry)) if (s.configured) out.push({ ...s.ref, protectThreshold: s.protectThreshold, metadata: s.metadata });
  return out;
}

/** The checksum of every non-empty service. */
export function serviceChecksums(registry: Registry): ServiceChecksumEntry[] {
  const out: ServiceChecksumEntry[] = [];
  for (const { ref } of everyService(registry)) {
    const view = registry.query(ref);
    if (view.hosts.length > 0) out.push({ ...ref, checksum: view.checksum });
  }
  return out;
}

/** One service's instances, and the instances removed from it within the delta retention window. */
export function serviceState(registry: Registry, ref: ServiceRef): { instances: InstanceRecord[]; deleted: Tombstone[] } {
  const instances = [...registry.query(ref).hosts];
  const present = new Set(instances.map((i) => i.instanceId));
  const deleted = new Map<string, number>();
  for (const c of registry.fetchDelta(ref.namespace).changes) {
    if (c.action === 'DELETED' && c.group === ref.group && c.service === ref.service && !present.has(c.record.instanceId)) {
      deleted.set(c.record.instanceId, c.changedAt);
    }
  }
  return { instances, deleted: [...deleted].map(([instanceId, deletedAt]) => ({ instanceId, deletedAt })) };
}
