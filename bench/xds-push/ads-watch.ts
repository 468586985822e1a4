/**
 * A bare ADS stream (the generated grpc-js client, no xDS library) following the EDS resource of
 * one cluster, ACKing each response, and recording when each endpoint port first appears in and
 * first leaves a received ClusterLoadAssignment: herald's xDS push as it leaves the server, apart
 * from what a proxyless client then does with it (its EDS handling, subchannel connect, first pick).
 */
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { ClusterLoadAssignment } from '../../src/gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { wallNowMs } from '../lib/wall-clock.js';
import { EventTimes } from './events.js';

export class AdsWatch {
  readonly appeared = new EventTimes();
  readonly left = new EventTimes();
  received = 0;
  errors = 0;
  private held = new Set<string>();
  private readonly client: AggregatedDiscoveryServiceClient;
  private readonly call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

  constructor(address: string, cluster: string) {
    this.client = new AggregatedDiscoveryServiceClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    this.call = this.client.streamAggregatedResources();
    const ask = (versionInfo: string, responseNonce: string): void => {
      this.call.write(
        DiscoveryRequest.fromPartial({ versionInfo, resourceNames: [cluster], typeUrl: TYPE_URL.endpoints, responseNonce, node: { id: 'herald-xds-push-ads-watch' } }),
      );
    };
    this.call.on('data', (res: DiscoveryResponse) => {
      const at = wallNowMs();
      this.received++;
      const now = new Set<string>();
      for (const any of res.resources) {
        for (const locality of ClusterLoadAssignment.decode(any.value).endpoints) {
          for (const e of locality.lbEndpoints) now.add(String(e.endpoint?.address?.socketAddress?.portValue ?? 0));
        }
      }
      for (const port of now) this.appeared.mark(port, at);
      for (const port of this.held) if (!now.has(port)) this.left.mark(port, at);
      this.held = now;
      ask(res.versionInfo, res.nonce);
    });
    this.call.on('error', () => {
      this.errors++;
    });
    ask('', '');
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
