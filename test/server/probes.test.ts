/**
 * Health probes of persistent instances on the shipped composition: a real `herald serve` probes a
 * TCP listener and an HTTP server that the test stops and starts again, and pushes the instance
 * unhealthy, then healthy again.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { describe, it } from 'vitest';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { serve } from '../support/cli.js';
import { connect, onCleanup, record } from '../support/server.js';

type Listening = TcpServer | HttpServer;

function listen(server: Listening, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : 0);
    });
  });
}

function close(server: Listening): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

async function probed(kind: 'tcp' | 'http', make: () => Listening): Promise<void> {
  const first = make();
  const port = await listen(first);
  onCleanup(() => close(first));
  const node = await serve(['--probe-interval-ms', '200', '--probe-timeout-ms', '150', '--probe-unhealthy-threshold', '2', '--probe-healthy-threshold', '1']);
  const log = (): string => node.stderr.slice(-10).join('\n');
  const c = connect(node.port);
  const pushes = record(c.subscribe(SubscribeRequest.fromPartial({ service: `${kind}-svc` })));
  await c.register(
    RegisterRequest.fromPartial({
      service: `${kind}-svc`,
      instance: { instanceId: 'p-1', ip: '127.0.0.1', port, ephemeral: false, metadata: { 'herald.probe': kind, 'herald.probe.path': '/health' } },
    }),
  );
  await pushes.until((s) => s.hosts.length === 1 && s.hosts[0]?.healthy === true, 'registered, healthy', log);
  await close(first);
  await pushes.until((s) => s.hosts[0]?.healthy === false, `shown unhealthy once the ${kind} server stopped`, log);
  const again = make();
  await listen(again, port);
  onCleanup(() => close(again));
  await pushes.until((s) => s.hosts[0]?.healthy === true, `shown healthy again once the ${kind} server is back`, log);
}

describe('health probes of persistent instances', () => {
  it('flip health both ways against a TCP listener', async () => {
    await probed('tcp', () => createTcpServer((socket) => socket.destroy()));
  });

  it('flip health both ways against an HTTP server (2xx healthy)', async () => {
    await probed('http', () =>
      createHttpServer((req, res) => {
        res.statusCode = req.url === '/health' ? 200 : 404;
        res.end('ok');
      }),
    );
  });
});
