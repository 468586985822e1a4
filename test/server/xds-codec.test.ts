/**
 * The xDS codec's rules, on views the registry builds (manual clock): names for every group and
 * namespace, one locality per herald cluster and weight so that clients which round-robin inside a
 * locality still honour weights, weight 0 left out, locality weights kept within 32 bits, and the
 * protect threshold (all instances sent, those not usable as UNKNOWN).
 */
import { describe, expect, it } from 'vitest';
import { HealthStatus } from '../../src/gen/xds/envoy/config/core/v3/health_check.js';
import { ClusterLoadAssignment } from '../../src/gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { Cluster, Cluster_DiscoveryType } from '../../src/gen/xds/envoy/config/cluster/v3/cluster.js';
import { Listener } from '../../src/gen/xds/envoy/config/listener/v3/listener.js';
import { HttpConnectionManager } from '../../src/gen/xds/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { serviceOfXdsName } from '../../src/core/service-name.js';
import { clusterResource, endpointsBodyOfView, endpointsResource, listenerResource, responseFrame, TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { makeRegistry } from '../core/helpers.js';

function assignment(name: string, hosts: Parameters<typeof endpointsResource>[1]) {
  const any = endpointsResource(name, hosts);
  expect(any.typeUrl).toBe(TYPE_URL.endpoints);
  return ClusterLoadAssignment.decode(any.value);
}

/** Each locality as zone/sub_zone → [locality weight, endpoint ports with their health]. */
function localities(cla: ClusterLoadAssignment): Record<string, [number, string[]]> {
  return Object.fromEntries(
    cla.endpoints.map((l) => [
      `${l.locality?.zone ?? ''}/${l.locality?.subZone ?? ''}`,
      [l.loadBalancingWeight ?? 0, l.lbEndpoints.map((e) => `${e.endpoint?.address?.socketAddress?.portValue ?? 0}:${HealthStatus[e.healthStatus]}`).sort()],
    ]),
  );
}

describe('xDS names', () => {
  it('maps service, group@@service and namespace@@group@@service, and nothing else', () => {
    expect(serviceOfXdsName('orders')).toEqual({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' });
    expect(serviceOfXdsName('payments@@ledger')).toEqual({ namespace: 'public', group: 'payments', service: 'ledger' });
    expect(serviceOfXdsName('team-a@@payments@@ledger')).toEqual({ namespace: 'team-a', group: 'payments', service: 'ledger' });
    expect(serviceOfXdsName('providers:com.acme.Api:1.0:')).toEqual({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'providers:com.acme.Api:1.0:' });
    for (const bad of ['', 'a/b', 'x@@y@@z@@w', '@@orders', 'orders@@', 'a@@@b', 'sp ace']) expect(serviceOfXdsName(bad), bad).toBeUndefined();
  });

  it('names the listener, its inline route and the EDS cluster after the name asked for', () => {
    const listener = Listener.decode(listenerResource('team-a@@payments@@ledger').value);
    expect(listener.name).toBe('team-a@@payments@@ledger');
    const hcm = HttpConnectionManager.decode(listener.apiListener?.apiListener?.value ?? Buffer.alloc(0));
    expect(hcm.routeConfig?.virtualHosts[0]?.routes[0]?.route?.cluster).toBe('team-a@@payments@@ledger');
    expect(hcm.httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.router']);
    const cluster = Cluster.decode(clusterResource('orders').value);
    expect(cluster).toMatchObject({ name: 'orders', type: Cluster_DiscoveryType.EDS, edsClusterConfig: { edsConfig: { ads: {} } } });
  });
});

describe('xDS endpoints', () => {
  it('groups instances by herald cluster and weight, weighting each locality by weight × members, and leaves weight 0 out', () => {
    const { registry } = makeRegistry();
    const reg = (id: string, port: number, weight: number, cluster = 'DEFAULT') =>
      registry.register({ service: 'orders', instance: { instanceId: id, ip: '10.0.0.1', port, weight, cluster } });
    reg('a', 1, 1);
    reg('b', 2, 2);
    reg('c', 3, 2);
    reg('d', 4, 0.5, 'EAST');
    reg('z', 9, 0);
    const view = registry.query({ service: 'orders' }, { healthyOnly: true });
    expect(localities(assignment('orders', view.hosts))).toEqual({
      'DEFAULT/weight=1': [1000, ['1:HEALTHY']],
      'DEFAULT/weight=2': [4000, ['2:HEALTHY', '3:HEALTHY']],
      'EAST/weight=0.5': [500, ['4:HEALTHY']],
    });
  });

  it('scales locality weights down to fit 32 bits, keeping their proportions', () => {
    const { registry } = makeRegistry();
    for (let i = 0; i < 300; i++) registry.register({ service: 'big', instance: { instanceId: `h${i}`, ip: '10.0.0.1', port: 1000 + i, weight: 10_000, cluster: `c${i % 3}` } });
    registry.register({ service: 'big', instance: { instanceId: 'small', ip: '10.0.0.2', port: 1, weight: 1, cluster: 'c0' } });
    const cla = assignment('big', registry.query({ service: 'big' }, { healthyOnly: true }).hosts);
    const weights = cla.endpoints.map((l) => l.loadBalancingWeight ?? 0);
    const total = weights.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(2 ** 31 - 1);
    // 100 × 10,000 against 1 per locality: the big ones stay equal, the small one keeps a positive weight.
    const big = cla.endpoints.filter((l) => l.locality?.subZone === 'weight=10000').map((l) => l.loadBalancingWeight);
    expect(new Set(big).size).toBe(1);
    expect(cla.endpoints.find((l) => l.locality?.subZone === 'weight=1')?.loadBalancingWeight).toBeGreaterThanOrEqual(1);
  });

  it('sends the usable instances only, and all of them once the protect threshold is reached, the unusable ones as UNKNOWN', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: { instanceId: 'up', ip: '10.0.0.1', port: 1 } });
    registry.register({ service: 'orders', instance: { instanceId: 'sick', ip: '10.0.0.1', port: 2, healthy: false } });
    registry.register({ service: 'orders', instance: { instanceId: 'off', ip: '10.0.0.1', port: 3, status: 'OUT_OF_SERVICE' } });
    const ports = () => localities(assignment('orders', registry.query({ service: 'orders' }, { healthyOnly: true }).hosts));
    expect(ports()).toEqual({ 'DEFAULT/weight=1': [1000, ['1:HEALTHY']] });
    registry.updateService({ service: 'orders', protectThreshold: 0.5 });
    expect(ports()).toEqual({ 'DEFAULT/weight=1': [3000, ['1:HEALTHY', '2:UNKNOWN', '3:UNKNOWN']] });
  });

  it('encodes the response body of a view once per name, however many streams it is pushed to; a frame decodes as the whole response', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '10.0.0.1', port: 1 } });
    const view = registry.query({ service: 'orders' }, { healthyOnly: true });
    // The registry memoises views per revision and filter: every subscriber gets this same object.
    expect(registry.query({ service: 'orders' }, { healthyOnly: true })).toBe(view);
    expect(endpointsBodyOfView('orders', view)).toBe(endpointsBodyOfView('orders', view));
    const response = DiscoveryResponse.decode(responseFrame('7', '42', endpointsBodyOfView('public@@DEFAULT_GROUP@@orders', view)));
    expect(response).toMatchObject({ versionInfo: '7', nonce: '42', typeUrl: TYPE_URL.endpoints });
    expect(response.resources.map((r) => ClusterLoadAssignment.decode(r.value).clusterName)).toEqual(['public@@DEFAULT_GROUP@@orders']);
  });
});
