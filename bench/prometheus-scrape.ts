/**
 * Has a real Prometheus scrape a real herald: starts `herald serve` (bin/herald.js over dist/; run
 * `npm run build` first) and /usr/bin/prometheus (Debian's `prometheus` package) with a temporary
 * configuration, both on loopback and free ports, then asks Prometheus's HTTP API until it reports
 * `up{job="herald"} == 1` and holds herald_* series. Exits 0 when it does within --timeout-s, 1 when
 * not (printing what it saw and both processes' last lines). Not a benchmark: a check the tests run
 * (test/server/metrics/prometheus-scrape.test.ts) and an operator can run by hand.
 *
 *   npx tsx bench/prometheus-scrape.ts [--auth] [--timeout-s 30]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { bool, int, parseFlags, text } from './lib/flags.js';

const { flags } = parseFlags(
  {
    script: 'bench/prometheus-scrape.ts',
    about: `Starts herald (bin/herald.js over dist/: npm run build first) and a real Prometheus
(Debian's prometheus package) on loopback free ports with a temporary scrape configuration, and
waits until Prometheus's HTTP API reports up{job="herald"} == 1 and herald_* series. Exits 0 on
success, 1 on failure or timeout. With --auth herald runs with an auth file and Prometheus sends a
monitoring account's static token (authorization: Bearer in the scrape config).`,
  },
  {
    prometheus: text('<path>', 'the Prometheus server binary', '/usr/bin/prometheus', (v) => v),
    timeoutS: int('seconds to wait for a successful scrape', 30),
    auth: bool('turn auth on in herald and scrape with a bearer token (read on every namespace)'),
  },
);

const started: ChildProcess[] = [];
const tail: string[] = [];

function remember(name: string, child: ChildProcess): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (l) => {
      tail.push(`${name}: ${l}`);
      if (tail.length > 40) tail.shift();
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

/** Starts herald and resolves with its HTTP port once it serves. */
async function startHerald(args: readonly string[]): Promise<number> {
  // --data-dir none: nothing here is persistent, and the default ./data may be held (locked) by a
  // server the operator runs from the same checkout, as `npm start` does while CI runs the tests.
  const serveArgs = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--udp-push', 'off', '--data-dir', 'none', ...args];
  const child = spawn(process.execPath, ['bin/herald.js', ...serveArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  remember('herald', child);
  return new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (l) => {
      const m = /herald is serving.*"http":"[^"]*:(\d+)"|"http":"[^"]*:(\d+)".*herald is serving/.exec(l);
      if (m !== null) resolve(Number(m[1] ?? m[2]));
    });
    child.on('exit', (code) => {
      reject(new Error(`herald exited (${code}) before serving`));
    });
  });
}

interface QueryAnswer {
  readonly status: string;
  readonly data?: { readonly result: readonly { readonly metric: Record<string, string>; readonly value: [number, string] }[] };
}

async function query(port: number, promql: string): Promise<QueryAnswer['data']> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as QueryAnswer;
  return body.status === 'success' ? body.data : undefined;
}

async function main(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-prometheus-'));
  try {
    let heraldArgs: string[] = [];
    let authorization = '';
    if (flags.auth) {
      const { createHash, randomBytes } = await import('node:crypto');
      const token = randomBytes(24).toString('base64url');
      const digest = `sha256:${createHash('sha256').update(token).digest('hex')}`;
      await writeFile(join(dir, 'auth.yaml'), `users:\n  - name: prometheus\n    tokens: ["${digest}"]\n    roles: [{ namespace: "*", permission: read }]\n`);
      await writeFile(join(dir, 'token'), token);
      heraldArgs = ['--auth-file', join(dir, 'auth.yaml')];
      authorization = `    authorization:\n      type: Bearer\n      credentials_file: ${join(dir, 'token')}\n`;
    }
    const httpPort = await startHerald(heraldArgs);
    const promPort = await freePort();
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: herald\n${authorization}    static_configs:\n      - targets: ["127.0.0.1:${httpPort}"]\n`,
    );
    const prometheus = spawn(
      flags.prometheus,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(prometheus);
    remember('prometheus', prometheus);
    const state = { exited: false };
    prometheus.on('exit', () => {
      state.exited = true;
    });
    prometheus.on('error', (e) => {
      tail.push(`prometheus: ${e.message}`);
      state.exited = true;
    });
    const deadline = Date.now() + flags.timeoutS * 1000;
    let seen = 'nothing yet';
    // Prometheus is another process with no event to wait on: ask its API every quarter second, within the deadline.
    while (Date.now() < deadline && !state.exited) {
      try {
        const up = await query(promPort, 'up{job="herald"} == 1');
        const series = await query(promPort, 'count({__name__=~"herald_.+", job="herald"})');
        const ready = await query(promPort, 'herald_ready{job="herald"}');
        const count = Number(series?.result[0]?.value[1] ?? 0);
        seen = `up=${up?.result.length === 1 ? 1 : 0}, herald series=${count}, herald_ready=${ready?.result[0]?.value[1] ?? 'absent'}`;
        if (up?.result.length === 1 && count > 0) {
          console.log(`Prometheus scraped herald at 127.0.0.1:${httpPort}: ${seen}`);
          return true;
        }
      } catch {
        seen = 'Prometheus not answering yet';
      }
      await delay(250);
    }
    console.error(`no successful scrape within ${flags.timeoutS} s (${state.exited ? 'Prometheus exited' : seen})\n${tail.join('\n')}`);
    return false;
  } finally {
    const running = started.filter((c) => c.pid !== undefined && c.exitCode === null && c.signalCode === null);
    const ended = running.map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const c of running) c.kill('SIGTERM');
    await Promise.all(ended);
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit((await main()) ? 0 : 1);
