/**
 * The registry's domain types. Records are immutable: a change replaces the record, so the
 * recently-changed queue, snapshots and encoders can share them without copying.
 */

/** Instance lifecycle statuses (Eureka's). Only UP instances take traffic. */
export const INSTANCE_STATUSES = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export function isInstanceStatus(value: unknown): value is InstanceStatus {
  return typeof value === 'string' && (INSTANCE_STATUSES as readonly string[]).includes(value);
}

/** What happened to an instance, as recorded in the recently-changed queue. */
export type ActionType = 'ADDED' | 'MODIFIED' | 'DELETED';

export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';
/** Separates group and service in a service key, and key parts in a client cache key. */
export const KEY_SEPARATOR = '@@';

/** Names a service. */
export interface ServiceRef {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

/** Names an instance of a service. */
export interface InstanceRef extends ServiceRef {
  readonly instanceId: string;
}

/** A stored instance. Immutable; times are ms since the Unix epoch, 0 meaning "never". */
export interface InstanceRecord {
  readonly instanceId: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  /** Effective health: as reported, unless its heartbeat is overdue (see unhealthyAfterMs). */
  readonly healthy: boolean;
  /** Health as the registrant reported it; restored by the next renewal after a heartbeat timeout. */
  readonly reportedHealthy: boolean;
  /** Without a renewal for this long the instance is shown unhealthy (Nacos's beat timeout); 0 = never. */
  readonly unhealthyAfterMs: number;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Effective status after the overridden-status rules. */
  readonly status: InstanceStatus;
  /** The operator's override, if any. */
  readonly overriddenStatus: InstanceStatus | undefined;
  /** The status the instance itself last registered with (restored when an override is deleted). */
  readonly registeredStatus: InstanceStatus;
  /** When the owner last changed the instance's data; the newer copy wins conflicts. */
  readonly lastDirtyTimestamp: number;
  /** When the server last changed this record. */
  readonly lastUpdatedTimestamp: number;
  readonly leaseDurationMs: number;
  readonly renewalIntervalMs: number;
  readonly registrationTimestamp: number;
  /** First time the instance was UP under this lease; carried across re-registrations. */
  readonly serviceUpTimestamp: number;
  /** When the instance was cancelled or evicted; 0 while registered. */
  readonly evictionTimestamp: number;
  /**
   * The write version of the last client-originated change (see version-clock.ts): issued by the
   * node that accepted the change and carried by replication, so every node orders changes to the
   * instance the same way. Renewals and this node's own decisions (eviction, beat timeouts) keep it.
   */
  readonly version: number;
  /**
   * The identity (user or service account) that registered the instance; '' when it was registered
   * without authentication. Only it, or an admin of the namespace, may change the instance.
   */
  readonly registrant: string;
  /** The API the instance was registered through ('' when a peer did not say); shown by the console. */
  readonly transport: RegistrantTransport;
}

/** The APIs a registrant can register through. */
export const REGISTRANT_TRANSPORTS = ['grpc', 'nacos', 'eureka', 'consul'] as const;
/** One of REGISTRANT_TRANSPORTS, or '' when not known. */
export type RegistrantTransport = (typeof REGISTRANT_TRANSPORTS)[number] | '';

/** `value` as a registrant transport (the shared constant, not the caller's string); anything unknown (an older or newer peer) becomes ''. */
export function registrantTransportOf(value: string): RegistrantTransport {
  return REGISTRANT_TRANSPORTS.find((t) => t === value) ?? '';
}

/** Who asks for a client write, for the registrant rule. */
export interface Actor {
  /** The user or service account name. */
  readonly name: string;
  /** Whether it is admin of the instance's namespace (may change any instance). */
  readonly admin: boolean;
}

/** A record together with its live lease renewal time (mutable: renewals are the hot path). */
export interface InstanceEntry {
  record: InstanceRecord;
  lastRenewalMs: number;
}

/** The whole of one service at one revision. Immutable and shared; built lazily once per revision. */
export interface ServiceSnapshot {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  readonly revision: number;
  /** When the service last changed (ms since epoch). */
  readonly lastRefTime: number;
  readonly protectThreshold: number;
  /** How long a client may trust the snapshot before polling (ms). */
  readonly cacheMillis: number;
  /** All instances, sorted by instanceId. */
  readonly hosts: readonly InstanceRecord[];
}

/** A filter a client applies to a service: the key of a client-side cache entry. */
export interface ServiceFilter {
  /** Only these clusters (any order, duplicates allowed); empty = all. */
  readonly clusters?: readonly string[];
  /** Only usable instances (healthy, enabled, UP, weight > 0), unless protection kicks in. */
  readonly healthyOnly?: boolean;
}

/** What a client sees of a service: a snapshot after a filter. Immutable; memoised per revision. */
export interface ServiceView extends Omit<ServiceSnapshot, 'hosts'> {
  /** The clusters filtered to, sorted and de-duplicated; empty = all. */
  readonly clusters: readonly string[];
  readonly healthyOnly: boolean;
  readonly hosts: readonly InstanceRecord[];
  /** Digest of `hosts` (see checksum.ts). */
  readonly checksum: string;
  /** True when the usable share fell below the protect threshold and all instances are returned. */
  readonly reachProtectionThreshold: boolean;
}

/** One entry of the recently-changed queue. */
export interface InstanceChange {
  readonly action: ActionType;
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly record: InstanceRecord;
  readonly changedAt: number;
  readonly revision: number;
}

/** Counts describing a service, for listings. */
export interface ServiceSummary {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  readonly instanceCount: number;
  readonly healthyInstanceCount: number;
  readonly clusters: readonly string[];
  readonly revision: number;
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Created or configured explicitly (UpdateService), so kept even when empty. */
  readonly configured: boolean;
  /** The write version of the settings (see ServiceSettings); 0 = never set with a version. */
  readonly settingsVersion: number;
}

/** `group@@service`. */
export function serviceKey(group: string, service: string): string {
  return `${group}${KEY_SEPARATOR}${service}`;
}

/** The instance id used when a registrant gives none: `ip#port#cluster#group@@service`. */
export function deriveInstanceId(ip: string, port: number, cluster: string, group: string, service: string): string {
  return `${ip}#${port}#${cluster}#${serviceKey(group, service)}`;
}

/** Usable means it may take traffic: healthy, enabled, UP and with a positive weight. */
export function isUsable(record: Pick<InstanceRecord, 'healthy' | 'enabled' | 'status' | 'weight'>): boolean {
  return record.healthy && record.enabled && record.status === 'UP' && record.weight > 0;
}
