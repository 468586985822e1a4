/**
 * The xDS codec: herald's names and instances in, xDS resources out, packed as google.protobuf.Any
 * with the ts-proto code generated from Envoy's protos (scripts/gen-xds.mjs). Wire types stop here.
 *
 * Names: an xDS resource name (what `xds:///<name>` asks for, as listener, route, cluster and
 * endpoints alike) is `service`, `group@@service` (Nacos's grouped name) or
 * `namespace@@group@@service` (src/core/service-name.ts, shared with the SDK's herald:/// resolver);
 * the parts left out are the default group and namespace. herald's
 * names never contain '@', so the form is unambiguous, and it is a valid HTTP/2 :authority (the
 * gRPC client sends the target's path as one; '/' would be refused by the servers it calls).
 *
 * Weights: gRPC clients pick a locality by its weight, then round-robin inside it, ignoring endpoint
 * weights. So instances are grouped into one locality per herald cluster (zone) and weight
 * (sub_zone `weight=<w>`), weighted by weight × members: each instance then gets its weight's share.
 */
import { isUsable, type InstanceRecord, type ServiceView } from '../../core/model.js';
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from '../../gen/xds/envoy/config/cluster/v3/cluster.js';
import { ApiVersion } from '../../gen/xds/envoy/config/core/v3/config_source.js';
import { HealthStatus } from '../../gen/xds/envoy/config/core/v3/health_check.js';
import { ClusterLoadAssignment } from '../../gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../../gen/xds/envoy/config/listener/v3/listener.js';
import { Router } from '../../gen/xds/envoy/extensions/filters/http/router/v3/router.js';
import { HttpConnectionManager } from '../../gen/xds/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { DiscoveryResponse } from '../../gen/xds/envoy/service/discovery/v3/discovery.js';
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

/**
 * herald's weights are numbers from 0 to 10,000, meaningful to a thousandth (the checksum rounds
 * weight × 1000); xDS weights are positive 32-bit integers. An instance of weight 0 takes no calls.
 */
function weightUnits(weight: number): number {
  return Math.round(weight * 1000);
}

/** Locality weights are scaled down, if need be, so that their sum fits a signed 32-bit integer (C-core sums them). */
const MAX_TOTAL_WEIGHT = 2 ** 31 - 1;

/**
 * The endpoints of cluster `name` from the hosts of a healthy-only view: the usable instances, or all
 * of them once the protect threshold is reached (those not usable are then sent UNKNOWN, which gRPC
 * and Envoy still pick, rather than HEALTHY). Instances of weight 0 are left out.
 * One locality per herald cluster (zone) and weight (sub_zone `weight=<w>`), weighted by weight ×
 * members, so that clients that round-robin inside a locality still give each instance its share.
 */
export function endpointsResource(name: string, hosts: readonly InstanceRecord[]): Any {
  const groups = new Map<string, { cluster: string; units: number; members: InstanceRecord[] }>();
  for (const h of hosts) {
    const units = weightUnits(h.weight);
    if (units <= 0) continue;
    const key = `${h.cluster}\n${units}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { cluster: h.cluster, units, members: [] }));
    g.members.push(h);
  }
  const total = [...groups.values()].reduce((sum, g) => sum + g.units * g.members.length, 0);
  const scale = total > MAX_TOTAL_WEIGHT ? MAX_TOTAL_WEIGHT / total : 1;
  const cla = ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [...groups.values()].map((g) => ({
      locality: { zone: g.cluster, subZone: `weight=${g.units / 1000}` },
      priority: 0,
      loadBalancingWeight: Math.max(1, Math.floor(g.units * g.members.length * scale)),
      lbEndpoints: g.members.map((h) => ({
        endpoint: { address: { socketAddress: { address: h.ip, portValue: h.port } } },
        healthStatus: isUsable(h) ? HealthStatus.HEALTHY : HealthStatus.UNKNOWN,
        loadBalancingWeight: g.units,
      })),
    })),
  });
  return pack(TYPE_URL.endpoints, ClusterLoadAssignment.encode(cla).finish());
}

/**
 * A DiscoveryResponse's shared part: its `resources` and `type_url`, encoded once. A stream's frame
 * prepends its own `version_info` and `nonce` (responseFrame): protobuf fields may come in any order,
 * and a parser merges concatenated encodings, so the frame decodes as the whole response.
 */
export function responseBody(typeUrl: string, resources: readonly Any[]): Buffer {
  const bytes = DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ typeUrl, resources: [...resources] })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One stream's response: its version and nonce, then a shared body (responseBody). */
export function responseFrame(versionInfo: string, nonce: string, body: Buffer): Buffer {
  const head = DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ versionInfo, nonce })).finish();
  return Buffer.concat([head, body]);
}

/**
 * The EDS response body of a view, encoded once per view and name however many streams follow it:
 * the registry hands every subscriber of a revision the same view object (memoised per revision and
 * filter), so a push to N xDS streams encodes the assignment once, as Subscribe's frames are, and
 * each stream only adds its version and nonce.
 */
const encoded = new WeakMap<ServiceView, Map<string, Buffer>>();

export function endpointsBodyOfView(name: string, view: ServiceView): Buffer {
  let byName = encoded.get(view);
  if (byName === undefined) encoded.set(view, (byName = new Map<string, Buffer>()));
  let body = byName.get(name);
  if (body === undefined) byName.set(name, (body = responseBody(TYPE_URL.endpoints, [endpointsResource(name, view.hosts)])));
  return body;
}
