/**
 * Debian's `prometheus` package (/usr/bin/promtool, /usr/bin/prometheus) for the tests that check
 * herald's /metrics with Prometheus's own tools. Missing binaries skip those tests with a message,
 * unless HERALD_REQUIRE_PROMETHEUS=1 (CI sets it), which makes them fail instead.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const PROMTOOL = process.env.HERALD_PROMTOOL ?? '/usr/bin/promtool';
export const PROMETHEUS = process.env.HERALD_PROMETHEUS ?? '/usr/bin/prometheus';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why the Prometheus tests cannot run here (undefined: they can); throws when they are required. */
export function prometheusMissing(): string | undefined {
  const missing = [PROMTOOL, PROMETHEUS].filter((p) => !executable(p));
  if (missing.length === 0) return undefined;
  const why = `${missing.join(' and ')} not found: install Debian's "prometheus" package (apt-get install prometheus) to run the Prometheus tests`;
  if (process.env.HERALD_REQUIRE_PROMETHEUS === '1') throw new Error(`HERALD_REQUIRE_PROMETHEUS=1 but ${why}`);
  console.warn(`skipping: ${why}`);
  return why;
}

/** Runs `promtool check metrics` over an exposition; resolves with its exit code and output. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      resolve({ code, output });
    });
    p.stdin.end(text);
  });
}
