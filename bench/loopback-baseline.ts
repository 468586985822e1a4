/**
 * The machine's floor for every latency in these benchmarks: round trips of a 64-byte message over
 * loopback TCP between two Node processes (no gRPC, no HTTP/2), back to back and with an idle gap
 * before each one. On a virtual machine the gap shows what waking an idle process costs.
 *
 *   npx tsx bench/loopback-baseline.ts [--quick]
 *
 * Writes bench/results/loopback-baseline.json.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { ChildHandle } from './lib/child-handle.js';
import type { EchoCommands } from './lib/echo-commands.js';
import { printHeader, printTable, writeResults } from './lib/report.js';
import { summarize, type LatencySummary } from './lib/stats.js';
import { sleep } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const roundTrips = values.quick ? 1000 : 5000;
const gapped = values.quick ? 200 : 500;
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
const echo = await ChildHandle.spawn<EchoCommands>({ name: 'echo', script: new URL('./lib/echo-main.ts', import.meta.url) });
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
printTable(
  'Round trip of 64 bytes (ms):',
  ['mode', 'count', 'p50', 'p90', 'p99', 'max'],
  rows.map((r) => [r.mode, r.latencyMs.count, r.latencyMs.p50, r.latencyMs.p90, r.latencyMs.p99, r.latencyMs.max]),
);
console.log(`wrote ${await writeResults('loopback-baseline', { machine, rows })}`);
