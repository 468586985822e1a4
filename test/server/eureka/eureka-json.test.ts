import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../../src/core/model.js';
import { EUREKA_META, applications, appsHashCode, eurekaInstance, eurekaStatus } from '../../../src/server/eureka/eureka-json.js';
import { registrationFromEureka } from '../../../src/server/eureka/eureka-params.js';
import { inst, makeRegistry } from '../../core/helpers.js';

/** A stored record of service `service` (a herald-native registration unless `metadata` says otherwise). */
function record(overrides: Parameters<typeof inst>[0] = {}, service = 'orders'): InstanceRecord {
  const { registry } = makeRegistry();
  return registry.register({ service, instance: inst({ instanceId: 'i-1', ip: '10.0.0.5', port: 8080, leaseDurationMs: 90_000, renewalIntervalMs: 30_000, ...overrides }) }).record;
}

describe('eurekaInstance', () => {
  it('writes a herald-native record as Eureka writes an InstanceInfo, with Eureka’s defaults', () => {
    const r = record({ metadata: { zone: 'a' } });
    expect(eurekaInstance('orders', r, 1_000_123)).toEqual({
      instanceId: 'i-1',
      hostName: '10.0.0.5',
      app: 'ORDERS',
      ipAddr: '10.0.0.5',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: {
        renewalIntervalInSecs: 30,
        durationInSecs: 90,
        registrationTimestamp: r.registrationTimestamp,
        lastRenewalTimestamp: 1_000_123,
        evictionTimestamp: 0,
        serviceUpTimestamp: r.serviceUpTimestamp,
      },
      metadata: { zone: 'a' },
      homePageUrl: '',
      statusPageUrl: '',
      healthCheckUrl: '',
      vipAddress: 'orders',
      secureVipAddress: 'orders',
      isCoordinatingDiscoveryServer: 'false',
      lastUpdatedTimestamp: String(r.lastUpdatedTimestamp),
      lastDirtyTimestamp: String(r.lastDirtyTimestamp),
    });
    expect(r.registrationTimestamp).toBeGreaterThan(0);
  });

  it('writes timestamps as strings, lease times in whole seconds (at least 1), and lastRenewalTimestamp 0 when unknown', () => {
    const r = record({ leaseDurationMs: 1_400, renewalIntervalMs: 400 });
    const i = eurekaInstance('orders', r);
    expect(i.leaseInfo).toMatchObject({ durationInSecs: 1, renewalIntervalInSecs: 1, lastRenewalTimestamp: 0 });
    expect(eurekaInstance('orders', record({ leaseDurationMs: 2_600, renewalIntervalMs: 800 })).leaseInfo).toMatchObject({ durationInSecs: 3, renewalIntervalInSecs: 1 });
    // Read as Eureka would: whole seconds, rounded, never 0.
    const sub = { ...record(), leaseDurationMs: 300, renewalIntervalMs: 1_600 };
    expect(eurekaInstance('orders', sub).leaseInfo).toMatchObject({ durationInSecs: 1, renewalIntervalInSecs: 2 });
    expect(typeof i.lastDirtyTimestamp).toBe('string');
    expect(typeof i.lastUpdatedTimestamp).toBe('string');
  });

  it('upper-cases the app and derives the VIP addresses from its lower-case name', () => {
    const i = eurekaInstance('Orders', record({}, 'Orders'));
    expect(i).toMatchObject({ app: 'ORDERS', vipAddress: 'orders', secureVipAddress: 'orders' });
  });

  it('adds actionType only when given (deltas)', () => {
    const r = record();
    expect('actionType' in eurekaInstance('orders', r)).toBe(false);
    expect(eurekaInstance('orders', r, 0, 'DELETED').actionType).toBe('DELETED');
  });

  it('reports the override, and shows an UP instance that is unhealthy or disabled as DOWN', () => {
    expect(eurekaInstance('orders', record({ overriddenStatus: 'OUT_OF_SERVICE' })).overriddenStatus).toBe('OUT_OF_SERVICE');
    expect(eurekaInstance('orders', record({ healthy: false })).status).toBe('DOWN');
    expect(eurekaInstance('orders', record({ enabled: false })).status).toBe('DOWN');
    expect(eurekaInstance('orders', record({ status: 'STARTING', healthy: false })).status).toBe('STARTING');
    expect(eurekaStatus(record())).toBe('UP');
    expect(eurekaStatus(record({ status: 'OUT_OF_SERVICE', enabled: false }))).toBe('OUT_OF_SERVICE');
  });

  it('hides eureka.* metadata from the client’s metadata and restores the fields it keeps', () => {
    const r = record({
      metadata: {
        zone: 'a',
        [EUREKA_META.hostName]: 'host-a.example',
        [EUREKA_META.vipAddress]: 'orders-vip',
        [EUREKA_META.portEnabled]: 'false',
        [EUREKA_META.securePort]: '8443',
        [EUREKA_META.securePortEnabled]: 'true',
        [EUREKA_META.homePageUrl]: 'http://h/',
        [EUREKA_META.statusPageUrl]: 'http://h/info',
        [EUREKA_META.healthCheckUrl]: 'http://h/health',
        [EUREKA_META.dataCenterInfo]: JSON.stringify({ '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc' } }),
      },
    });
    expect(eurekaInstance('orders', r)).toMatchObject({
      hostName: 'host-a.example',
      vipAddress: 'orders-vip',
      secureVipAddress: 'orders-vip',
      port: { $: 8080, '@enabled': 'false' },
      securePort: { $: 8443, '@enabled': 'true' },
      homePageUrl: 'http://h/',
      statusPageUrl: 'http://h/info',
      healthCheckUrl: 'http://h/health',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc' } },
    });
    expect(eurekaInstance('orders', r).metadata).toEqual({ zone: 'a' });
  });

  it('falls back to the default data centre when the kept one is not JSON', () => {
    const r = record({ metadata: { [EUREKA_META.dataCenterInfo]: '{oops' } });
    expect(eurekaInstance('orders', r).dataCenterInfo).toEqual({ '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' });
  });

  it('reads a Eureka registration back as it was sent', () => {
    const body = {
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
      metadata: { zone: 'a', 'management.port': '8081' },
      homePageUrl: 'http://host-a.example:8080/',
      statusPageUrl: 'http://host-a.example:8080/actuator/info',
      healthCheckUrl: 'http://host-a.example:8080/actuator/health',
      vipAddress: 'orders',
      secureVipAddress: 'orders-secure',
      isCoordinatingDiscoveryServer: 'false',
      lastDirtyTimestamp: '1700000000000',
    };
    const { registry } = makeRegistry({}, 1_700_000_100_000);
    const r = registry.register(registrationFromEureka('orders', { instance: body }, 'public')).record;
    const { leaseInfo, ...written } = eurekaInstance('ORDERS', r);
    const { leaseInfo: sentLease, ...sent } = body;
    expect(written).toMatchObject(sent);
    expect(leaseInfo).toMatchObject(sentLease);
  });

  it('writes back the secureHealthCheckUrl it kept', () => {
    const r = record({ metadata: { [EUREKA_META.secureHealthCheckUrl]: 'https://h:8443/health' } });
    expect(eurekaInstance('orders', r)).toMatchObject({ secureHealthCheckUrl: 'https://h:8443/health' });
  });
});

describe('appsHashCode', () => {
  it('counts instances per status, statuses in alphabetical order: DOWN_1_UP_3_', () => {
    const s = (...statuses: ('UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN')[]) => statuses.map((status) => ({ status }));
    expect(appsHashCode(s('UP', 'DOWN', 'UP', 'UP'))).toBe('DOWN_1_UP_3_');
    expect(appsHashCode(s('UP', 'UNKNOWN', 'STARTING', 'OUT_OF_SERVICE', 'DOWN', 'UP'))).toBe('DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UNKNOWN_1_UP_2_');
    expect(appsHashCode(s('UP'))).toBe('UP_1_');
    expect(appsHashCode([])).toBe('');
  });

  it('hashes what Eureka clients see: an unhealthy UP instance counts as DOWN', () => {
    const instances = [record({ instanceId: 'a' }), record({ instanceId: 'b', healthy: false })].map((r) => eurekaInstance('orders', r));
    expect(appsHashCode(instances)).toBe('DOWN_1_UP_1_');
  });
});

describe('applications', () => {
  it('wraps apps with versions__delta as a string and apps__hashcode', () => {
    const i = eurekaInstance('orders', record());
    expect(applications([{ name: 'ORDERS', instance: [i] }], 'UP_1_', 7)).toEqual({
      applications: { versions__delta: '7', apps__hashcode: 'UP_1_', application: [{ name: 'ORDERS', instance: [i] }] },
    });
    expect(applications([], '', 0)).toEqual({ applications: { versions__delta: '0', apps__hashcode: '', application: [] } });
  });
});
