/**
 * Tests that run the `herald` command use the compiled dist/. `npm test` builds first; when vitest
 * runs alone, this rebuilds dist/ (and the console page) if any source file is newer than it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

export default function setup(): void {
  let built: number;
  try {
    built = statSync('dist/cli/main.js').mtimeMs;
  } catch {
    built = 0;
  }
  if (built === 0 || newest('src') > built) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
  let page: number;
  try {
    page = statSync('dist/console-page/main.js').mtimeMs;
  } catch {
    page = 0;
  }
  if (page === 0 || newest('src/console') > page) execFileSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'inherit' });
}
