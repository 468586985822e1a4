/**
 * Instance records: the one builder every path that stores an instance uses (a client's register,
 * a peer's copy), the capacity check before a new instance, the comparison of what clients see,
 * and the registration that reproduces a record. Pure.
 */
import { RegistryError } from './errors.js';
import type { Interner } from './interner.js';
import { serviceKey, type Actor, type InstanceRecord, type InstanceRef, type InstanceStatus, type RegistrantTransport } from './model.js';
import type { RegistryOptions } from './options.js';
import type { ServiceState } from './service-state.js';
import type { Registration, RegisterInput } from './validate.js';

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

/** What the owner of an instance says about it (registered status and reported health included). */
export type InstanceData = Pick<
  InstanceRecord,
  | 'ip'
  | 'port'
  | 'weight'
  | 'enabled'
  | 'ephemeral'
  | 'cluster'
  | 'metadata'
  | 'registeredStatus'
  | 'reportedHealthy'
  | 'unhealthyAfterMs'
  | 'lastDirtyTimestamp'
  | 'leaseDurationMs'
  | 'renewalIntervalMs'
>;

/** What the server decides about it: effective status and health, the override, the write version. */
export interface InstanceDecision {
  readonly status: InstanceStatus;
  readonly overriddenStatus: InstanceStatus | undefined;
  readonly healthy: boolean;
  readonly version: number;
  /** Who registered the instance ('' = registered without authentication). */
  readonly registrant: string;
  /** The API the registration came through ('' = not known). */
  readonly transport: RegistrantTransport;
}

/**
 * The owner's data of a validated registration, with its cluster name interned and its metadata
 * shared with an equal map recently registered in the service, if any (see interner.ts).
 */
export function dataOf(reg: Registration, interner: Interner, svc: ServiceState | undefined): InstanceData {
  return {
    ip: reg.ip,
    port: reg.port,
    weight: reg.weight,
    enabled: reg.enabled,
    ephemeral: reg.ephemeral,
    cluster: interner.string(reg.cluster),
    metadata: svc === undefined ? reg.metadata : svc.metadataShelf.share(reg.metadata),
    registeredStatus: reg.status,
    reportedHealthy: reg.healthy,
    unhealthyAfterMs: reg.unhealthyAfterMs,
    lastDirtyTimestamp: reg.lastDirtyTimestamp,
    leaseDurationMs: reg.leaseDurationMs,
    renewalIntervalMs: reg.renewalIntervalMs,
  };
}

/**
 * A record (frozen). Registration and service-up times carry over from the record it replaces
 * (`old`); the service-up time is set the first time the instance is UP.
 */
export function buildRecord(instanceId: string, data: InstanceData, decision: InstanceDecision, old: InstanceRecord | undefined, now: number): InstanceRecord {
  return freezeRecord(
    instanceId,
    data,
    data.lastDirtyTimestamp,
    decision,
    now,
    old?.registrationTimestamp ?? now,
    old !== undefined && old.serviceUpTimestamp > 0 ? old.serviceUpTimestamp : decision.status === 'UP' ? now : 0,
    0,
  );
}

/** What a change to a stored record may set; everything else carries over. */
export type RecordChange = Partial<
  Pick<InstanceRecord, 'healthy' | 'status' | 'overriddenStatus' | 'lastDirtyTimestamp' | 'lastUpdatedTimestamp' | 'serviceUpTimestamp' | 'evictionTimestamp' | 'version'>
>;

/**
 * `r` with `change` applied, as a new frozen record (`overriddenStatus: undefined` removes the
 * override; other fields left undefined carry over).
 */
export function changeRecord(r: InstanceRecord, change: RecordChange): InstanceRecord {
  return freezeRecord(
    r.instanceId,
    r,
    change.lastDirtyTimestamp ?? r.lastDirtyTimestamp,
    {
      status: change.status ?? r.status,
      overriddenStatus: 'overriddenStatus' in change ? change.overriddenStatus : r.overriddenStatus,
      healthy: change.healthy ?? r.healthy,
      version: change.version ?? r.version,
      registrant: r.registrant,
      transport: r.transport,
    },
    change.lastUpdatedTimestamp ?? r.lastUpdatedTimestamp,
    r.registrationTimestamp,
    change.serviceUpTimestamp ?? r.serviceUpTimestamp,
    change.evictionTimestamp ?? r.evictionTimestamp,
  );
}

/**
 * The one place a record object is made, so every record has the same properties in the same order
 * and shares one hidden class. (An object spread such as `Object.freeze({ ...r, version })` makes V8
 * 11 build a new hidden class for each result in optimised code; hidden classes live in old space,
 * so every change would leave one to die there, fragmenting the heap the records live in.)
 */
function freezeRecord(
  instanceId: string,
  data: InstanceData,
  lastDirtyTimestamp: number,
  decision: InstanceDecision,
  lastUpdatedTimestamp: number,
  registrationTimestamp: number,
  serviceUpTimestamp: number,
  evictionTimestamp: number,
): InstanceRecord {
  return Object.freeze({
    instanceId,
    ip: data.ip,
    port: data.port,
    weight: data.weight,
    healthy: decision.healthy,
    reportedHealthy: data.reportedHealthy,
    unhealthyAfterMs: data.unhealthyAfterMs,
    enabled: data.enabled,
    ephemeral: data.ephemeral,
    cluster: data.cluster,
    metadata: data.metadata,
    status: decision.status,
    overriddenStatus: decision.overriddenStatus,
    registeredStatus: data.registeredStatus,
    lastDirtyTimestamp,
    lastUpdatedTimestamp,
    leaseDurationMs: data.leaseDurationMs,
    renewalIntervalMs: data.renewalIntervalMs,
    registrationTimestamp,
    serviceUpTimestamp,
    evictionTimestamp,
    version: decision.version,
    registrant: decision.registrant,
    transport: decision.transport,
  });
}

/** Refuses a new instance in a service that is full (LIMIT_EXCEEDED). */
export function checkRoom(svc: ServiceState | undefined, ref: InstanceRef, isNew: boolean, o: RegistryOptions): void {
  if (isNew && svc !== undefined && svc.instances.size >= o.maxInstancesPerService) {
    throw RegistryError.limit(
      `service ${serviceKey(ref.group, ref.service)} in namespace ${ref.namespace} already has ${svc.instances.size} instances, the limit (max instances per service)`,
    );
  }
}

export function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/**
 * True when two records would look the same to every client (snapshots, deltas) and to every peer
 * (the registrant, which peers enforce too). Versions and times do not count.
 */
export function sameVisible(a: InstanceRecord, b: InstanceRecord): boolean {
  return (
    a.registrant === b.registrant &&
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

/**
 * The registrant rule: an identity with write permission may change only the instances it
 * registered (or unowned ones, registered without authentication); an admin of the namespace may
 * change any. No actor (replication, the server's own decisions, auth off): no check.
 */
export function checkRegistrant(rec: InstanceRecord, ref: InstanceRef, actor: Actor | undefined): void {
  if (actor === undefined || actor.admin || rec.registrant === '' || rec.registrant === actor.name) return;
  throw RegistryError.denied(
    `${describeInstance(ref)} was registered by ${rec.registrant}; ${actor.name} may not change it (only its registrant or an admin of namespace ${ref.namespace} may)`,
  );
}

/** The registrant a write by `actor` leaves on an instance: the first identity keeps it. */
export function registrantAfter(old: InstanceRecord | undefined, actor: Actor | undefined): string {
  if (old !== undefined && old.registrant !== '') return old.registrant;
  return actor?.name ?? '';
}

/** "instance i-1 of G@@s in namespace ns", for messages. */
export function describeInstance(ref: InstanceRef): string {
  return `instance ${ref.instanceId} of ${serviceKey(ref.group, ref.service)} in namespace ${ref.namespace}`;
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
