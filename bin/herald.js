#!/usr/bin/env node
// The `herald` command. Runs the compiled CLI (dist/, built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('herald: dist/ is missing; run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
const { run } = await import(entry.href);
await run(process.argv);
