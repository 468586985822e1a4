/**
 * The ADS stream's protocol on the shipped server, with the generated ADS client: an ACK or a NACK
 * of the current subscription sends nothing again (the next response is the one asked for next), a
 * NACK is logged, a request answering a stale nonce is ignored, and a registry change re-sends the
 * cluster's endpoints with a new version.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { DiscoveryRequest, DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { Node } from '../../src/gen/xds/envoy/config/core/v3/base.js';
import { Listener } from '../../src/gen/xds/envoy/config/listener/v3/listener.js';
import { silentLogger } from '../../src/common/logger.js';
import type { ServiceRef, ServiceView } from '../../src/core/model.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { createAdsServer, type AdsServer } from '../../src/server/xds/ads-service.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { authFixture } from '../support/auth-fixture.js';
import { adsStream, edsPorts } from '../support/ads-client.js';
import { recordingLogger, startServer } from '../support/server.js';

describe('ADS state of the world', () => {
  it('answers each new subscription once, ignores ACKs, NACKs (logged) and stale nonces, and pushes registry changes', async () => {
    const log = recordingLogger();
    const server = await startServer({}, { logger: log.logger });
    server.registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '127.0.0.1', port: 1001 } });
    const s = adsStream(server.port);

    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
    const cds = await s.responses.until((r) => r.typeUrl === TYPE_URL.cluster, 'the CDS response');
    expect(cds.resources.map((a) => a.typeUrl)).toEqual([TYPE_URL.cluster]);

    // ACK, then NACK of the same version, then a request on a stale nonce: none is answered; the
    // EDS request after them is, so it is the next response.
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'], versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    s.send({
      typeUrl: TYPE_URL.cluster,
      resourceNames: ['orders'],
      versionInfo: cds.versionInfo,
      responseNonce: cds.nonce,
      errorDetail: { code: 3, message: 'rejected for the test', details: [] },
    });
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders', 'other'], responseNonce: 'stale' });
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'] });
    const eds = await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    expect(s.responses.values.map((r) => r.typeUrl)).toEqual([TYPE_URL.cluster, TYPE_URL.endpoints]);
    expect(edsPorts(eds)).toEqual([1001]);
    expect(log.lines.values.filter((l) => l.message.includes('NACK'))).toHaveLength(1);

    // A registration is pushed as a new version of the assignment.
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
    server.registry.register({ service: 'orders', instance: { instanceId: 'b', ip: '127.0.0.1', port: 1002 } });
    const pushed = await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints && r.nonce !== eds.nonce, 'the pushed EDS response');
    expect(pushed.versionInfo).not.toBe(eds.versionInfo);
    expect(edsPorts(pushed).sort()).toEqual([1001, 1002]);
  });
});

/** One series of the server's /metrics, or undefined. */
async function metric(server: HeraldServer, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort ?? 0}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ADS metrics, credentials and slow clients', () => {
  it('counts streams, responses and NACKs by type in /metrics', async () => {
    const server = await startServer();
    const s = adsStream(server.port);
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
    const cds = await s.responses.until((r) => r.typeUrl === TYPE_URL.cluster, 'the CDS response');
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'], versionInfo: cds.versionInfo, responseNonce: cds.nonce, errorDetail: { code: 3, message: 'no', details: [] } });
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'] });
    await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    expect(await metric(server, 'herald_xds_streams')).toBe(1);
    expect(await metric(server, 'herald_xds_responses_total{type="cluster"}')).toBe(1);
    expect(await metric(server, 'herald_xds_responses_total{type="endpoints"}')).toBe(1);
    expect(await metric(server, 'herald_xds_nacks_total{type="cluster"}')).toBe(1);
  });

  it('takes credentials from the node metadata of the first request (xDS bootstraps cannot carry call credentials), and ends a stream whose caller loses read on a reload', async () => {
    const auth = await authFixture([
      { name: 'reader', roles: [{ namespace: 'team-a', permission: 'read' }] },
      { name: 'other', roles: [{ namespace: 'elsewhere', permission: 'read' }] },
    ]);
    const server = await startServer({ authFile: auth.path, reloadIntervalMs: 50, metricsAuth: false });
    server.registry.register({ namespace: 'team-a', group: 'payments', service: 'ledger', instance: { instanceId: 'a', ip: '127.0.0.1', port: 1001 } });
    const node = (authorization: string) => Node.fromPartial({ id: 'n', metadata: { authorization } });

    const wrong = adsStream(server.port);
    wrong.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['team-a@@payments@@ledger'], node: node('Bearer not-a-token') });
    await expect(wrong.responses.until(() => false, 'the refusal')).rejects.toThrow(/UNAUTHENTICATED/);

    const outsider = adsStream(server.port);
    outsider.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['team-a@@payments@@ledger'], node: node(`Bearer ${auth.tokens.other}`) });
    await expect(outsider.responses.until(() => false, 'the refusal')).rejects.toThrow(/PERMISSION_DENIED/);

    const reader = adsStream(server.port);
    reader.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['team-a@@payments@@ledger'], node: node(`Bearer ${auth.tokens.reader}`) });
    const eds = await reader.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    expect(edsPorts(eds)).toEqual([1001]);
    // Not a name of another namespace: that needs read there.
    reader.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['team-a@@payments@@ledger', 'orders'], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
    await expect(reader.responses.until(() => false, 'the refusal')).rejects.toThrow(/PERMISSION_DENIED/);

    const again = adsStream(server.port);
    again.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['team-a@@payments@@ledger'], node: node(`Bearer ${auth.tokens.reader}`) });
    await again.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    await auth.rewrite([{ name: 'reader', roles: [{ namespace: 'elsewhere', permission: 'read' }] }]);
    await expect(again.responses.until(() => false, 'the refusal after the reload')).rejects.toThrow(/PERMISSION_DENIED/);
    expect(await metric(server, 'herald_xds_refused_total')).toBe(4);
  });

  it('answers names that are no herald service as resources that do not exist', async () => {
    const server = await startServer();
    const s = adsStream(server.port);
    s.send({ typeUrl: TYPE_URL.listener, resourceNames: ['a/b', 'x@@y@@z@@w', 'orders'] });
    const lds = await s.responses.until((r) => r.typeUrl === TYPE_URL.listener, 'the LDS response');
    expect(lds.resources.map((a) => Listener.decode(a.value).name)).toEqual(['orders']);
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['a/b'] });
    const eds = await s.responses.until((r) => r.typeUrl === TYPE_URL.endpoints, 'the EDS response');
    expect(edsPorts(eds)).toEqual([]);
  });
});

describe('ADS stream limits', () => {
  it('refuses streams beyond --max-subscribe-streams-per-connection with RESOURCE_EXHAUSTED, counted apart from Subscribe, and takes one again once a stream ends', async () => {
    const server = await startServer({ maxSubscribeStreamsPerConnection: 2, metricsAuth: false });
    const open = [adsStream(server.port), adsStream(server.port)];
    for (const s of open) {
      s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
      await s.responses.until((r) => r.typeUrl === TYPE_URL.cluster, 'a CDS response');
    }
    // A third stream on the first one's channel (grpc-js may share one connection among all three).
    const third = adsStream(server.port, open[0]);
    third.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
    await expect(third.responses.until(() => false, 'the refusal')).rejects.toThrow(/RESOURCE_EXHAUSTED: this connection already has 2 xDS streams open/);
    expect(await metric(server, 'herald_xds_refused_total')).toBe(1);
    expect(await metric(server, 'herald_subscribe_refused_total')).toBe(0);
  });
});

describe('ADS names per stream', () => {
  it('ends a stream asking for more clusters than --max-subscribe-streams-per-connection with RESOURCE_EXHAUSTED, subscribing to none of them', async () => {
    const server = await startServer({ maxSubscribeStreamsPerConnection: 3 });
    const s = adsStream(server.port);
    s.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['a', 'b', 'c', 'd'] });
    await expect(s.responses.until(() => false, 'the refusal')).rejects.toThrow(
      /RESOURCE_EXHAUSTED: asks for 4 resources of .*ClusterLoadAssignment, more than the limit of 3 per stream/,
    );
    expect(server.stats().subscribers).toBe(0);
  });
});

describe('--xds off', () => {
  it('serves no ADS: the stream is UNIMPLEMENTED', async () => {
    const server = await startServer({ xds: false });
    const s = adsStream(server.port);
    s.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['orders'] });
    await expect(s.responses.until(() => false, 'the refusal')).rejects.toThrow(/UNIMPLEMENTED/);
  });
});

describe('a slow ADS client', () => {
  it('has at most the newest assignment per cluster waiting: older ones are skipped, and the newest is sent on drain', () => {
    const views = new Map<string, (v: ServiceView) => void>();
    const hub = {
      subscribe: (ref: ServiceRef, target: { deliver: (v: ServiceView) => void }) => {
        views.set(ref.service, target.deliver);
        return () => views.delete(ref.service);
      },
    };
    const access = {
      authenticate: () => Promise.resolve({ ok: true as const, principal: { name: 'a', anonymous: true, roles: [] } }),
      decide: () => ({ allowed: true as const }),
      onReload: () => () => undefined,
    };
    const server = createAdsServer({ hub, access, logger: silentLogger, ready: Promise.resolve(), maxStreams: 10, maxStreamsPerConnection: 10, maxNamesPerType: 10 });
    // What the stream writes: encoded frames (adsDefinition sends them as is), decoded here.
    const written: DiscoveryResponse[] = [];
    let writable = true;
    const call = Object.assign(new EventEmitter(), {
      metadata: new Metadata(),
      getPeer: () => 'test',
      write: (frame: Buffer) => {
        written.push(DiscoveryResponse.decode(frame));
        return writable;
      },
      end: () => undefined,
    });
    server.handlers.streamAggregatedResources(call as unknown as Parameters<AdsServer['handlers']['streamAggregatedResources']>[0]);
    return (async () => {
      call.emit('data', DiscoveryRequest.fromPartial({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'] }));
      await new Promise((r) => setImmediate(r)); // authentication settles
      const deliver = views.get('orders');
      expect(deliver).toBeDefined();
      const view = (port: number) =>
        ({ hosts: [{ instanceId: String(port), ip: '127.0.0.1', port, weight: 1, cluster: 'DEFAULT', healthy: true, enabled: true, status: 'UP' }] }) as unknown as ServiceView;
      writable = false;
      deliver?.(view(1)); // written; the stream is now full
      for (const p of [2, 3, 4]) deliver?.(view(p)); // wait, newest only
      expect(written.map(edsPorts)).toEqual([[1]]);
      expect(server.stats().skipped).toBe(2);
      writable = true;
      call.emit('drain');
      expect(written.map(edsPorts)).toEqual([[1], [4]]);
    })();
  });
});
