/**
 * The xDS codec: herald's names and views in, xDS resources out (as proto-loader objects whose
 * google.protobuf.Any fields carry `'@type'`; see xds-protos.ts). Wire types stop here.
 *
 * Names (draft): an xDS resource name `orders` (what `xds:///orders` asks for, as listener, route,
 * cluster and endpoints alike) is service `orders` of the default group in the default namespace.
 */
import { DEFAULT_GROUP, DEFAULT_NAMESPACE, type InstanceRecord, type ServiceRef } from '../../core/model.js';
import { TYPE_URL } from './xds-protos.js';

/** A resource as handed to the serializer: a message object tagged with its type URL. */
export type XdsResource = Readonly<Record<string, unknown>> & { readonly '@type': string; readonly name?: string; readonly cluster_name?: string };

/** The herald service an xDS resource name stands for. */
export function serviceOfXdsName(name: string): ServiceRef {
  return { namespace: DEFAULT_NAMESPACE, group: DEFAULT_GROUP, service: name };
}

/** The API listener for `name`: an HttpConnectionManager with an inline route sending everything to cluster `name`. */
export function listenerResource(name: string): XdsResource {
  return {
    '@type': TYPE_URL.listener,
    name,
    api_listener: {
      api_listener: {
        '@type': TYPE_URL.httpConnectionManager,
        stat_prefix: name,
        route_config: {
          name,
          virtual_hosts: [{ name, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: name } }] }],
        },
        // gRPC clients require the chain to end with the router filter.
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } }],
      },
    },
  };
}

/** Cluster `name`, of type EDS, its endpoints fetched over the same ADS stream. */
export function clusterResource(name: string): XdsResource {
  return {
    '@type': TYPE_URL.cluster,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    lb_policy: 'ROUND_ROBIN',
  };
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
export function endpointsResource(name: string, hosts: readonly InstanceRecord[]): XdsResource {
  const byCluster = new Map<string, InstanceRecord[]>();
  for (const h of hosts) {
    let list = byCluster.get(h.cluster);
    if (list === undefined) byCluster.set(h.cluster, (list = []));
    list.push(h);
  }
  const endpoints = [...byCluster].map(([cluster, hosts]) => ({
    locality: { sub_zone: cluster },
    priority: 0,
    load_balancing_weight: { value: hosts.reduce((sum, h) => sum + xdsWeight(h.weight), 0) },
    lb_endpoints: hosts.map((h) => ({
      endpoint: { address: { socket_address: { address: h.ip, port_value: h.port } } },
      health_status: 'HEALTHY',
      load_balancing_weight: { value: xdsWeight(h.weight) },
    })),
  }));
  return { '@type': TYPE_URL.endpoints, cluster_name: name, endpoints };
}
