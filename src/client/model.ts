/**
 * The SDK's view of the registry: plain objects with status names instead of wire enums. Times are
 * milliseconds since the Unix epoch; durations are milliseconds.
 */
import type { InstanceStatus, ServiceSummary as CoreServiceSummary } from '../core/model.js';

export type { InstanceStatus } from '../core/model.js';

/** One instance of a service, as pushed or pulled. */
export interface ServiceInstance {
  readonly instanceId: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: InstanceStatus;
  readonly overriddenStatus: InstanceStatus | undefined;
  readonly lastDirtyTimestamp: number;
  readonly leaseDurationMs: number;
  readonly renewalIntervalMs: number;
}

/** A service as the client holds it (Nacos's ServiceInfo). */
export interface ServiceSnapshot {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
  /** Clusters the snapshot is filtered to; empty = all. */
  readonly clusters: readonly string[];
  readonly hosts: readonly ServiceInstance[];
  /** When the service last changed on the server. */
  readonly lastRefTime: number;
  readonly checksum: string;
  /** Monotonic per service on one server. */
  readonly revision: number;
  /** How long the snapshot may be trusted before polling. */
  readonly cacheMillis: number;
  /** All instances were returned because too few were usable (Nacos's protect threshold). */
  readonly reachProtectionThreshold: boolean;
  /** The service's protect threshold, 0 to 1 (0 = off). */
  readonly protectThreshold: number;
}

/** How hosts changed between two snapshots, by instance id. */
export interface HostDiff {
  readonly added: readonly ServiceInstance[];
  readonly modified: readonly ServiceInstance[];
  readonly removed: readonly ServiceInstance[];
}

/** What a registrant describes; unset fields take the server's defaults. */
export interface InstanceSpec {
  readonly namespace?: string;
  readonly group?: string;
  readonly service: string;
  readonly instanceId?: string;
  readonly ip: string;
  readonly port: number;
  readonly weight?: number;
  readonly healthy?: boolean;
  readonly enabled?: boolean;
  readonly ephemeral?: boolean;
  readonly cluster?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly status?: InstanceStatus;
  readonly leaseDurationMs?: number;
  readonly renewalIntervalMs?: number;
  /** Shown unhealthy after this long without a renewal; default never. */
  readonly unhealthyAfterMs?: number;
}

/** Names one instance for the admin calls; namespace and group default as in queries. */
export interface InstanceRef {
  readonly namespace?: string;
  readonly group?: string;
  readonly service: string;
  readonly instanceId: string;
}

/** A service's settings, as UpdateService replaces them: every field not given is reset (0, no metadata). */
export interface ServiceSettings {
  readonly namespace?: string;
  readonly group?: string;
  readonly service: string;
  /** 0 to 1; 0 (the default) turns protection off. */
  readonly protectThreshold?: number;
  /** Service-level metadata, replacing what was there. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A service as listed, with its settings (UpdateService's answer): core's summary without its server-side fields (`configured`, `settingsVersion`). */
export type ServiceSummary = Omit<CoreServiceSummary, 'configured' | 'settingsVersion'>;
