/** Maps the SDK's model to and from herald.v1 wire messages (the SDK's one codec module). */
import type { Instance, ServiceInfo, ServiceSummary as WireServiceSummary } from '../gen/herald/v1/model.js';
import { RegisterRequest } from '../gen/herald/v1/registry_service.js';
import { statusNameFromWire, statusToWire } from '../common/wire-status.js';
import type { InstanceSpec, ServiceInstance, ServiceSnapshot, ServiceSummary } from './model.js';

export function instanceFromWire(i: Instance): ServiceInstance {
  return {
    instanceId: i.instanceId,
    ip: i.ip,
    port: i.port,
    weight: i.weight,
    healthy: i.healthy,
    enabled: i.enabled,
    ephemeral: i.ephemeral,
    cluster: i.cluster,
    metadata: i.metadata,
    status: statusNameFromWire(i.status) ?? 'UNKNOWN',
    overriddenStatus: statusNameFromWire(i.overriddenStatus),
    lastDirtyTimestamp: i.lastDirtyTimestamp,
    leaseDurationMs: i.lease?.durationMs ?? 0,
    renewalIntervalMs: i.lease?.renewalIntervalMs ?? 0,
  };
}

export function snapshotFromWire(s: ServiceInfo): ServiceSnapshot {
  return {
    namespace: s.namespace,
    group: s.group,
    name: s.name,
    clusters: s.clusters,
    hosts: s.hosts.map(instanceFromWire),
    lastRefTime: s.lastRefTime,
    checksum: s.checksum,
    revision: s.revision,
    cacheMillis: s.cacheMillis,
    reachProtectionThreshold: s.reachProtectionThreshold,
    protectThreshold: s.protectThreshold,
  };
}

/** A Register request for `spec`, carrying the registrant's dirty timestamp. */
export function registerRequest(spec: InstanceSpec, lastDirtyTimestamp: number): RegisterRequest {
  return RegisterRequest.fromPartial({
    namespace: spec.namespace ?? '',
    group: spec.group ?? '',
    service: spec.service,
    instance: {
      instanceId: spec.instanceId ?? '',
      ip: spec.ip,
      port: spec.port,
      weight: spec.weight,
      healthy: spec.healthy,
      enabled: spec.enabled,
      ephemeral: spec.ephemeral,
      cluster: spec.cluster ?? '',
      metadata: { ...spec.metadata },
      status: statusToWire(spec.status),
      lastDirtyTimestamp,
      lease: { durationMs: spec.leaseDurationMs ?? 0, renewalIntervalMs: spec.renewalIntervalMs ?? 0, unhealthyAfterMs: spec.unhealthyAfterMs ?? 0 },
    },
  });
}

export function summaryFromWire(s: WireServiceSummary): ServiceSummary {
  return {
    namespace: s.namespace,
    group: s.group,
    name: s.name,
    instanceCount: s.instanceCount,
    healthyInstanceCount: s.healthyInstanceCount,
    clusters: s.clusters,
    revision: s.revision,
    protectThreshold: s.protectThreshold,
    metadata: s.metadata,
  };
}
