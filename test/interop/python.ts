/**
 * Debian's Python gRPC (python3-grpcio, python3-grpc-tools) under /usr/bin/python3, used by the
 * interop tests. `.ci/run` installs both; elsewhere the tests are skipped with the reason.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Why the Python interop tests cannot run here, or undefined when they can. With
 * HERALD_REQUIRE_INTEROP=1 (set by .ci/run) a missing package is an error, not a skip.
 */
export function pythonGrpcMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'pipe' });
    return undefined;
  } catch {
    const reason = `${PYTHON} lacks grpc/grpc_tools: install Debian's python3-grpcio and python3-grpc-tools (.ci/run does)`;
    if (process.env.HERALD_REQUIRE_INTEROP === '1') throw new Error(reason);
    return reason;
  }
}

function wktInclude(): string {
  return execFileSync(PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))'])
    .toString()
    .trim();
}

function protoc(out: string, includes: string[], files: string[]): void {
  execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', ...includes.map((i) => `-I${i}`), `--python_out=${out}`, `--grpc_python_out=${out}`, ...files], {
    stdio: 'pipe',
  });
}

/** Generates herald's Python stubs from proto/ into a fresh directory. */
export function generateHeraldStubs(): string {
  const out = mkdtempSync(join(tmpdir(), 'herald-py-'));
  const protoDir = join(repo, 'proto');
  const files = readdirSync(join(protoDir, 'herald', 'v1')).map((f) => join(protoDir, 'herald', 'v1', f));
  protoc(out, [protoDir, wktInclude()], files);
  return out;
}

/** Generates reflection v1 and v1alpha stubs from the protos @grpc/reflection ships. */
export function generateReflectionStubs(): string {
  const out = mkdtempSync(join(tmpdir(), 'herald-refl-'));
  const protoDir = join(repo, 'node_modules', '@grpc', 'reflection', 'build', 'proto');
  protoc(out, [protoDir], [join(protoDir, 'grpc/reflection/v1/reflection.proto'), join(protoDir, 'grpc/reflection/v1alpha/reflection.proto')]);
  return out;
}

/** Runs a script from test/interop and parses the JSON it prints on its last line. */
export function runPython<T>(script: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [join(repo, 'test', 'interop', script), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
        return;
      }
      const last = stdout.trim().split('\n').at(-1) ?? '';
      resolve(JSON.parse(last) as T);
    });
  });
}
