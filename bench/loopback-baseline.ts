/**
 * The machine's floor for every latency in these benchmarks: round trips of a 64-byte message over
 * loopback TCP between two Node processes (no gRPC, no HTTP/2), back to back and with an idle gap
 * before each one. On a virtual machine the gap shows what waking an idle process costs.
 *
 *   npx tsx bench/loopback-baseline.ts --help
 */
import net from 'node:net';
import { ChildHandle } from './lib/child-handle.js';
import { int, parseFlags } from './lib/flags.js';
import { printHeader, printRows, writeResults } from './lib/report.js';
import { summarize, type LatencySummary } from './lib/stats.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import type { EchoCommands } from './loopback-baseline/echo-main.js';

const { flags } = parseFlags(
  {
    script: 'bench/loopback-baseline.ts',
    about: `The latency floor of the machine: round trips of 64 bytes over loopback TCP between two Node
processes (no gRPC), back to back and after 1, 10 and 100 ms idle. Prints a table and writes
bench/results/loopback-baseline.json.`,
    quick: 'fewer round trips',
  },
  {
    roundTrips: int('back-to-back round trips', 5000, 1000),
    gapped: int('round trips after each idle gap', 500, 200),
  },
);
const { roundTrips, gapped } = flags;
const GAPS_MS = [1, 10, 100];

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Times `count` round trips, waiting `gapMs` before each (0 = back to back). */
async function measure(socket: net.Socket, count: number, gapMs: number): Promise<LatencySummary> {
  const message = Buffer.alloc(64, 1);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    if (gapMs > 0) await sleep(gapMs);
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (chunk: Buffer): void => {
        got += chunk.length;
        if (got < message.length) return;
        socket.off('data', onData);
        resolve();
      };
      socket.on('data', onData);
      socket.write(message);
    });
    latencies.push(performance.now() - t0);
  }
  return summarize(latencies);
}

armWatchdog(5 * 60_000);
const machine = printHeader('loopback TCP round trip between two Node processes (the latency floor)', { roundTrips, gappedRoundTrips: gapped, gapsMs: GAPS_MS });
const echo = await ChildHandle.spawn<EchoCommands>({ name: 'echo', script: new URL('./loopback-baseline/echo-main.ts', import.meta.url) });
const rows: { readonly mode: string; readonly latencyMs: LatencySummary }[] = [];
try {
  const { port } = await echo.request('listen', undefined);
  const socket = await connect(port);
  await measure(socket, 200, 0);
  rows.push({ mode: 'back to back', latencyMs: await measure(socket, roundTrips, 0) });
  for (const gap of GAPS_MS) rows.push({ mode: `after ${gap} ms idle`, latencyMs: await measure(socket, gapped, gap) });
  socket.destroy();
} finally {
  await echo.exit();
}
printRows('Round trip of 64 bytes (ms):', rows, [
  ['mode', (r) => r.mode],
  ['count', (r) => r.latencyMs.count],
  ['p50', (r) => r.latencyMs.p50],
  ['p90', (r) => r.latencyMs.p90],
  ['p99', (r) => r.latencyMs.p99],
  ['max', (r) => r.latencyMs.max],
]);
console.log(`wrote ${await writeResults('loopback-baseline', { machine, rows })}`);
