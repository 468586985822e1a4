/**
 * A TCP proxy on 127.0.0.1:0 in front of a real server, for outages a test can count: while `down`
 * it accepts each connection and closes it at once (the client sees its attempt fail, the way a
 * refused connection fails), and `attemptsWhileDown` counts them; `up` forwards again.
 */
import { createServer, connect, type Socket } from 'node:net';
import { onCleanup } from '../support/server.js';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted and closed while down: the client's connection attempts. */
  readonly attemptsWhileDown: number;
  /** Cuts every open connection and turns new ones away until `up()`. */
  down(): void;
  up(): void;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isDown = false;
  let attempts = 0;
  const server = createServer((client) => {
    if (isDown) {
      attempts++;
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => {
        open.delete(s);
      });
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get attemptsWhileDown() {
      return attempts;
    },
    down: () => {
      isDown = true;
      for (const s of open) s.destroy();
    },
    up: () => {
      isDown = false;
    },
  };
}
