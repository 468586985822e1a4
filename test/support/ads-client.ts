/** A raw ADS stream with the generated client, for protocol tests: what it receives is recorded. */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { ClusterLoadAssignment } from '../../src/gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { onCleanup, record } from './server.js';

/** Opens an ADS stream to herald's gRPC port (on the connection of `sameConnectionAs` when given); closed after the test. */
export function adsStream(port: number, sameConnectionAs?: { client: AggregatedDiscoveryServiceClient }) {
  const client = sameConnectionAs?.client ?? new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = client.streamAggregatedResources();
  onCleanup(() => {
    call.cancel();
    client.close();
  });
  const responses = new Subject<DiscoveryResponse>();
  call.on('data', (r: DiscoveryResponse) => {
    responses.next(r);
  });
  call.on('error', (e: ServiceError) => {
    responses.error(e);
  });
  return {
    client,
    responses: record(responses),
    send: (req: Partial<DiscoveryRequest>) => {
      call.write(DiscoveryRequest.fromPartial(req));
    },
  };
}

/** The endpoints' ports in an EDS response. */
export function edsPorts(r: DiscoveryResponse): number[] {
  return r.resources.flatMap((a) => ClusterLoadAssignment.decode(a.value).endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.endpoint?.address?.socketAddress?.portValue ?? 0)));
}
