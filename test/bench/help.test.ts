/**
 * Every benchmark answers --help: a usage line and its flags, exit 0, and starts nothing (no server,
 * no load). Catches a benchmark whose flags or imports broke, without running it.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BENCHES = readdirSync('bench').filter((f) => f.endsWith('.ts'));

describe('benchmarks', () => {
  it.each(BENCHES)('%s answers --help', { timeout: 60_000 }, async (file) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', `bench/${file}`, '--help'], { timeout: 50_000 });
    expect(stdout).toMatch(/usage/i);
    expect(stdout).toMatch(/--/);
  });
});
