/** A TCP echo server in its own process, for bench/loopback-baseline.ts. */
import net from 'node:net';
import { serveCommands } from './command-loop.js';
import type { EchoCommands } from './echo-commands.js';

let server: net.Server | undefined;

serveCommands<EchoCommands>(
  {
    listen: () =>
      new Promise((resolve, reject) => {
        const s = net.createServer({ noDelay: true }, (socket) => {
          socket.on('data', (chunk) => socket.write(chunk));
          socket.on('error', () => undefined);
        });
        server = s;
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
          const address = s.address();
          if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
          else resolve({ port: address.port });
        });
      }),
  },
  {
    beforeExit: () =>
      new Promise<void>((resolve) => {
        if (server === undefined) resolve();
        else server.close(() => {
          resolve();
        });
      }),
  },
);
