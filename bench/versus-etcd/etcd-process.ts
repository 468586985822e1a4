/**
 * etcd (Debian's etcd-server, /usr/bin/etcd) as the benchmark's other server: one member on
 * 127.0.0.1, free client and peer ports, a fresh temporary data directory, default settings
 * otherwise (quota, snapshot count, no auto-compaction). Its CPU and memory are read from /proc,
 * since it answers no IPC. The benchmark installs nothing: without /usr/bin/etcd it says how to
 * get it and exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { trackChild } from '../lib/child-handle.js';
import type { ProcessUsage } from '../lib/process-usage.js';
import { wallNowMs } from '../lib/wall-clock.js';

export const ETCD_BIN = '/usr/bin/etcd';

/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS_PER_S = 100;

/** Exits 1 with what to install when etcd is not there (before anything is started). */
export function requireEtcd(): void {
  if (existsSync(ETCD_BIN)) return;
  console.error(`bench/versus-etcd.ts: etcd not found at ${ETCD_BIN}; \`apt-get install etcd-server\` (Debian, Ubuntu) provides it (etcd 3.4)`);
  process.exit(1);
}

/** The version line etcd prints (`etcd Version: 3.4.23`), for the report. */
export async function etcdVersion(): Promise<string> {
  const child = spawn(ETCD_BIN, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
}

/** A free TCP port on 127.0.0.1 (bind 0, close); etcd takes its ports as flags, so they are picked just before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        if (port === 0) reject(new Error('no port'));
        else resolve(port);
      });
    });
  });
}

/** Resident memory of a process, from /proc/<pid>/status. */
export interface ResidentMemory {
  readonly rssBytes: number;
  /** Anonymous memory (Go heap, stacks). */
  readonly anonBytes: number;
  /** File-backed pages (etcd's bbolt database is mmap'ed, so its pages count here). */
  readonly fileBytes: number;
}

function statusKb(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m === null ? Number.NaN : Number(m[1]) * 1024;
}

export class EtcdProcess {
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  /** Starts etcd and resolves once it serves clients (a leader is elected). */
  static async start(): Promise<EtcdProcess> {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-versus-etcd-'));
    const removeDir = (): void => {
      rmSync(dataDir, { recursive: true, force: true });
    };
    process.once('exit', removeDir); // the watchdog's exit path too
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const child = spawn(
      ETCD_BIN,
      [
        '--name=bench',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=bench=${peer}`,
        '--logger=zap',
        '--log-outputs=stderr',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    trackChild(child);
    const etcd = new EtcdProcess(child, dataDir, clientPort);
    child.once('exit', () => {
      removeDir();
      process.off('exit', removeDir);
    });
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stderr });
      const timer = setTimeout(() => {
        reject(new Error(`etcd did not serve within 30 s:\n${etcd.tail.join('\n')}`));
      }, 30_000);
      lines.on('line', (line) => {
        etcd.tail.push(line);
        if (etcd.tail.length > 20) etcd.tail.shift();
        if (line.includes('serving client traffic')) {
          clearTimeout(timer);
          resolve();
        } else if (/"level":"(error|dpanic|panic|fatal)"/.test(line)) console.error(`[etcd] ${line}`); // its warnings (slow applies, plain-text tokens) are noise here
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`etcd exited (${String(code)}) before serving:\n${etcd.tail.join('\n')}`));
      });
    }).catch(async (e: unknown) => {
      await etcd.stop();
      throw e;
    });
    return etcd;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** CPU (all of etcd's threads) and RSS from /proc; etcd has no event loop, so ELU and stalls stay 0 and run delay NaN. */
  usage(): Promise<ProcessUsage> {
    const stat = readFileSync(`/proc/${String(this.child.pid)}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tickUs = 1e6 / CLOCK_TICKS_PER_S;
    return Promise.resolve({
      atMs: wallNowMs(),
      cpuUserUs: Number(fields[11]) * tickUs,
      cpuSystemUs: Number(fields[12]) * tickUs,
      eluIdleMs: 0,
      eluActiveMs: 0,
      rssBytes: this.memory().rssBytes,
      loopDelayP99Ms: 0,
      loopDelayMaxMs: 0,
      gcMaxPauseMs: 0,
      gcTotalPauseMs: 0,
      runDelayUs: Number.NaN, // many Go threads, no one event loop to speak for
    });
  }

  memory(): ResidentMemory {
    const status = readFileSync(`/proc/${String(this.child.pid)}/status`, 'utf8');
    return { rssBytes: statusKb(status, 'VmRSS'), anonBytes: statusKb(status, 'RssAnon'), fileBytes: statusKb(status, 'RssFile') };
  }

  /** SIGTERM (etcd's graceful stop), SIGKILL after 10 s; the data directory is removed when it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
