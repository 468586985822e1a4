/**
 * The ADS stream's protocol on the shipped server, with the generated ADS client: an ACK or a NACK
 * of the current subscription sends nothing again (the next response is the one asked for next), a
 * NACK is logged, a request answering a stale nonce is ignored, and a registry change re-sends the
 * cluster's endpoints with a new version.
 */
import { describe, expect, it } from 'vitest';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import { DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { ClusterLoadAssignment } from '../../src/gen/xds/envoy/config/endpoint/v3/endpoint.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { onCleanup, record, recordingLogger, startServer } from '../support/server.js';

function ads(port: number) {
  const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
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
    responses: record(responses),
    send: (req: Partial<DiscoveryRequest>) => {
      call.write(DiscoveryRequest.fromPartial(req));
    },
  };
}

/** The endpoints' ports in an EDS response. */
function ports(r: DiscoveryResponse): number[] {
  return r.resources.flatMap((a) => ClusterLoadAssignment.decode(a.value).endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.endpoint?.address?.socketAddress?.portValue ?? 0)));
}

describe('ADS state of the world', () => {
  it('answers each new subscription once, ignores ACKs, NACKs (logged) and stale nonces, and pushes registry changes', async () => {
    const log = recordingLogger();
    const server = await startServer({}, { logger: log.logger });
    server.registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '127.0.0.1', port: 1001 } });
    const s = ads(server.port);

    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
    const cds = await s.responses.until((r) => r.typeUrl === TYPE_URL.cluster, 'the CDS response');
    expect(cds.resources.map((a) => a.typeUrl)).toEqual([TYPE_URL.cluster]);

    // ACK, then NACK of the same version, then a request on a stale nonce: none is answered; the
    // EDS request after them is, so it is the next response.
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'], versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'], versionInfo: cds.versionInfo, responseNonce: cds.nonce, errorDetail: { code: 3, message: 'rejected for the test', details: [] } });
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders', 'other'], responseNonce: 'stale' });
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'] });
    const eds = await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    expect(s.responses.values.map((r) => r.typeUrl)).toEqual([TYPE_URL.cluster, TYPE_URL.endpoints]);
    expect(ports(eds)).toEqual([1001]);
    expect(log.lines.values.filter((l) => l.message.includes('NACK'))).toHaveLength(1);

    // A registration is pushed as a new version of the assignment.
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
    server.registry.register({ service: 'orders', instance: { instanceId: 'b', ip: '127.0.0.1', port: 1002 } });
    const pushed = await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints && r.nonce !== eds.nonce, 'the pushed EDS response');
    expect(pushed.versionInfo).not.toBe(eds.versionInfo);
    expect(ports(pushed).sort()).toEqual([1001, 1002]);
  });
});
