/**
 * Envoy's xDS protos, taken from the installed @grpc/grpc-js-xds package (its deps/ holds envoy-api,
 * xds, googleapis and protoc-gen-validate) and loaded with @grpc/proto-loader: nothing here is typed
 * by hand. The resource messages are loaded into the same root as the ADS service, so a resource
 * written as `{ '@type': TYPE_URL, ...fields }` in a google.protobuf.Any field is packed by the
 * serializer (protobufjs's Any wrapper), nested Anys included.
 *
 * Groundwork (issue #17): loaded at run time; see docs/xds.md for the move to build-time generation.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The files loaded (relative to the include directories below); their imports come along. */
export const XDS_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
];

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
} as const;

/** The include directories under the package's deps/, in the order protoc would take them. */
export function xdsProtoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, 'deps', d));
}

let cached: ServiceDefinition | undefined;

/** envoy.service.discovery.v3.AggregatedDiscoveryService, loaded once per process. */
export function adsServiceDefinition(): ServiceDefinition {
  if (cached !== undefined) return cached;
  const def = loadSync([...XDS_PROTO_FILES], {
    // Field names as in the protos (snake_case), enums as names, no defaults filled in on decode.
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: xdsProtoIncludeDirs(),
  });
  const pkg = loadPackageDefinition(def);
  const service = lookup(pkg, 'envoy.service.discovery.v3.AggregatedDiscoveryService');
  cached = service;
  return service;
}

function lookup(pkg: GrpcObject, name: string): ServiceDefinition {
  let node: unknown = pkg;
  for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  const service = (node as { service?: ServiceDefinition } | undefined)?.service;
  if (service === undefined) throw new Error(`xds protos: ${name} not found`);
  return service;
}
