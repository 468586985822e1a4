/** Runs the real `herald` command (bin/herald.js over dist/) as a child process. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { withDataDir } from './data-dir.js';
import { onCleanup } from './server.js';

export interface HeraldProcess {
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first line (stdout or stderr) matching `re`, including lines already seen. */
  line(re: RegExp, stream?: 'stdout' | 'stderr'): Promise<string>;
  /** Resolves with the exit code once the process exits. */
  readonly exited: Promise<number | null>;
}

export function herald(args: string[], env: Record<string, string> = {}): HeraldProcess {
  // A server gets a data directory of its own, so no test writes ./data or sees another's store.
  const argv = args[0] === 'serve' && env.HERALD_DATA_DIR === undefined ? withDataDir(args) : args;
  const proc = spawn(process.execPath, ['bin/herald.js', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { re: RegExp; stream: 'stdout' | 'stderr' | undefined; resolve: (l: string) => void }[] = [];
  const feed = (stream: 'stdout' | 'stderr', store: string[]) => (l: string) => {
    store.push(l);
    for (const w of [...waiters]) {
      if ((w.stream === undefined || w.stream === stream) && w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  createInterface({ input: proc.stdout }).on('line', feed('stdout', stdout));
  createInterface({ input: proc.stderr }).on('line', feed('stderr', stderr));
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      resolve(code);
    });
  });
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return {
    proc,
    stdout,
    stderr,
    exited,
    line: (re, stream) => {
      const seen = [...(stream !== 'stderr' ? stdout : []), ...(stream !== 'stdout' ? stderr : [])].find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ re, stream, resolve });
        void exited.then((code) => {
          reject(new Error(`herald ${args.join(' ')} exited (${code}) before printing ${re}:\n${[...stdout, ...stderr].join('\n')}`));
        });
      });
    },
  };
}

/** Runs `herald serve` on 127.0.0.1 and resolves once it serves, with its port. */
export async function serve(args: string[] = []): Promise<HeraldProcess & { port: number }> {
  const p = herald(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', ...args]);
  const line = await p.line(/herald is serving/, 'stderr');
  const { address } = JSON.parse(line) as { address: string };
  return Object.assign(p, { port: Number(address.split(':').at(-1)) });
}

/** Runs a command to completion. */
export async function heraldOnce(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = herald(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}
