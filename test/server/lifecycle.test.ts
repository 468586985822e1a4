import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { silentLogger } from '../../src/common/logger.js';
import { HeraldServer } from '../../src/server/herald-server.js';
import { connect, record, startServer, untilRegistry } from '../support/server.js';
import { healthCheck } from '../support/health-client.js';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(port, '127.0.0.1', () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });
}

describe('server lifecycle', () => {
  it('reports SERVING for the server and for herald.v1.RegistryService', async () => {
    const server = await startServer();
    expect(await healthCheck(server.port)).toBe('SERVING');
    expect(await healthCheck(server.port, 'herald.v1.RegistryService')).toBe('SERVING');
    await expect(healthCheck(server.port, 'nope')).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });

  it('shutdown ends Subscribe streams with UNAVAILABLE, releases the port, and is idempotent', async () => {
    const server = await startServer();
    const c = connect(server);
    const a = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'a' })));
    const b = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'b', healthyOnly: true })));
    await a.until(() => true, 'the first stream subscribed');
    await b.until(() => true, 'the second stream subscribed');
    const port = server.port;
    await Promise.all([server.close(), server.close()]);
    const ended = [await a.failure('the first stream to end'), await b.failure('the second stream to end')];
    expect([...a.errors, ...b.errors]).toHaveLength(2);
    for (const e of ended) {
      expect((e as ServiceError).code).toBe(GrpcStatus.UNAVAILABLE);
      expect((e as ServiceError).details).toBe('server is shutting down');
    }
    expect(await portIsFree(port)).toBe(true);
    // A new server can take the same port at once.
    const again = await startServer({ port });
    expect(again.port).toBe(port);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const server = await startServer();
    await expect(HeraldServer.start({ logger: silentLogger, config: { host: '127.0.0.1', port: server.port, httpPort: 0 } })).rejects.toThrow(
      `cannot listen on 127.0.0.1:${server.port}`,
    );
  });

  it('runs the eviction loop on its interval', async () => {
    // The registry's clock is driven by the test; the loop's timer is real.
    const clock = new ManualClock(Date.now());
    const server = await startServer({ evictionIntervalMs: 50, registry: { selfPreservation: false } }, { clock });
    const c = connect(server);
    await c.register(
      RegisterRequest.fromPartial({ service: 'short', instance: { instanceId: 'x', ip: '10.0.0.1', port: 1, lease: { durationMs: 1_000, renewalIntervalMs: 100 } } }),
    );
    clock.advance(1_000);
    expect(server.evictNow()).toBe(0); // not past the lease yet
    clock.advance(1);
    await untilRegistry(server, () => server.registry.stats().instances === 0, 'the eviction loop to evict the expired instance');
  });
});
