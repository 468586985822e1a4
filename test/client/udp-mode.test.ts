import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { createRegistryClient } from '../../src/client/index.js';
import { grpcTransport } from '../../src/client/transport.js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { connect, eventually, onCleanup, record, startServer } from '../support/server.js';

describe("the SDK's UDP receiver mode", () => {
  it('receives pushes by UDP, acks them, and keeps its target alive by polling', async () => {
    const server = await startServer({ mergeWindowMs: 2, udpTargetExpiryMs: 600 });
    // The client's pulls (its polls), announced as each one is answered.
    const pulled = new Subject<void>();
    const pulls = record(pulled);
    const client = createRegistryClient({
      servers: [`127.0.0.1:${server.port}`],
      mode: 'udp',
      udpBindHost: '127.0.0.1',
      pollIntervalMinMs: 100,
      transportFactory: (address) => {
        const grpc = grpcTransport(address);
        return {
          ...grpc,
          getService: async (call) => {
            const snapshot = await grpc.getService(call);
            pulled.next();
            return snapshot;
          },
        };
      },
    });
    onCleanup(() => client.close());
    const events = record(client.watch$('orders'));
    await events.until(() => true, 'the initial pull');
    // The server made the client a target while answering that pull.
    expect(server.udp?.stats().targets).toBe(1);
    expect(client.stats().udpPort).toBeGreaterThan(0);
    expect(client.stats().pushStreams).toBe(0);
    // Several expiry periods pass: seven more polls, one every cache_millis (300 ms), span 2.1 s, three
    // and a half 600 ms expiry periods, and the sweeper runs every period. The polls keep the target alive.
    const polled = pulls.values.length;
    await pulls.until(() => pulls.values.length >= polled + 7, 'seven more polls');
    expect(server.udp?.stats()).toMatchObject({ targets: 1, expiredTargets: 0 });
    await connect(server).register(RegisterRequest.fromPartial({ service: 'orders', instance: { ip: '10.0.0.1', port: 80 } }));
    await events.until((e) => e.diff.added.length === 1, 'change received');
    // The push reached this client and it acknowledged it (a poll may race it to the cache; the
    // ordering rules make that harmless). The server counts the ack when it arrives (no event).
    await eventually(() => server.udp?.stats().acked === 1, 'push acked by the client');
    expect(server.udp?.stats()).toMatchObject({ sent: 1, failed: 0 });
    await client.close();
    expect(client.stats().udpPort).toBe(0);
  });
});
