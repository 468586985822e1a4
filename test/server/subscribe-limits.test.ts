import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { eventually, onCleanup, record, startServer } from '../support/server.js';

/** A transport on its own TCP connection (grpc-js shares one between equal channels otherwise). */
function ownConnection(port: number): RegistryTransport {
  const t = new RegistryTransport(`127.0.0.1:${port}`, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  onCleanup(() => {
    t.close();
  });
  return t;
}

const orders = SubscribeRequest.fromPartial({ service: 'orders' });

describe('Subscribe stream limits', () => {
  it('refuses streams beyond the per-connection and per-server limits with RESOURCE_EXHAUSTED, and admits again once streams close', async () => {
    const server = await startServer({ maxSubscribeStreamsPerConnection: 3, maxSubscribeStreams: 5 });
    const a = ownConnection(server.port);
    const b = ownConnection(server.port);
    const c = ownConnection(server.port);

    const onA = [1, 2, 3].map(() => record(a.subscribe(orders)));
    await eventually(() => onA.every((s) => s.values.length === 1), 'three streams on connection a');
    const fourthOnA = record(a.subscribe(orders));
    await eventually(() => fourthOnA.errors.length === 1, 'the fourth stream on connection a is refused');
    const perConnection = fourthOnA.errors[0] as ServiceError;
    expect(perConnection.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(perConnection.details).toContain('this connection already has 3 Subscribe streams open');

    const onB = [1, 2].map(() => record(b.subscribe(orders)));
    await eventually(() => onB.every((s) => s.values.length === 1), 'two streams on connection b');
    const onC = record(c.subscribe(orders));
    await eventually(() => onC.errors.length === 1, 'a stream beyond the server limit is refused');
    const perServer = onC.errors[0] as ServiceError;
    expect(perServer.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(perServer.details).toContain('the server already has 5 Subscribe streams open');
    expect(server.stats()).toMatchObject({ streams: 5, subscribers: 5, refusedSubscribes: 2 });

    // A cancelled stream frees its place on its connection and on the server.
    onA[0]?.stop();
    await eventually(() => server.stats().streams === 4, 'the cancelled stream is released');
    const again = record(a.subscribe(orders));
    await eventually(() => again.values.length === 1, 'connection a may open a stream again');
    expect(server.stats()).toMatchObject({ streams: 5, refusedSubscribes: 2 });
  });

  it('frees the place of a subscriber whose process dies', async () => {
    const server = await startServer({ maxSubscribeStreams: 1 });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/subscriber-process.ts', String(server.port), 'orders'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    const seen: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => seen.push(l));
    await eventually(() => seen.length === 1 && server.stats().streams === 1, 'the child holds the only place');
    const a = ownConnection(server.port);
    const refused = record(a.subscribe(orders));
    await eventually(() => refused.errors.length === 1, 'no place left');
    child.kill('SIGKILL');
    await eventually(() => server.stats().streams === 0, "the dead process's stream is released");
    const admitted = record(a.subscribe(orders));
    await eventually(() => admitted.values.length === 1, 'its place is free again');
  });
});
