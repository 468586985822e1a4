import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fromEvent, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { credentials } from '@grpc/grpc-js';
import { RegisterRequest, RegistryServiceClient, SubscribeRequest, type SubscribeResponse } from '../../src/gen/herald/v1/registry_service.js';
import { connect, eventually, onCleanup, record, startServer } from '../support/server.js';

const big = (i: number, seq: number) =>
  RegisterRequest.fromPartial({
    service: 'big',
    instance: { instanceId: `i-${i}`, ip: '10.0.0.1', port: 1000 + i, metadata: { seq: String(seq), pad: 'x'.repeat(200) } },
  });

describe('slow and dead subscribers', () => {
  it('a subscriber that stops reading holds a bounded backlog, does not delay others, and then gets the newest snapshot', async () => {
    const server = await startServer({ mergeWindowMs: 1 });
    const c = connect(server);
    await Promise.all(Array.from({ length: 400 }, (_, i) => c.register(big(i, 0))));

    // The slow subscriber: a raw stream that is paused, so HTTP/2 flow control stops the server.
    const raw = new RegistryServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    onCleanup(() => {
      raw.close();
    });
    const slowCall = raw.subscribe(SubscribeRequest.fromPartial({ service: 'big' }));
    const slowData = new Subject<SubscribeResponse>();
    const slow = record(slowData);
    const slowSeen = slow.values;
    slowCall.on('data', (m: SubscribeResponse) => {
      slowData.next(m);
    });
    slowCall.on('error', () => undefined);
    await slow.until(() => true, 'slow initial snapshot');
    slowCall.pause();

    const fast = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'big' })));
    await fast.until(() => true, 'fast initial snapshot');

    let maxBacklog = 0;
    for (let seq = 1; seq <= 60; seq++) {
      await c.register(big(0, seq));
      maxBacklog = Math.max(maxBacklog, server.stats().maxStreamBacklog);
      // The fast subscriber keeps up while the slow one is stuck.
      await fast.until((v) => v.hosts[0]?.metadata.seq === String(seq), `fast subscriber sees seq ${seq}`);
    }
    expect(maxBacklog).toBeLessThanOrEqual(server.config.maxPushesInFlight + 1);
    expect(server.stats().skippedPushes).toBeGreaterThan(0);

    slowCall.resume();
    await slow.until((m) => m.serviceInfo?.hosts[0]?.metadata.seq === '60', 'slow subscriber catches up');
    // Every one of the 61 snapshots was either delivered or replaced while pending: the slow
    // subscriber skipped intermediate ones and ended on the newest, instead of replaying a backlog.
    const { skippedPushes } = server.stats();
    expect(slowSeen.length + skippedPushes).toBe(61);
    expect(slowSeen.length).toBeLessThan(61);
  });

  it('a killed subscriber process is cleaned up and does not affect the others', async () => {
    const server = await startServer({ mergeWindowMs: 1 });
    const c = connect(server);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/subscriber-process.ts', String(server.port), 'orders'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    const lines = record(fromEvent(createInterface({ input: child.stdout }), 'line'));
    // The server holds a stream from its handler on, before it sends the first snapshot.
    await lines.until(() => true, "the child's first push");
    expect(server.stats().streams).toBe(1);

    const live = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await live.until(() => true, 'the second subscriber subscribed');
    expect(server.stats().streams).toBe(2);
    child.kill('SIGKILL');
    // The server notices the closed connection inside grpc-js: nothing to wait on but its stats.
    await eventually(() => server.stats().streams === 1 && server.stats().subscribers === 1, 'dead stream cleaned up');
    await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { ip: '10.0.0.2', port: 1 } }));
    await live.until((v) => v.hosts.length === 1, 'push to the live subscriber');
  });

  it('a client that cancels its stream is unsubscribed at once', async () => {
    const server = await startServer();
    const c = connect(server);
    const s = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await s.until(() => true, 'subscribed');
    expect(server.stats().subscribers).toBe(1);
    s.stop();
    // The cancel reaches the server's handler inside grpc-js: nothing to wait on but its stats.
    await eventually(() => server.stats().subscribers === 0 && server.stats().streams === 0, 'cleaned up');
  });
});
