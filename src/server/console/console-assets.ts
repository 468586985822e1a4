/**
 * The console page's files, read once at start from the build output (dist/console-page, made by
 * `npm run build`). Assets are served under a path named for a digest of their contents, so they
 * can be cached for good (modules import each other relatively and stay under the same path); the
 * page itself is revalidated every time, so a new build is picked up on the next load.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files as `npm run build` leaves them (same path from src/ under tsx and from dist/). */
export const DEFAULT_CONSOLE_ASSETS_DIR = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist', 'console-page');

/** Where the page's asset paths point in index.html, replaced by the versioned path when served. */
const ASSETS_PLACEHOLDER = '__ASSETS__';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface ConsoleAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface ConsoleAssets {
  /** Digest of every file: the versioned path segment. */
  readonly version: string;
  /** The page, its asset paths pointing at `/console/assets/<version>/`. */
  readonly index: Buffer;
  /** A file by name (no directories), or undefined. */
  asset(name: string): ConsoleAsset | undefined;
}

/** Reads the page's files, or undefined when `dir` holds no index.html (the console was not built). */
export function loadConsoleAssets(dir: string): ConsoleAssets | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, ConsoleAsset>();
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined || name === 'index.html') continue;
    const body = readFileSync(join(dir, name));
    hash.update(name).update('\u0000').update(body);
    files.set(name, { body, contentType });
  }
  const page = readFileSync(join(dir, 'index.html'), 'utf8');
  hash.update(page);
  const version = hash.digest('hex').slice(0, 16);
  return {
    version,
    index: Buffer.from(page.split(ASSETS_PLACEHOLDER).join(`/console/assets/${version}`)),
    asset: (name) => files.get(name),
  };
}
