/**
 * Free TCP ports on 127.0.0.1 for servers that must know each other's addresses before they start
 * (cluster nodes list their peers). Each port is found by binding port 0 and closing again, so
 * another process could take it in between; on 127.0.0.1 of a benchmark machine that does not
 * happen in practice, and a node that cannot bind fails its start loudly.
 */
import { createServer } from 'node:net';

function onePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        if (port === 0) reject(new Error('no port'));
        else resolve(port);
      });
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await onePort());
  return [...ports];
}
