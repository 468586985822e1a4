// Generates TypeScript for the xDS messages and the ADS service (issue #17) from the protos the
// installed @grpc/grpc-js-xds ships under deps/ (envoy-api, xds + udpa, googleapis,
// protoc-gen-validate), with ts-proto and the same options as herald's own (buf.gen.yaml), into
// src/gen/xds. Never typed by hand, never committed. Run by `npm run gen` after buf generate (whose
// `clean` empties src/gen).
//
// buf needs one source tree, so the four roots are staged into a temporary directory. One patch:
// the validate.proto shipped in deps/ predates `StringRules.ignore_empty`, which envoy-api's
// core/v3/protocol.proto uses in an option; protobufjs ignores options, buf resolves them. The patch
// adds that one field with its upstream number (26) and is skipped once the shipped file has it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The files generated (their imports come along); keep in step with docs/xds.md. */
export const XDS_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
];

const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = join(repo, 'src', 'gen', 'xds');
const plugin = join(repo, 'node_modules', '.bin', 'protoc-gen-ts_proto');
const own = parse(readFileSync(join(repo, 'buf.gen.yaml'), 'utf8'));
const opt = own.plugins.find((p) => p.local === 'protoc-gen-ts_proto').opt;

const stage = mkdtempSync(join(tmpdir(), 'herald-xds-protos-'));
try {
  const proto = join(stage, 'proto');
  for (const [root, dir] of [
    ['envoy-api', 'envoy'],
    ['xds', 'xds'],
    ['xds', 'udpa'],
    ['googleapis', 'google'],
    ['protoc-gen-validate', 'validate'],
  ]) {
    cpSync(join(deps, root, dir), join(proto, dir), { recursive: true });
  }
  const validate = join(proto, 'validate', 'validate.proto');
  const text = readFileSync(validate, 'utf8');
  if (!/\bignore_empty\s*=\s*26\b/.test(text.slice(text.indexOf('message StringRules {')))) {
    // The shipped file has CRLF line ends.
    const anchor = /message StringRules \{\r?\n/;
    if (!anchor.test(text)) throw new Error(`gen-xds: ${validate} has no StringRules to patch`);
    writeFileSync(validate, text.replace(anchor, (m) => `${m}    optional bool ignore_empty = 26;\n`));
  }
  writeFileSync(join(stage, 'buf.yaml'), 'version: v2\nmodules:\n  - path: proto\n');
  const template = {
    version: 'v2',
    clean: true,
    inputs: [{ directory: 'proto', paths: XDS_PROTO_FILES.map((f) => `proto/${f}`) }],
    plugins: [{ local: plugin, out, opt }],
  };
  writeFileSync(join(stage, 'buf.gen.yaml'), JSON.stringify(template));
  execFileSync('buf', ['generate'], { cwd: stage, stdio: 'inherit' });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
