/**
 * Readiness on the HTTP port follows the start-up sync, as the gRPC health service does: a node
 * joining a cluster answers /readyz 503 (and herald_ready 0) while it pulls the registry from a
 * peer, and 200 once it serves; /livez answers 200 throughout. Its xDS service answers nothing
 * until then, so a gRPC client never receives the empty registry of a node still syncing.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { PeerLink, SyncChunk } from '../../src/cluster/peer-link.js';
import { GrpcPeerLink } from '../../src/server/peer/grpc-peer-link.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { adsStream, edsPorts } from '../support/ads-client.js';
import { healthCheck } from '../support/health-client.js';
import { startServer, within } from '../support/server.js';

async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

/** A deferred the test resolves. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('readiness during the start-up sync', () => {
  it('/readyz says 503 "syncing" while a joining node pulls the registry, 200 once it serves; /livez 200 throughout', async () => {
    const [a, b, bHttp] = [await freePort(), await freePort(), await freePort()];
    const peers = [`127.0.0.1:${a}`, `127.0.0.1:${b}`];
    const config = { peers, syncTimeoutMs: 10_000, verifyIntervalMs: 60_000 };
    const nodeA = await startServer({ port: a, ...config });
    nodeA.registry.register({ service: 'orders', instance: { instanceId: 'o-1', ip: '127.0.0.1', port: 4001 } });
    const syncAsked = gate();
    const release = gate();
    // B's link to A holds the sync until the test has looked at B's probes.
    const factory = (address: string, secret: string | undefined, callTimeoutMs: number): PeerLink => {
      const link = new GrpcPeerLink(address, secret, callTimeoutMs);
      const syncRegistry = link.syncRegistry.bind(link);
      link.syncRegistry = async function* (nodeId: string, deadlineMs: number): AsyncIterable<SyncChunk> {
        syncAsked.open();
        await release.promise;
        yield* syncRegistry(nodeId, deadlineMs);
      };
      return link;
    };
    let joined: HeraldServer | undefined;
    const starting = startServer({ port: b, httpPort: bHttp, ...config }, { peerLinkFactory: factory }).then((s) => (joined = s));
    await within(syncAsked.promise, 'B to ask A for the registry');
    // An xDS client of B asks for the endpoints of orders meanwhile: B holds its answer until it serves.
    const xds = adsStream(b);
    xds.send({ typeUrl: TYPE_URL.endpoints, resourceNames: ['orders'] });
    const url = (path: string): string => `http://127.0.0.1:${bHttp}${path}`;
    const during = await fetch(url('/readyz'));
    expect([during.status, await during.text()]).toEqual([503, 'not ready: syncing\n']);
    expect((await fetch(url('/livez'))).status).toBe(200);
    expect(await (await fetch(url('/metrics'))).text()).toMatch(/^herald_ready 0$/m);
    expect(await healthCheck(b)).toBe('NOT_SERVING');
    release.open();
    await within(starting, 'B to finish its start-up sync');
    expect(joined?.readiness()).toEqual({ ready: true, state: 'serving' });
    // Its first answer is the synced registry, never the empty one B held before the sync.
    const first = await xds.responses.until(() => true, "B's first EDS answer");
    expect(edsPorts(first)).toEqual([4001]);
    const after = await fetch(url('/readyz'));
    expect([after.status, await after.text()]).toEqual([200, 'ready\n']);
    expect(await (await fetch(url('/metrics'))).text()).toMatch(/^herald_ready 1$/m);
    expect(await healthCheck(b)).toBe('SERVING');
    // Shutting down: not ready again before the port goes away.
    const closing = joined?.close();
    expect(joined?.readiness()).toEqual({ ready: false, state: 'stopping' });
    await closing;
  });
});
