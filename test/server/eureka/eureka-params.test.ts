import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/core/errors.js';
import { EUREKA_META } from '../../../src/server/eureka/eureka-json.js';
import { eurekaBadRequest, instanceInfo, registrationFromEureka, replicaFromEureka } from '../../../src/server/eureka/eureka-params.js';

type Json = Record<string, unknown>;

/** An InstanceInfo as a Spring Cloud / Eureka 1.x client POSTs it. */
function eurekaBody(overrides: Json = {}): Json {
  return {
    instanceId: 'host-a:orders:8080',
    hostName: 'host-a.example',
    app: 'ORDERS',
    ipAddr: '10.0.0.5',
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 8443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 10, durationInSecs: 30 },
    metadata: { '@class': 'java.util.Collections$EmptyMap', zone: 'a', 'management.port': 8081 },
    homePageUrl: 'http://host-a.example:8080/',
    statusPageUrl: 'http://host-a.example:8080/actuator/info',
    healthCheckUrl: 'http://host-a.example:8080/actuator/health',
    secureHealthCheckUrl: 'https://host-a.example:8443/actuator/health',
    vipAddress: 'orders',
    secureVipAddress: 'orders-secure',
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: '1700000000100',
    lastDirtyTimestamp: '1700000000000',
    ...overrides,
  };
}

/** The RegistryError a call throws (failing the test if it throws nothing or something else). */
function refusal(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error('expected a RegistryError');
}

describe('registrationFromEureka', () => {
  it('maps an InstanceInfo to a registration of the default group, app upper-cased', () => {
    const input = registrationFromEureka('orders', { instance: eurekaBody({ app: 'orders' }) }, 'dev');
    expect(input).toMatchObject({ namespace: 'dev', group: 'DEFAULT_GROUP', service: 'ORDERS' });
    expect(input.instance).toMatchObject({
      instanceId: 'host-a:orders:8080',
      ip: '10.0.0.5',
      port: 8080,
      cluster: undefined,
      status: 'UP',
      overriddenStatus: undefined,
      lastDirtyTimestamp: 1_700_000_000_000,
      leaseDurationMs: 30_000,
      renewalIntervalMs: 10_000,
    });
  });

  it('takes the body wrapped as {"instance": …} or bare', () => {
    expect(registrationFromEureka('ORDERS', eurekaBody(), 'public')).toEqual(registrationFromEureka('ORDERS', { instance: eurekaBody() }, 'public'));
    expect(instanceInfo({ instance: { a: 1 } })).toEqual({ a: 1 });
    expect(instanceInfo({ a: 1 })).toEqual({ a: 1 });
  });

  it('reads ports as {"$": n, "@enabled": …}, as numbers or as strings', () => {
    const port = (v: unknown): unknown => registrationFromEureka('ORDERS', eurekaBody({ port: v }), 'public').instance?.port;
    expect(port({ $: 8080, '@enabled': 'true' })).toBe(8080);
    expect(port({ $: '8081', '@enabled': 'true' })).toBe(8081);
    expect(port(8082)).toBe(8082);
    expect(port('8083')).toBe(8083);
    expect(port(undefined)).toBeUndefined();
    expect(port('http')).toBeUndefined();
  });

  it('keeps Eureka-only fields in eureka.* metadata and the client’s metadata as strings, without @class', () => {
    const metadata = registrationFromEureka('ORDERS', eurekaBody(), 'public').instance?.metadata;
    expect(metadata).toEqual({
      zone: 'a',
      'management.port': '8081',
      [EUREKA_META.hostName]: 'host-a.example',
      [EUREKA_META.vipAddress]: 'orders',
      [EUREKA_META.secureVipAddress]: 'orders-secure',
      [EUREKA_META.homePageUrl]: 'http://host-a.example:8080/',
      [EUREKA_META.statusPageUrl]: 'http://host-a.example:8080/actuator/info',
      [EUREKA_META.healthCheckUrl]: 'http://host-a.example:8080/actuator/health',
      [EUREKA_META.secureHealthCheckUrl]: 'https://host-a.example:8443/actuator/health',
      [EUREKA_META.portEnabled]: 'true',
      [EUREKA_META.securePort]: '8443',
      [EUREKA_META.securePortEnabled]: 'false',
      [EUREKA_META.dataCenterInfo]: JSON.stringify({ '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' }),
    });
  });

  it('leaves out the eureka.* keys of fields the body does not have, or has empty', () => {
    const metadata = registrationFromEureka(
      'ORDERS',
      eurekaBody({ port: 8080, securePort: undefined, vipAddress: '', secureVipAddress: undefined, homePageUrl: undefined, statusPageUrl: undefined, healthCheckUrl: undefined, secureHealthCheckUrl: undefined, metadata: undefined }),
      'public',
    ).instance?.metadata;
    expect(Object.keys(metadata ?? {}).sort()).toEqual([EUREKA_META.dataCenterInfo, EUREKA_META.hostName].sort());
  });

  it('turns leaseInfo seconds into milliseconds; zero, negative or missing leave the default', () => {
    const lease = (leaseInfo: unknown) => {
      const i = registrationFromEureka('ORDERS', eurekaBody({ leaseInfo }), 'public').instance;
      return [i?.renewalIntervalMs, i?.leaseDurationMs];
    };
    expect(lease({ renewalIntervalInSecs: 30, durationInSecs: 90 })).toEqual([30_000, 90_000]);
    expect(lease({ renewalIntervalInSecs: '5', durationInSecs: '15' })).toEqual([5_000, 15_000]);
    expect(lease({ renewalIntervalInSecs: 0.5, durationInSecs: 1.5 })).toEqual([500, 1_500]);
    expect(lease({ renewalIntervalInSecs: 0, durationInSecs: -3 })).toEqual([undefined, undefined]);
    expect(lease(undefined)).toEqual([undefined, undefined]);
    expect(lease({ renewalIntervalInSecs: 'soon' })).toEqual([undefined, undefined]);
  });

  it('passes an operator override on, but not UNKNOWN (Eureka’s "none") or garbage', () => {
    const overridden = (v: Json) => registrationFromEureka('ORDERS', eurekaBody(v), 'public').instance?.overriddenStatus;
    expect(overridden({ overriddenStatus: 'OUT_OF_SERVICE' })).toBe('OUT_OF_SERVICE');
    expect(overridden({ overriddenStatus: undefined, overriddenstatus: 'DOWN' })).toBe('DOWN');
    expect(overridden({ overriddenStatus: 'UNKNOWN' })).toBeUndefined();
    expect(overridden({ overriddenStatus: 'sideways' })).toBeUndefined();
  });

  it('reads lastDirtyTimestamp as a string or a number; leaves it out when absent', () => {
    const dirty = (v: unknown) => registrationFromEureka('ORDERS', eurekaBody({ lastDirtyTimestamp: v }), 'public').instance?.lastDirtyTimestamp;
    expect(dirty('1700000000000')).toBe(1_700_000_000_000);
    expect(dirty(1_700_000_000_001)).toBe(1_700_000_000_001);
    expect(dirty(undefined)).toBeUndefined();
    expect(dirty(null)).toBeUndefined();
    expect(dirty('yesterday')).toBeUndefined();
  });

  it.each([
    ['a body that is not an object', 'x', 'instance', 'Missing instance'],
    ['no instanceId and no hostName', { instanceId: undefined, hostName: undefined }, 'instanceId', 'Missing instanceId'],
    ['a blank instanceId and hostName', { instanceId: '  ', hostName: '' }, 'instanceId', 'Missing instanceId'],
    ['no hostName', { hostName: undefined }, 'hostName', 'Missing hostname'],
    ['a blank ipAddr', { ipAddr: ' ' }, 'ipAddr', 'Missing ip address'],
    ['no app', { app: undefined }, 'app', 'Missing appName'],
    ['another app than the path', { app: 'users' }, 'app', 'Mismatched appName, expecting ORDERS but was USERS'],
    ['no dataCenterInfo', { dataCenterInfo: undefined }, 'dataCenterInfo', 'Missing dataCenterInfo'],
    ['a dataCenterInfo that is not an object', { dataCenterInfo: 'MyOwn' }, 'dataCenterInfo', 'Missing dataCenterInfo'],
    ['a dataCenterInfo without a name', { dataCenterInfo: { '@class': 'x' } }, 'dataCenterInfo.name', 'Missing dataCenterInfo Name'],
    ['a dataCenterInfo with a null name', { dataCenterInfo: { '@class': 'x', name: null } }, 'dataCenterInfo.name', 'Missing dataCenterInfo Name'],
  ])('refuses %s with Eureka’s message', (_what, change, field, message) => {
    const body = typeof change === 'string' ? change : eurekaBody(change);
    const e = refusal(() => registrationFromEureka('orders', body, 'public'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(message);
    expect(e.violations).toEqual([{ field, description: message }]);
  });

  it('checks in Eureka’s order: the first missing field is the one reported', () => {
    const e = refusal(() => registrationFromEureka('ORDERS', { instance: { app: 'USERS' } }, 'public'));
    expect(e.message).toBe('Missing instanceId');
    const f = refusal(() => registrationFromEureka('ORDERS', eurekaBody({ ipAddr: '', app: '', dataCenterInfo: undefined }), 'public'));
    expect(f.message).toBe('Missing ip address');
    const g = refusal(() => registrationFromEureka('ORDERS', eurekaBody({ app: 'USERS', dataCenterInfo: undefined }), 'public'));
    expect(g.message).toBe('Mismatched appName, expecting ORDERS but was USERS');
  });

  it('compares app names without case, as Eureka upper-cases both', () => {
    expect(registrationFromEureka('Orders', eurekaBody({ app: 'oRDERS' }), 'public').service).toBe('ORDERS');
  });

  it('eurekaBadRequest is an INVALID_ARGUMENT naming Eureka’s field', () => {
    const e = eurekaBadRequest('hostName', 'Missing hostname');
    expect(e).toBeInstanceOf(RegistryError);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.violations).toEqual([{ field: 'hostName', description: 'Missing hostname' }]);
  });

  it('falls back to the hostName for the instance id, as InstanceInfo.getId() does', () => {
    const body = eurekaBody({ instanceId: undefined });
    expect(registrationFromEureka('ORDERS', body, 'public').instance?.instanceId).toBe('host-a.example');
  });

  it('falls back to the Amazon instance-id before the hostName', () => {
    const body = eurekaBody({ instanceId: '', dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc' } } });
    expect(registrationFromEureka('ORDERS', body, 'public').instance?.instanceId).toBe('i-0abc');
  });

  it('keeps "@enabled" sent as a JSON boolean', () => {
    const metadata = registrationFromEureka('ORDERS', eurekaBody({ port: { $: 8080, '@enabled': false }, securePort: { $: 8443, '@enabled': true } }), 'public').instance?.metadata;
    expect(metadata?.[EUREKA_META.portEnabled]).toBe('false');
    expect(metadata?.[EUREKA_META.securePortEnabled]).toBe('true');
  });
});

describe('replicaFromEureka', () => {
  it('maps a peer’s InstanceInfo to the core address and state, with herald’s defaults for what Eureka lacks', () => {
    const { address, state } = replicaFromEureka({ instance: eurekaBody({ app: 'orders', status: 'STARTING', overriddenStatus: 'OUT_OF_SERVICE' }) }, 'dev');
    expect(address).toEqual({ namespace: 'dev', group: 'DEFAULT_GROUP', service: 'ORDERS', instanceId: 'host-a:orders:8080' });
    expect(state).toMatchObject({
      ip: '10.0.0.5',
      port: 8080,
      weight: 1,
      healthy: true,
      reportedHealthy: true,
      unhealthyAfterMs: 0,
      enabled: true,
      ephemeral: true,
      cluster: 'DEFAULT',
      status: 'STARTING',
      registeredStatus: 'STARTING',
      overriddenStatus: 'OUT_OF_SERVICE',
      lastDirtyTimestamp: 1_700_000_000_000,
      lastUpdatedTimestamp: 1_700_000_000_100,
      leaseDurationMs: 30_000,
      renewalIntervalMs: 10_000,
      version: 0,
    });
    expect(state.metadata).toMatchObject({ zone: 'a', [EUREKA_META.hostName]: 'host-a.example' });
  });

  it('reads an unknown or missing status as UP, and missing timestamps and lease as 0', () => {
    const { state } = replicaFromEureka(eurekaBody({ status: 'sideways', lastDirtyTimestamp: undefined, lastUpdatedTimestamp: undefined, leaseInfo: undefined }), 'public');
    expect(state).toMatchObject({ status: 'UP', registeredStatus: 'UP', overriddenStatus: undefined, lastDirtyTimestamp: 0, lastUpdatedTimestamp: 0, leaseDurationMs: 0, renewalIntervalMs: 0 });
    expect(replicaFromEureka(eurekaBody({ status: undefined }), 'public').state.status).toBe('UP');
  });

  it('validates like a registration, against the InstanceInfo’s own app', () => {
    expect(refusal(() => replicaFromEureka(eurekaBody({ hostName: '' }), 'public')).message).toBe('Missing hostname');
    expect(refusal(() => replicaFromEureka(eurekaBody({ app: '' }), 'public')).message).toBe('Missing appName');
    expect(refusal(() => replicaFromEureka(null, 'public')).message).toBe('Missing instance');
  });
});
