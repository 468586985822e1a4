import { describe, expect, it } from 'vitest';
import { createRegistryClient, type ServiceChangeEvent } from '../../src/client/index.js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { connect, eventually, onCleanup, startServer } from '../support/server.js';

describe("the SDK's UDP receiver mode", () => {
  it('receives pushes by UDP, acks them, and keeps its target alive by polling', async () => {
    const server = await startServer({ mergeWindowMs: 2, udpTargetExpiryMs: 600 });
    const client = createRegistryClient({ servers: [`127.0.0.1:${server.port}`], mode: 'udp', udpBindHost: '127.0.0.1', pollIntervalMinMs: 100 });
    onCleanup(() => client.close());
    const events: ServiceChangeEvent[] = [];
    const sub = client.watch$('orders').subscribe((e) => events.push(e));
    onCleanup(() => {
      sub.unsubscribe();
    });
    await eventually(() => events.length === 1 && (server.udp?.stats().targets ?? 0) === 1, 'initial pull made the client a target');
    expect(client.stats().udpPort).toBeGreaterThan(0);
    expect(client.stats().pushStreams).toBe(0);
    // Several expiry periods pass: the polls (every cache_millis = 300 ms) keep the target alive.
    const t0 = Date.now();
    await eventually(() => Date.now() - t0 > 2_000, 'time passes');
    expect(server.udp?.stats()).toMatchObject({ targets: 1, expiredTargets: 0 });
    await connect(server).register(RegisterRequest.fromPartial({ service: 'orders', instance: { ip: '10.0.0.1', port: 80 } }));
    await eventually(() => events.at(-1)?.diff.added.length === 1, 'change received');
    // The push reached this client and it acknowledged it (a poll may race it to the cache; the
    // ordering rules make that harmless).
    await eventually(() => server.udp?.stats().acked === 1, 'push acked by the client');
    expect(server.udp?.stats()).toMatchObject({ sent: 1, failed: 0 });
    await client.close();
    expect(client.stats().udpPort).toBe(0);
  });
});
