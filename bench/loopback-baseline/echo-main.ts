/** A TCP echo server in its own process, for bench/loopback-baseline.ts (started by it, never by hand). */
import net from 'node:net';
import { serveCommands } from '../lib/command-loop.js';

/** The echo process's commands (the parent imports this type only). */
export interface EchoCommands {
  /** Starts a TCP echo server on 127.0.0.1, port 0. */
  listen: { arg: undefined; result: { port: number } };
}

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
