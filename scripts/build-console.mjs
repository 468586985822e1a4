// Builds the web console (src/console) into dist/console-page: its TypeScript compiled by the
// project's own tsc to ES modules the browser loads as they are (no bundler, no extra dependency;
// see docs/console.md), then its static files copied beside them.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console-page`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}src/console/tsconfig.json`], { stdio: 'inherit' });
cpSync(`${root}src/console/static`, out, { recursive: true });
