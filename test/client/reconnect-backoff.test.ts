import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, createRegistryClient } from '../../src/client/index.js';
import { channelReconnectBackoff } from '../../src/client/options.js';
import { onCleanup, record, startServer } from '../support/server.js';
import { startTcpProxy } from './tcp-proxy.js';

describe("the gRPC channel's reconnect back-off follows the SDK's settings", () => {
  it('during an outage the channel tries to connect about as often as the SDK retries, and recovers', async () => {
    const server = await startServer();
    const proxy = await startTcpProxy(server.port);
    const client = createRegistryClient({ servers: [`127.0.0.1:${proxy.port}`], heartbeatBackoffMaxMs: 200, resubscribeBackoffMaxMs: 200 });
    onCleanup(() => client.close());
    const handle = client.register({ service: 'orders', ip: '10.0.0.1', port: 80, renewalIntervalMs: 100, leaseDurationMs: 60_000 });
    const states = record(handle.state$);
    await states.until((s) => s.kind === 'registered', 'registered');

    // The outage: every connection is cut, and every new one is turned away (and counted).
    const before = states.values.length;
    const retries = (): number => states.values.slice(before).filter((s) => s.kind !== 'registered').length;
    proxy.down();
    await states.until(() => retries() >= 20, '20 renewal retries by the SDK');
    // Each SDK retry comes at most 200 ms (+20 % jitter) after the previous one, and so should each
    // of the channel's connection attempts. grpc-js's own back-off (1 s, then × 1.6 up to 120 s,
    // ±20 %) could not make half as many in the same time: its 10th attempt comes at least 29 s
    // after its first, while the wait gives the 20 retries 10 s at most.
    const attempts = proxy.attemptsWhileDown;
    expect(attempts).toBeGreaterThanOrEqual(Math.floor(retries() / 2));

    proxy.up();
    await states.until((s) => s.kind === 'registered', 'renewed after the outage');
    expect(server.registry.stats().instances).toBe(1);
  });

  it('starts at 1 s (or the bound) and grows up to the shorter of the heartbeat and resubscribe bounds', () => {
    expect(channelReconnectBackoff(CLIENT_DEFAULTS)).toEqual({ initialMs: 1_000, maxMs: 10_000 });
    expect(channelReconnectBackoff({ heartbeatBackoffMaxMs: 2_000, resubscribeBackoffMaxMs: 5_000 })).toEqual({ initialMs: 1_000, maxMs: 2_000 });
    expect(channelReconnectBackoff({ heartbeatBackoffMaxMs: 200, resubscribeBackoffMaxMs: 200 })).toEqual({ initialMs: 200, maxMs: 200 });
  });
});
