/**
 * Eureka's JSON, as Eureka writes it: InstanceInfo (`port` as `{"$": n, "@enabled": "true"}`,
 * `dataCenterInfo` with `@class` and `name`, `leaseInfo` in seconds, timestamps as strings) and the
 * applications wrapper with `versions__delta` and `apps__hashcode` (Eureka's reconcile hash: the
 * instance count per status, `DOWN_1_UP_3_`, statuses in alphabetical order).
 *
 * Fields herald has no place for (hostName, VIPs, URLs, data-centre info, secure port) travel in
 * reserved `eureka.*` metadata keys, so an instance reads back as it was registered.
 */
import type { ActionType, InstanceRecord, InstanceStatus } from '../../core/model.js';

/** Metadata keys herald uses to keep Eureka-only fields. */
export const EUREKA_META = {
  hostName: 'eureka.hostName',
  vipAddress: 'eureka.vipAddress',
  secureVipAddress: 'eureka.secureVipAddress',
  securePort: 'eureka.securePort',
  securePortEnabled: 'eureka.securePortEnabled',
  portEnabled: 'eureka.portEnabled',
  homePageUrl: 'eureka.homePageUrl',
  statusPageUrl: 'eureka.statusPageUrl',
  healthCheckUrl: 'eureka.healthCheckUrl',
  secureHealthCheckUrl: 'eureka.secureHealthCheckUrl',
  dataCenterInfo: 'eureka.dataCenterInfo',
} as const;

const RESERVED_PREFIX = 'eureka.';
const DEFAULT_DATA_CENTER = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

export interface EurekaInstance {
  readonly instanceId: string;
  readonly hostName: string;
  readonly app: string;
  readonly ipAddr: string;
  readonly status: InstanceStatus;
  readonly overriddenStatus: InstanceStatus;
  readonly port: { readonly $: number; readonly '@enabled': string };
  readonly securePort: { readonly $: number; readonly '@enabled': string };
  readonly countryId: number;
  readonly dataCenterInfo: unknown;
  readonly leaseInfo: {
    readonly renewalIntervalInSecs: number;
    readonly durationInSecs: number;
    readonly registrationTimestamp: number;
    readonly lastRenewalTimestamp: number;
    readonly evictionTimestamp: number;
    readonly serviceUpTimestamp: number;
  };
  readonly metadata: Record<string, string>;
  readonly homePageUrl: string;
  readonly statusPageUrl: string;
  readonly healthCheckUrl: string;
  /** Only when one was registered (Eureka omits a null one). */
  readonly secureHealthCheckUrl?: string;
  readonly vipAddress: string;
  readonly secureVipAddress: string;
  readonly isCoordinatingDiscoveryServer: string;
  readonly lastUpdatedTimestamp: string;
  readonly lastDirtyTimestamp: string;
  readonly actionType?: ActionType;
}

/**
 * The status a Eureka client should see: Eureka has no health or enabled flag, so an instance that
 * is unhealthy or disabled in herald (e.g. a Nacos instance whose beats stopped) reads as DOWN.
 */
export function eurekaStatus(r: InstanceRecord): InstanceStatus {
  return r.status === 'UP' && (!r.healthy || !r.enabled) ? 'DOWN' : r.status;
}

function dataCenter(r: InstanceRecord): unknown {
  const raw = r.metadata[EUREKA_META.dataCenterInfo];
  if (raw === undefined) return DEFAULT_DATA_CENTER;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return DEFAULT_DATA_CENTER;
  }
}

/** InstanceInfo of a record of service `app`; `lastRenewalMs` is 0 when not known (snapshots). */
export function eurekaInstance(app: string, r: InstanceRecord, lastRenewalMs = 0, actionType?: ActionType): EurekaInstance {
  const m = r.metadata;
  const userMetadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (!k.startsWith(RESERVED_PREFIX)) userMetadata[k] = v;
  const vip = m[EUREKA_META.vipAddress] ?? app.toLowerCase();
  return {
    instanceId: r.instanceId,
    hostName: m[EUREKA_META.hostName] ?? r.ip,
    app: app.toUpperCase(),
    ipAddr: r.ip,
    status: eurekaStatus(r),
    overriddenStatus: r.overriddenStatus ?? 'UNKNOWN',
    port: { $: r.port, '@enabled': m[EUREKA_META.portEnabled] ?? 'true' },
    securePort: { $: Number(m[EUREKA_META.securePort] ?? 443), '@enabled': m[EUREKA_META.securePortEnabled] ?? 'false' },
    countryId: 1,
    dataCenterInfo: dataCenter(r),
    leaseInfo: {
      renewalIntervalInSecs: Math.max(1, Math.round(r.renewalIntervalMs / 1000)),
      durationInSecs: Math.max(1, Math.round(r.leaseDurationMs / 1000)),
      registrationTimestamp: r.registrationTimestamp,
      lastRenewalTimestamp: lastRenewalMs,
      evictionTimestamp: r.evictionTimestamp,
      serviceUpTimestamp: r.serviceUpTimestamp,
    },
    metadata: userMetadata,
    homePageUrl: m[EUREKA_META.homePageUrl] ?? '',
    statusPageUrl: m[EUREKA_META.statusPageUrl] ?? '',
    healthCheckUrl: m[EUREKA_META.healthCheckUrl] ?? '',
    ...(m[EUREKA_META.secureHealthCheckUrl] === undefined ? {} : { secureHealthCheckUrl: m[EUREKA_META.secureHealthCheckUrl] }),
    vipAddress: vip,
    secureVipAddress: m[EUREKA_META.secureVipAddress] ?? vip,
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(r.lastUpdatedTimestamp),
    lastDirtyTimestamp: String(r.lastDirtyTimestamp),
    ...(actionType === undefined ? {} : { actionType }),
  };
}

/** Eureka's reconcile hash: `STATUS_count_` for each status present, in alphabetical order. */
export function appsHashCode(instances: Iterable<Pick<EurekaInstance, 'status'>>): string {
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((s) => `${s}_${String(counts.get(s))}_`)
    .join('');
}

export interface EurekaApplication {
  readonly name: string;
  readonly instance: readonly EurekaInstance[];
}

/** The applications wrapper. */
export function applications(apps: readonly EurekaApplication[], hashCode: string, version: number): { applications: Record<string, unknown> } {
  return { applications: { versions__delta: String(version), apps__hashcode: hashCode, application: apps } };
}
