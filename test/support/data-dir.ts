/** A temporary data directory for a `herald serve` process (removed when the test ends). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './server.js';

export function tempDataDir(prefix = 'herald-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** `args` with `--data-dir <a temporary directory>` unless they name one: no test writes ./data. */
export function withDataDir(args: readonly string[]): string[] {
  return args.includes('--data-dir') ? [...args] : [...args, '--data-dir', tempDataDir()];
}
