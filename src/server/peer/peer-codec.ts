/**
 * The peer transport's codec: herald.v1.PeerService messages to and from the cluster's terms
 * (src/cluster/peer-link.ts). Both ends use it: GrpcPeerLink (the client) and the PeerService
 * handlers (the server). Wire types stop here.
 */
import { registrantTransportOf, type InstanceRecord, type InstanceRef, type InstanceStatus, type ServiceRef } from '../../core/model.js';
import type { InstanceState, ReplicaDigestEntry, ReplicaEntry, TombstoneInput } from '../../core/registry.js';
import type { Tombstone } from '../../core/tombstones.js';
import type { ConfiguredService } from '../../core/replica-state.js';
import type { IncomingTask, PeerAnswer, PeerCopy, ReplicationTask, ServiceReplica, SyncChunk } from '../../cluster/peer-link.js';
import { statusFromWire, statusNameFromWire, statusToWire } from '../../common/wire-status.js';
import { Instance, InstanceStatus as WireStatus } from '../../gen/herald/v1/model.js';
import {
  ReplicationAction,
  ReplicationOutcome,
  type InstanceTombstone,
  type PeerServiceState,
  type ReplicatedInstance,
  type ReplicationResult,
  type ReplicationTask as WireTask,
  type ServiceChecksum,
  type ServiceSettings,
  type SyncRegistryResponse,
  type Tombstone as WireTombstone,
} from '../../gen/herald/v1/peer_service.js';
import { instanceToWire } from '../grpc-codec.js';

// ------------------------------------------------------------------ instances and tombstones

/** An instance's state, with the server's times when known (0 otherwise). */
type CopyState = InstanceState & Partial<Pick<InstanceRecord, 'registrationTimestamp' | 'serviceUpTimestamp' | 'evictionTimestamp'>>;

/** A record as peers exchange it, with its lease's last renewal (0 = not known) and its version. */
export function copyToWire(ref: ServiceRef, instanceId: string, state: CopyState, lastRenewalMs = 0): ReplicatedInstance {
  const full: InstanceRecord = {
    ...state,
    instanceId,
    registrationTimestamp: state.registrationTimestamp ?? 0,
    serviceUpTimestamp: state.serviceUpTimestamp ?? 0,
    evictionTimestamp: state.evictionTimestamp ?? 0,
  };
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: instanceToWire(full, lastRenewalMs, 'full'),
    registeredStatus: statusToWire(full.registeredStatus),
    reportedHealthy: full.reportedHealthy,
    transport: full.transport,
    version: full.version,
  };
}

export function entryToWire(e: ReplicaEntry): ReplicatedInstance {
  return copyToWire(e, e.record.instanceId, e.record, e.lastRenewalMs);
}

export function peerCopyToWire(c: PeerCopy): ReplicatedInstance {
  const a = c.address;
  return copyToWire({ namespace: a.namespace ?? '', group: a.group ?? '', service: a.service ?? '' }, a.instanceId ?? '', c.state, c.lastRenewalMs);
}

/** A peer's instance as a copy; undefined without an instance. */
export function copyFromWire(r: ReplicatedInstance): PeerCopy | undefined {
  const i = r.instance;
  if (i === undefined) return undefined;
  const status: InstanceStatus = statusNameFromWire(i.status) ?? 'UP';
  return {
    address: { namespace: r.namespace, group: r.group, service: r.service, instanceId: i.instanceId },
    lastRenewalMs: i.lease?.lastRenewalTimestamp ?? 0,
    state: {
      ip: i.ip,
      port: i.port,
      weight: i.weight,
      healthy: i.healthy,
      reportedHealthy: r.reportedHealthy,
      unhealthyAfterMs: i.lease?.unhealthyAfterMs ?? 0,
      enabled: i.enabled,
      ephemeral: i.ephemeral,
      cluster: i.cluster,
      metadata: i.metadata,
      status,
      overriddenStatus: statusNameFromWire(i.overriddenStatus),
      registeredStatus: statusNameFromWire(r.registeredStatus) ?? status,
      lastDirtyTimestamp: i.lastDirtyTimestamp,
      lastUpdatedTimestamp: i.lastUpdatedTimestamp,
      leaseDurationMs: i.lease?.durationMs ?? 0,
      renewalIntervalMs: i.lease?.renewalIntervalMs ?? 0,
      version: r.version,
      registrant: i.registrant,
      transport: registrantTransportOf(r.transport),
    },
  };
}

export function tombstoneToWire(t: Tombstone | TombstoneInput): WireTombstone {
  return { instanceId: t.instanceId ?? '', deletedAt: t.deletedAt, version: t.version, expiresAt: t.expiresAt, persistent: t.persistent === true };
}

export function tombstoneFromWire(ref: ServiceRef, t: WireTombstone): TombstoneInput {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instanceId: t.instanceId,
    version: t.version,
    deletedAt: t.deletedAt,
    expiresAt: t.expiresAt,
    persistent: t.persistent,
  };
}

// ------------------------------------------------------------------ Replicate

/** The instance's address only (and, for a renewal, when it was renewed). */
function bare(ref: InstanceRef, lastRenewalMs = 0): ReplicatedInstance {
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    instance: Instance.fromPartial({ instanceId: ref.instanceId, ...(lastRenewalMs > 0 ? { lease: { lastRenewalTimestamp: lastRenewalMs } } : {}) }),
    registeredStatus: WireStatus.INSTANCE_STATUS_UNSPECIFIED,
    reportedHealthy: false,
    transport: '',
    version: 0,
  };
}

const NONE = WireStatus.INSTANCE_STATUS_UNSPECIFIED;

/**
 * The wire task that repeats a write on a peer: REGISTER, STATUS_UPDATE and DELETE_STATUS_OVERRIDE
 * carry the whole resulting record and its version, HEARTBEAT the version renewed and when, CANCEL
 * its tombstone; the Eureka-style fields (dirty timestamp, status) ride along for older nodes.
 */
export function taskToWire(e: ReplicationTask): WireTask {
  const none = { lastDirtyTimestamp: 0, status: NONE, tombstone: undefined, settings: undefined };
  switch (e.kind) {
    case 'service':
      return { ...none, action: ReplicationAction.REPLICATION_ACTION_UPDATE_SERVICE, target: undefined, version: e.settings.version, settings: settingsToWire(e.settings) };
    case 'register':
      return { ...none, action: ReplicationAction.REPLICATION_ACTION_REGISTER, target: copyToWire(e.ref, e.ref.instanceId, e.record, e.lastRenewalMs), version: e.record.version };
    case 'renew':
      return {
        ...none,
        action: ReplicationAction.REPLICATION_ACTION_HEARTBEAT,
        target: bare(e.ref, e.lastRenewalMs),
        lastDirtyTimestamp: e.record.lastDirtyTimestamp,
        version: e.record.version,
      };
    case 'cancel':
      return { ...none, action: ReplicationAction.REPLICATION_ACTION_CANCEL, target: bare(e.ref), version: e.tombstone.version, tombstone: tombstoneToWire(e.tombstone) };
    case 'status':
      return {
        ...none,
        action: ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE,
        target: copyToWire(e.ref, e.ref.instanceId, e.record),
        lastDirtyTimestamp: e.lastDirtyTimestamp ?? 0,
        status: statusToWire(e.status),
        version: e.record.version,
      };
    case 'delete-override':
      return {
        ...none,
        action: ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE,
        target: copyToWire(e.ref, e.ref.instanceId, e.record),
        status: statusToWire(e.status),
        version: e.record.version,
      };
  }
}

function refOf(t: WireTask): InstanceRef {
  return { namespace: t.target?.namespace ?? '', group: t.target?.group ?? '', service: t.target?.service ?? '', instanceId: t.target?.instance?.instanceId ?? '' };
}

/** A received wire task in the cluster's terms. */
export function taskFromWire(t: WireTask): IncomingTask {
  if (t.action === ReplicationAction.REPLICATION_ACTION_UPDATE_SERVICE) {
    const s = t.settings;
    const ref = { namespace: s?.namespace ?? '', group: s?.group ?? '', service: s?.service ?? '', instanceId: '' };
    return s === undefined ? { kind: 'unknown', ref, action: t.action } : { kind: 'service', ref, settings: settingsFromWire(s) };
  }
  const ref = refOf(t);
  const copy = t.target === undefined ? undefined : copyFromWire(t.target);
  switch (t.action) {
    case ReplicationAction.REPLICATION_ACTION_REGISTER:
      return { kind: 'register', ref, copy, status: undefined, lastDirtyTimestamp: t.lastDirtyTimestamp };
    case ReplicationAction.REPLICATION_ACTION_STATUS_UPDATE:
      return { kind: 'status', ref, copy, status: statusFromWire(t.status), lastDirtyTimestamp: t.lastDirtyTimestamp };
    case ReplicationAction.REPLICATION_ACTION_DELETE_STATUS_OVERRIDE:
      return { kind: 'delete-override', ref, copy, status: statusFromWire(t.status), lastDirtyTimestamp: t.lastDirtyTimestamp };
    case ReplicationAction.REPLICATION_ACTION_HEARTBEAT:
      return { kind: 'heartbeat', ref, version: t.version, renewedAtMs: t.target?.instance?.lease?.lastRenewalTimestamp ?? 0, lastDirtyTimestamp: t.lastDirtyTimestamp };
    case ReplicationAction.REPLICATION_ACTION_CANCEL:
      return { kind: 'cancel', ref, tombstone: t.tombstone === undefined ? undefined : tombstoneFromWire(ref, { ...t.tombstone, instanceId: ref.instanceId }) };
    default:
      return { kind: 'unknown', ref, action: t.action };
  }
}

const OUTCOME_OF: Readonly<Record<PeerAnswer['kind'], ReplicationOutcome>> = {
  ok: ReplicationOutcome.REPLICATION_OUTCOME_OK,
  'not-found': ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND,
  'newer-here': ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT,
  deleted: ReplicationOutcome.REPLICATION_OUTCOME_DELETED,
  rejected: ReplicationOutcome.REPLICATION_OUTCOME_REJECTED,
};

export function answerToWire(a: PeerAnswer): ReplicationResult {
  return {
    outcome: OUTCOME_OF[a.kind],
    message: a.kind === 'rejected' ? a.message : '',
    serverCopy: a.kind === 'newer-here' && a.copy !== undefined ? peerCopyToWire(a.copy) : undefined,
    tombstone: a.kind === 'deleted' ? tombstoneToWire(a.tombstone) : undefined,
  };
}

export function answerFromWire(r: ReplicationResult, ref: InstanceRef): PeerAnswer {
  switch (r.outcome) {
    case ReplicationOutcome.REPLICATION_OUTCOME_OK:
      return { kind: 'ok' };
    case ReplicationOutcome.REPLICATION_OUTCOME_NOT_FOUND:
      return { kind: 'not-found' };
    case ReplicationOutcome.REPLICATION_OUTCOME_CONFLICT:
      return { kind: 'newer-here', copy: r.serverCopy === undefined ? undefined : copyFromWire(r.serverCopy) };
    case ReplicationOutcome.REPLICATION_OUTCOME_DELETED:
      return r.tombstone === undefined ? { kind: 'ok' } : { kind: 'deleted', tombstone: tombstoneFromWire(ref, { ...r.tombstone, instanceId: ref.instanceId }) };
    default:
      return { kind: 'rejected', message: r.message === '' ? `outcome ${r.outcome}` : r.message };
  }
}

// ------------------------------------------------------------------ sync, digests, fetches

export function settingsToWire(s: ConfiguredService): ServiceSettings {
  return { namespace: s.namespace, group: s.group, service: s.service, protectThreshold: s.protectThreshold, metadata: { ...s.metadata }, version: s.version };
}

export function settingsFromWire(s: ServiceSettings): ConfiguredService {
  return { namespace: s.namespace, group: s.group, service: s.service, protectThreshold: s.protectThreshold, metadata: s.metadata, version: s.version };
}

export function instanceTombstoneToWire(t: Tombstone): InstanceTombstone {
  return { namespace: t.namespace, group: t.group, service: t.service, tombstone: tombstoneToWire(t) };
}

export function syncChunkFromWire(r: SyncRegistryResponse): SyncChunk {
  const copies: PeerCopy[] = [];
  for (const i of r.instances) {
    const c = copyFromWire(i);
    if (c !== undefined) copies.push(c);
  }
  const tombstones: TombstoneInput[] = [];
  for (const t of r.tombstones) if (t.tombstone !== undefined) tombstones.push(tombstoneFromWire(t, t.tombstone));
  return { services: r.services.map(settingsFromWire), copies, tombstones };
}

export function digestToWire(d: ReplicaDigestEntry): ServiceChecksum {
  return { namespace: d.namespace, group: d.group, service: d.service, checksum: d.digest, settingsVersion: d.settingsVersion };
}

export function digestFromWire(c: ServiceChecksum): ReplicaDigestEntry {
  return { namespace: c.namespace, group: c.group, service: c.service, digest: c.checksum, settingsVersion: c.settingsVersion };
}

export function serviceReplicaFromWire(s: PeerServiceState): ServiceReplica | undefined {
  const ref = s.service;
  if (ref === undefined) return undefined;
  const copies: PeerCopy[] = [];
  for (const i of s.instances) {
    const c = copyFromWire(i);
    if (c !== undefined) copies.push(c);
  }
  return { service: ref, copies, tombstones: s.deleted.map((t) => tombstoneFromWire(ref, t)), settings: s.settings === undefined ? undefined : settingsFromWire(s.settings) };
}
