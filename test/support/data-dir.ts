/**
 * Temporary data directories for `herald serve` processes. No vitest import here: benchmarks (the
 * cluster-faults bench) and processes run outside vitest use these helpers too. The directories
 * are removed after each test (test/support/server.ts calls removeTempDataDirs once the test's
 * servers are stopped) and, for everything else, when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

export function tempDataDir(prefix = 'herald-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory made so far. */
export function removeTempDataDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

process.once('exit', removeTempDataDirs);

/** `args` with `--data-dir <a temporary directory>` unless they name one: no test writes ./data. */
export function withDataDir(args: readonly string[]): string[] {
  return args.includes('--data-dir') ? [...args] : [...args, '--data-dir', tempDataDir()];
}
