/**
 * A Eureka registration body (InstanceInfo, wrapped as `{"instance": …}` or not) to a core
 * RegisterInput. Eureka's own checks come first, with its messages (Missing instanceId, …), then
 * herald's validation runs in the core.
 */
import { DEFAULT_CLUSTER, DEFAULT_GROUP, isInstanceStatus } from '../../core/model.js';
import type { InstanceAddress, InstanceState } from '../../core/registry.js';
import { RegistryError } from '../../core/errors.js';
import type { RegisterInput } from '../../core/validate.js';
import { EUREKA_META } from './eureka-json.js';

/**
 * A Eureka-level validation failure: the registry's one error type (INVALID_ARGUMENT, answered 400
 * with the message, as Eureka does), naming Eureka's field.
 */
export function eurekaBadRequest(field: string, message: string): RegistryError {
  return RegistryError.invalid([{ field, description: message }]);
}

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const blank = (v: unknown): boolean => {
  const s = str(v);
  return s === undefined || s.trim() === '';
};

/** `{"$": 8080, "@enabled": "true"}`, `8080` or `"8080"`. */
function portOf(v: unknown): { port: number | undefined; enabled: string | undefined } {
  if (isObject(v)) {
    const enabled = v['@enabled'];
    // Eureka reads "@enabled" as text, so a JSON boolean (eureka-js-client's README) counts too.
    return { port: Number(v.$), enabled: typeof enabled === 'boolean' ? String(enabled) : str(enabled) };
  }
  const n = Number(v);
  return { port: Number.isFinite(n) ? n : undefined, enabled: undefined };
}

function timestamp(v: unknown): number | undefined {
  const n = Number(v);
  return v === undefined || v === null || !Number.isFinite(n) ? undefined : n;
}

/** The InstanceInfo of a body, unwrapped. */
export function instanceInfo(body: unknown): Json {
  if (isObject(body) && isObject(body.instance)) return body.instance;
  if (isObject(body)) return body;
  throw eurekaBadRequest('instance', 'Missing instance');
}

/**
 * The instance's id as Eureka's InstanceInfo.getId() finds it: `instanceId`, else the data centre's
 * unique id (an AmazonInfo's `instance-id` metadata), else `hostName`.
 */
function idOf(info: Json): string | undefined {
  if (!blank(info.instanceId)) return str(info.instanceId);
  const dc = info.dataCenterInfo;
  if (
    isObject(dc) &&
    (dc.name === 'Amazon' || (typeof dc['@class'] === 'string' && dc['@class'].endsWith('AmazonInfo'))) &&
    isObject(dc.metadata) &&
    !blank(dc.metadata['instance-id'])
  ) {
    return str(dc.metadata['instance-id']);
  }
  return blank(info.hostName) ? undefined : str(info.hostName);
}

export function registrationFromEureka(appFromPath: string, body: unknown, namespace: string): RegisterInput {
  const info = instanceInfo(body);
  const id = idOf(info);
  if (id === undefined) throw eurekaBadRequest('instanceId', 'Missing instanceId');
  if (blank(info.hostName)) throw eurekaBadRequest('hostName', 'Missing hostname');
  if (blank(info.ipAddr)) throw eurekaBadRequest('ipAddr', 'Missing ip address');
  if (blank(info.app)) throw eurekaBadRequest('app', 'Missing appName');
  const app = (str(info.app) ?? '').toUpperCase();
  const expected = appFromPath.toUpperCase();
  if (app !== expected) throw eurekaBadRequest('app', `Mismatched appName, expecting ${expected} but was ${app}`);
  if (!isObject(info.dataCenterInfo)) throw eurekaBadRequest('dataCenterInfo', 'Missing dataCenterInfo');
  if (blank(info.dataCenterInfo.name)) throw eurekaBadRequest('dataCenterInfo.name', 'Missing dataCenterInfo Name');

  const { port, enabled: portEnabled } = portOf(info.port);
  const secure = portOf(info.securePort);
  const metadata: Record<string, string> = {};
  if (isObject(info.metadata)) {
    for (const [k, v] of Object.entries(info.metadata)) if (k !== '@class' && str(v) !== undefined) metadata[k] = str(v) ?? '';
  }
  const keep = (key: string, v: unknown): void => {
    const s = str(v);
    if (s !== undefined && s !== '') metadata[key] = s;
  };
  keep(EUREKA_META.hostName, info.hostName);
  keep(EUREKA_META.vipAddress, info.vipAddress);
  keep(EUREKA_META.secureVipAddress, info.secureVipAddress);
  keep(EUREKA_META.homePageUrl, info.homePageUrl);
  keep(EUREKA_META.statusPageUrl, info.statusPageUrl);
  keep(EUREKA_META.healthCheckUrl, info.healthCheckUrl);
  keep(EUREKA_META.secureHealthCheckUrl, info.secureHealthCheckUrl);
  keep(EUREKA_META.portEnabled, portEnabled);
  if (secure.port !== undefined) keep(EUREKA_META.securePort, secure.port);
  keep(EUREKA_META.securePortEnabled, secure.enabled);
  metadata[EUREKA_META.dataCenterInfo] = JSON.stringify(info.dataCenterInfo);

  const lease = isObject(info.leaseInfo) ? info.leaseInfo : {};
  const seconds = (v: unknown): number | undefined => {
    const n = Number(v);
    return v === undefined || !Number.isFinite(n) || n <= 0 ? undefined : Math.round(n * 1000);
  };
  const overridden = str(info.overriddenStatus) ?? str(info.overriddenstatus);
  const status = str(info.status);
  return {
    namespace,
    group: DEFAULT_GROUP,
    service: app,
    instance: {
      instanceId: id,
      ip: str(info.ipAddr),
      port,
      cluster: undefined,
      metadata,
      status,
      overriddenStatus: overridden !== undefined && isInstanceStatus(overridden) && overridden !== 'UNKNOWN' ? overridden : undefined,
      lastDirtyTimestamp: timestamp(info.lastDirtyTimestamp),
      leaseDurationMs: seconds(lease.durationInSecs),
      renewalIntervalMs: seconds(lease.renewalIntervalInSecs),
    },
  };
}

/**
 * A peer's InstanceInfo (a Eureka server's 409 copy or its registry) as the core's address and
 * state: what `adopt` takes. Eureka has no weight, health flag, cluster or ephemeral flag, so an
 * instance learned this way has herald's defaults for them. Throws INVALID_ARGUMENT like a register.
 */
export function replicaFromEureka(info: unknown, namespace: string): { address: InstanceAddress; state: InstanceState } {
  const raw = instanceInfo(info);
  const reg = registrationFromEureka(str(raw.app) ?? '', raw, namespace);
  const i = reg.instance ?? {};
  const status = str(raw.status);
  const effective = status !== undefined && isInstanceStatus(status) ? status : 'UP';
  return {
    address: { namespace, group: DEFAULT_GROUP, service: reg.service, instanceId: i.instanceId },
    state: {
      ip: i.ip ?? '',
      port: i.port ?? 0,
      weight: 1,
      healthy: true,
      reportedHealthy: true,
      unhealthyAfterMs: 0,
      enabled: true,
      ephemeral: true,
      cluster: DEFAULT_CLUSTER,
      metadata: i.metadata ?? {},
      status: effective,
      overriddenStatus: i.overriddenStatus !== undefined && isInstanceStatus(i.overriddenStatus) ? i.overriddenStatus : undefined,
      registeredStatus: effective,
      lastDirtyTimestamp: i.lastDirtyTimestamp ?? 0,
      lastUpdatedTimestamp: timestamp(raw.lastUpdatedTimestamp) ?? 0,
      leaseDurationMs: i.leaseDurationMs ?? 0,
      renewalIntervalMs: i.renewalIntervalMs ?? 0,
      // Eureka has no write versions: this node issues one when it adopts the copy.
      version: 0,
      // Eureka servers know no identities.
      registrant: '',
      transport: 'eureka',
    },
  };
}
