/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService, state of the world (issue #17; docs/xds.md):
 * the grpc-js definition (responses may be encoded frames, sent as is), the stream limits, and the
 * open streams (ads-stream.ts), ended together at shutdown and counted for metrics.
 *
 * Not served: incremental xDS (UNIMPLEMENTED), RDS (routes are inline).
 */
import { status as GrpcStatus, type ServiceDefinition } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceService, type AggregatedDiscoveryServiceServer } from '../../gen/xds/envoy/service/discovery/v3/ads.js';
import type { DiscoveryResponse } from '../../gen/xds/envoy/service/discovery/v3/discovery.js';
import { grpcError } from '../grpc-errors.js';
import { AdsStream, XdsCounters, type AdsStreamDeps } from './ads-stream.js';
import type { XdsStats } from './xds-stats.js';

export interface AdsDeps extends AdsStreamDeps {
  /** Most ADS streams open on the node, and on one client connection (the Subscribe limits, counted apart); more are RESOURCE_EXHAUSTED. */
  readonly maxStreams: number;
  readonly maxStreamsPerConnection: number;
}

/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService as generated from Envoy's protos, except that
 * a response may also be an encoded frame (responseFrame), sent as is: one encoding of an assignment
 * per view, shared by every stream, as Subscribe's frames are (service-definition.ts).
 */
export function adsDefinition(): ServiceDefinition {
  const generated = AggregatedDiscoveryServiceService.streamAggregatedResources;
  return {
    ...AggregatedDiscoveryServiceService,
    streamAggregatedResources: {
      ...generated,
      responseSerialize: (value: Buffer | DiscoveryResponse): Buffer => (Buffer.isBuffer(value) ? value : generated.responseSerialize(value)),
    },
  };
}

export interface AdsServer {
  /** SotW streams; the incremental (delta) protocol is UNIMPLEMENTED. */
  readonly handlers: AggregatedDiscoveryServiceServer;
  /** Ends every open stream with UNAVAILABLE, so a graceful shutdown need not wait for them. Idempotent. */
  endAll(): void;
  stats(): XdsStats;
}

const SHUTTING_DOWN = grpcError(GrpcStatus.UNAVAILABLE, 'server is shutting down');

/** The ADS service over `deps`, and the owner of its open streams. */
export function createAdsServer(deps: AdsDeps): AdsServer {
  const open = new Set<AdsStream>();
  const perConnection = new Map<string, number>();
  const counters = new XdsCounters();
  const handlers: AggregatedDiscoveryServiceServer = {
    streamAggregatedResources: (call) => {
      const connection = call.getPeer();
      const onConnection = perConnection.get(connection) ?? 0;
      const full =
        open.size >= deps.maxStreams
          ? `the server already has ${open.size} xDS streams open, its limit; try another server or later`
          : onConnection >= deps.maxStreamsPerConnection
            ? `this connection already has ${onConnection} xDS streams open, the limit per connection`
            : undefined;
      if (full !== undefined) {
        counters.refused++;
        call.emit('error', grpcError(GrpcStatus.RESOURCE_EXHAUSTED, full));
        return;
      }
      perConnection.set(connection, onConnection + 1);
      const stream: AdsStream = new AdsStream(call, deps, counters, () => {
        open.delete(stream);
        const left = (perConnection.get(connection) ?? 1) - 1;
        if (left === 0) perConnection.delete(connection);
        else perConnection.set(connection, left);
      });
      open.add(stream);
    },
    deltaAggregatedResources: (call) => {
      call.emit('error', grpcError(GrpcStatus.UNIMPLEMENTED, 'incremental xDS is not served; use the state-of-the-world stream'));
    },
  };
  return {
    handlers,
    endAll: () => {
      for (const stream of [...open]) stream.end(SHUTTING_DOWN);
    },
    stats: () => ({ streams: open.size, responses: counters.responses, nacks: counters.nacks, skipped: counters.skipped, refused: counters.refused }),
  };
}
