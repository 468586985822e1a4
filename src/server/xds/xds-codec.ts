/**
 * The xDS codec: herald's names and instances in, xDS resources out, packed as google.protobuf.Any
 * with the ts-proto code generated from Envoy's protos (scripts/gen-xds.mjs). Wire types stop here.
 *
 * Names (draft): an xDS resource name `orders` (what `xds:///orders` asks for, as listener, route,
 * cluster and endpoints alike) is service `orders` of the default group in the default namespace.
 */
import { DEFAULT_GROUP, DEFAULT_NAMESPACE, type InstanceRecord, type ServiceRef } from '../../core/model.js';
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from '../../gen/xds/envoy/config/cluster/v3/cluster.js';
import { ApiVersion } from '../../gen/xds/envoy/config/core/v3/config_source.js';
import { HealthStatus } from '../../gen/xds/envoy/config/core/v3/health_check.js';
import { ClusterLoadAssignment } from '../../gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../../gen/xds/envoy/config/listener/v3/listener.js';
import { Router } from '../../gen/xds/envoy/extensions/filters/http/router/v3/router.js';
import { HttpConnectionManager } from '../../gen/xds/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { Any } from '../../gen/xds/google/protobuf/any.js';

/** The type URLs served (type.googleapis.com/ + the message's full name). */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
} as const;

function pack(typeUrl: string, bytes: Uint8Array): Any {
  return { typeUrl, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** The herald service an xDS resource name stands for. */
export function serviceOfXdsName(name: string): ServiceRef {
  return { namespace: DEFAULT_NAMESPACE, group: DEFAULT_GROUP, service: name };
}

/** The API listener for `name`: an HttpConnectionManager with an inline route sending everything to cluster `name`. */
export function listenerResource(name: string): Any {
  const hcm = HttpConnectionManager.fromPartial({
    statPrefix: name,
    routeConfig: {
      name,
      virtualHosts: [{ name, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: name } }] }],
    },
    // gRPC clients require the chain to end with the router filter.
    httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: pack(TYPE_URL.router, Router.encode(Router.fromPartial({})).finish()) }],
  });
  const listener = Listener.fromPartial({
    name,
    apiListener: { apiListener: pack(TYPE_URL.httpConnectionManager, HttpConnectionManager.encode(hcm).finish()) },
  });
  return pack(TYPE_URL.listener, Listener.encode(listener).finish());
}

/** Cluster `name`, of type EDS, its endpoints fetched over the same ADS stream. */
export function clusterResource(name: string): Any {
  const cluster = Cluster.fromPartial({
    name,
    type: Cluster_DiscoveryType.EDS,
    edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: ApiVersion.V3 } },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  });
  return pack(TYPE_URL.cluster, Cluster.encode(cluster).finish());
}

/** xDS weights are positive integers; herald's are non-negative numbers. */
function xdsWeight(weight: number): number {
  return Math.max(1, Math.round(weight));
}

/**
 * The endpoints of cluster `name` from the hosts of a healthy-only view (the usable instances, or
 * all of them once the protect threshold is reached, so every one is sent HEALTHY).
 * One locality per herald cluster (its sub_zone), weighted by the sum of its instances' weights.
 */
export function endpointsResource(name: string, hosts: readonly InstanceRecord[]): Any {
  const byCluster = new Map<string, InstanceRecord[]>();
  for (const h of hosts) {
    let list = byCluster.get(h.cluster);
    if (list === undefined) byCluster.set(h.cluster, (list = []));
    list.push(h);
  }
  const cla = ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [...byCluster].map(([cluster, members]) => ({
      locality: { subZone: cluster },
      priority: 0,
      loadBalancingWeight: members.reduce((sum, h) => sum + xdsWeight(h.weight), 0),
      lbEndpoints: members.map((h) => ({
        endpoint: { address: { socketAddress: { address: h.ip, portValue: h.port } } },
        healthStatus: HealthStatus.HEALTHY,
        loadBalancingWeight: xdsWeight(h.weight),
      })),
    })),
  });
  return pack(TYPE_URL.endpoints, ClusterLoadAssignment.encode(cla).finish());
}
