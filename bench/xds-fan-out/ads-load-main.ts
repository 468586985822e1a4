/**
 * xds-fan-out's ADS load process: N ADS streams (the generated grpc-js client of src/gen/xds, each
 * on its own connection), each asking EDS for the service's cluster, decoding every
 * ClusterLoadAssignment it receives in full and ACKing it, as an xDS client does. The change an
 * assignment holds is read from the tagged endpoint's weight (weight-tag.ts); its arrival is
 * tallied like a Subscribe snapshot's (lib/push/subscriber-load.ts), with issue time 0, so the tally
 * holds arrival times and the benchmark subtracts the issue times. Started by xds-fan-out.ts.
 */
import { credentials } from '@grpc/grpc-js';
import { ClusterLoadAssignment } from '../../src/gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import type { PushLoadConfig } from '../lib/push/load-protocol.js';
import { serveSubscriberLoad, type SubscriberEvents } from '../lib/push/subscriber-load.js';
import { seqOfUnits } from './weight-tag.js';

export interface AdsLoadConfig extends PushLoadConfig {
  /** The tagged instance's IP (its endpoint carries the change number in its weight). */
  readonly taggedIp: string;
}

/** The change the assignment holds: the tagged endpoint's weight, decoded (undefined when it is absent). */
function seqOf(cla: ClusterLoadAssignment, taggedIp: string): number | undefined {
  for (const locality of cla.endpoints) {
    for (const e of locality.lbEndpoints) {
      if (e.endpoint?.address?.socketAddress?.address === taggedIp && e.loadBalancingWeight !== undefined) return seqOfUnits(e.loadBalancingWeight);
    }
  }
  return undefined;
}

function openAds(config: AdsLoadConfig, events: SubscriberEvents): () => void {
  // A subchannel pool of its own: one connection per stream, as N separate clients would have.
  const client = new AggregatedDiscoveryServiceClient(config.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = client.streamAggregatedResources();
  // The node goes in the first request only, as grpc-js-xds sends it (and Envoy with set_node_on_first_message_only).
  let node: { id: string } | undefined = { id: 'herald-xds-fan-out' };
  const ask = (versionInfo: string, responseNonce: string): void => {
    call.write(DiscoveryRequest.fromPartial({ versionInfo, resourceNames: [config.service], typeUrl: TYPE_URL.endpoints, responseNonce, node }));
    node = undefined;
  };
  let closed = false;
  call.on('data', (res: DiscoveryResponse) => {
    let seq: number | undefined;
    for (const any of res.resources) seq ??= seqOf(ClusterLoadAssignment.decode(any.value), config.taggedIp);
    events.onSnapshot(seq === undefined ? undefined : { seq, issuedAtMs: 0 });
    ask(res.versionInfo, res.nonce);
  });
  call.on('error', (e: Error) => {
    if (!closed) events.onError(e);
  });
  ask('', '');
  return () => {
    closed = true;
    call.cancel();
    client.close();
  };
}

serveSubscriberLoad<AdsLoadConfig>(openAds);
