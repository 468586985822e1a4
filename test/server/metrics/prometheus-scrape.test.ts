/**
 * A real Prometheus (Debian's prometheus package) scrapes a real `herald serve` with auth on, sending
 * a monitoring account's bearer token: bench/prometheus-scrape.ts, run as an operator would.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROMTOOL, prometheusMissing } from '../../support/prometheus.js';

const run = promisify(execFile);
const missing = prometheusMissing();

describe('a real Prometheus scrape', () => {
  it.skipIf(missing !== undefined)('promtool accepts the example alerting rules of docs/operations.md', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', 'docs/prometheus/herald-alerts.yml']);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(missing !== undefined)('Prometheus reports up{job="herald"} == 1 and herald_* series, scraping with a bearer token', { timeout: 90_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/prometheus-scrape.ts', '--auth', '--timeout-s', '60'], { timeout: 80_000 });
    expect(stdout).toMatch(/Prometheus scraped herald at 127\.0\.0\.1:\d+: up=1, herald series=\d+, herald_ready=1/);
  });
});
