/**
 * The web console on a large service: a real HeraldServer (console on, HTTP on a free port) holding
 * one service of --instances instances, and the page in Debian's Chromium (headless, playwright-core).
 * Measures the page load until every instance is counted, how many row elements the virtual list
 * keeps, the time from a registration to the page showing it (pushed through the event stream;
 * measured in this process, registry call included), and a scroll to the middle until its rows are
 * rendered. Prints a table and writes bench/results/console.json.
 *
 *   npx tsx bench/console.ts --help
 *   npx tsx bench/console.ts --quick
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { silentLogger } from '../src/common/logger.js';
import { HeraldServer } from '../src/server/herald-server.js';
import { int, parseFlags } from './lib/flags.js';
import { printHeader, printRows, writeResults } from './lib/report.js';

const CHROMIUM = '/usr/bin/chromium';

const { flags } = parseFlags(
  {
    script: 'bench/console.ts',
    about: `The web console on one service of --instances instances: page load until all are counted, row
elements kept by the virtual list, registration-to-page latency over --changes registrations (one at
a time, pushed through the event stream), and a scroll to the middle. Needs ${CHROMIUM}. Writes
bench/results/console.json.`,
    quick: 'a smaller service and fewer changes',
  },
  {
    instances: int('instances in the service', 10_000, 2_000),
    changes: int('registrations timed one at a time', 50, 10),
  },
);

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing (Debian: apt-get install chromium)`);
  process.exit(1);
}

const machine = printHeader('herald: the web console on a large service', { instances: flags.instances, changes: flags.changes });
const server = await HeraldServer.start({
  logger: silentLogger,
  config: { host: '127.0.0.1', port: 0, httpPort: 0, registry: { maxInstancesPerService: flags.instances + flags.changes } },
});
const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'big' };
const ipOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
for (let i = 0; i < flags.instances; i++) {
  server.registry.register({ ...ref, instance: { ip: ipOf(i), port: 8080, metadata: { zone: `z${i % 3}`, version: '1.2.3' } } }, { transport: 'grpc' });
}

const userDataDir = mkdtempSync(join(tmpdir(), 'herald-bench-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  viewport: { width: 1440, height: 820 },
  // The page's CSP forbids eval; the measuring expressions below are evaluated by playwright.
  bypassCSP: true,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // Page-side expressions are strings: this project's TypeScript has no DOM types outside src/console.
  const shows = (count: number): string => `document.getElementById('service-stats')?.textContent?.startsWith(${JSON.stringify(count.toLocaleString('en-US'))}) === true`;
  let t = performance.now();
  await page.goto(`http://127.0.0.1:${server.httpPort ?? 0}/#/ns/public/svc/DEFAULT_GROUP/big`);
  await page.waitForFunction(shows(flags.instances), undefined, { polling: 'raf', timeout: 120_000 });
  const loadMs = performance.now() - t;
  const rowElements = Number(await page.evaluate("document.querySelectorAll('#instances .row').length"));

  const latencies: number[] = [];
  for (let k = 0; k < flags.changes; k++) {
    t = performance.now();
    const seen = page.waitForFunction(shows(flags.instances + k + 1), undefined, { polling: 'raf' });
    server.registry.register({ ...ref, instance: { ip: ipOf(flags.instances + k), port: 9090 } }, { transport: 'grpc' });
    await seen;
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);

  t = performance.now();
  const middle = Math.floor(flags.instances / 2);
  await page.evaluate(`document.getElementById('instances').scrollTop = ${middle * 34}`);
  await page.waitForFunction(`Number(document.querySelector('#instances .row:not([hidden])')?.dataset.index) >= ${middle - 10}`, undefined, { polling: 'raf' });
  const scrollMs = performance.now() - t;

  const result = {
    instances: flags.instances,
    loadMs: Math.round(loadMs),
    rowElements,
    pushMedianMs: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
    pushMaxMs: Math.round(latencies.at(-1) ?? 0),
    scrollMs: Math.round(scrollMs),
  };
  printRows(
    'the page on one large service',
    [result],
    [
      ['instances', (r) => r.instances],
      ['load to all counted (ms)', (r) => r.loadMs],
      ['row elements', (r) => r.rowElements],
      ['registration to page, median (ms)', (r) => r.pushMedianMs],
      ['max (ms)', (r) => r.pushMaxMs],
      ['scroll to middle (ms)', (r) => r.scrollMs],
    ],
  );
  console.log(`\nwrote ${await writeResults('console', { machine, settings: flags, result })}`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
  await server.close();
}
