// Packs the SDK alone as `herald-client`, from the same dist/ the `herald` package ships: the import
// closure of dist/client/index.js (its .js and .d.ts files, found by following relative imports), a
// package.json with only the dependencies that closure imports, LICENSE, and docs/client.md as the
// README. Nothing is written into the repository: the package is staged in a temporary directory and
// `npm pack` writes the tarball to --pack-destination (default: the current directory).
//
//   npm run build && npm run pack:client -- --pack-destination /tmp/out
//
// Prints the tarball's path. Fails when dist/ is missing, or when the SDK's closure reaches a server
// layer (DESIGN §5: the SDK depends on core's model only).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_PACKAGE = 'herald-client';
const ENTRY = 'dist/client/index.js';
/** Folders of dist/ the SDK may reach; anything else (server, cli, store, …) is a layering error. */
const ALLOWED = ['dist/client/', 'dist/core/', 'dist/common/', 'dist/gen/'];

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The files dist/client/index.js needs (with their .d.ts) and the packages they import. */
export function clientClosure(root = repo) {
  const files = new Set();
  const packages = new Set();
  const queue = [ENTRY, ENTRY.replace(/\.js$/, '.d.ts')];
  while (queue.length > 0) {
    const file = queue.pop();
    if (files.has(file)) continue;
    if (!ALLOWED.some((dir) => file.startsWith(dir))) throw new Error(`the SDK's closure reaches ${file}; the SDK may use only ${ALLOWED.join(', ')}`);
    files.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = m[1];
      if (specifier.startsWith('.')) {
        const target = posix.join(posix.dirname(file), specifier);
        for (const candidate of [target, target.replace(/\.js$/, '.d.ts')]) if (existsSync(join(root, candidate))) queue.push(candidate);
      } else if (!specifier.startsWith('node:')) {
        packages.add(packageOf(specifier));
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

function parseArgs(argv) {
  let destination = process.cwd();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--pack-destination' && argv[i + 1] !== undefined) destination = resolve(argv[++i]);
    else throw new Error(`usage: pack-client.mjs [--pack-destination <dir>] (got ${argv[i]})`);
  }
  return { destination };
}

function main() {
  const { destination } = parseArgs(process.argv.slice(2));
  if (!existsSync(join(repo, ENTRY))) throw new Error(`${ENTRY} is missing; run \`npm run build\` first`);
  const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const { files, packages } = clientClosure();
  const dependencies = {};
  for (const name of packages) {
    const range = root.dependencies?.[name];
    if (range === undefined) throw new Error(`the SDK imports ${name}, which is not a dependency of ${root.name}`);
    dependencies[name] = range;
  }
  const stage = mkdtempSync(join(tmpdir(), 'herald-client-pack-'));
  try {
    for (const file of files) {
      mkdirSync(join(stage, dirname(file)), { recursive: true });
      copyFileSync(join(repo, file), join(stage, file));
    }
    copyFileSync(join(repo, 'LICENSE'), join(stage, 'LICENSE'));
    const readme = readFileSync(join(repo, 'docs/client.md'), 'utf8');
    writeFileSync(
      join(stage, 'README.md'),
      `> The herald client SDK alone (\`${CLIENT_PACKAGE}\`), packed from herald ${root.version}; the server and the \`herald\` command are the \`herald\` package.\n\n${readme}`,
    );
    const pkg = {
      name: CLIENT_PACKAGE,
      version: root.version,
      description: `The herald client SDK: registrations with heartbeats, a push-fed service cache, selection. The server is the \`herald\` package.`,
      license: root.license,
      type: 'module',
      main: './dist/client/index.js',
      types: './dist/client/index.d.ts',
      exports: { '.': { types: './dist/client/index.d.ts', import: './dist/client/index.js' }, './package.json': './package.json' },
      files: ['dist/', 'LICENSE'],
      engines: root.engines,
      dependencies,
    };
    writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    mkdirSync(destination, { recursive: true });
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
      cwd: stage,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [{ filename }] = JSON.parse(out);
    process.stdout.write(`${join(destination, filename)}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`pack-client: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
