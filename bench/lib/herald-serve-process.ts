/**
 * The real `herald serve` (bin/herald.js over dist/, its own defaults, the flags a benchmark gives)
 * in its own process, with serve-probe.mjs preloaded so the benchmark can sample its memory and
 * HTTP/2 state over IPC. Ready when it logs "herald is serving" (as test/support/cli.ts waits for it).
 * Build first (`npm run build`): the server runs the compiled code, not the sources.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ChildHandle } from './child-handle.js';
import type { ProcessUsage } from './process-usage.js';

export interface ServeMemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  /** V8's own malloc'd memory (v8.getHeapStatistics().malloced_memory). */
  readonly mallocedBytes: number;
  /** RSS by mapping (/proc/self/smaps): glibc's brk heap, other anonymous memory (V8 pages among it), files. */
  readonly resident: { readonly brkHeapBytes: number; readonly anonymousBytes: number; readonly fileBytes: number } | undefined;
  readonly spaces: readonly { readonly name: string; readonly sizeBytes: number; readonly usedBytes: number }[];
  /**
   * Collections since start, by kind (PerformanceObserver 'gc' entries; forced ones included);
   * `reducing`: full collections made to reduce memory (V8's memory reducer on an idle heap).
   */
  readonly gcCounts: { readonly minor: number; readonly major: number; readonly incremental: number; readonly weakCallbacks: number; readonly reducing: number };
}

/** The server's HTTP/2 state as the probe sees it (see serve-probe.mjs). */
export interface Http2Sample {
  readonly sessions: number;
  readonly streams: number;
  readonly subscribeStreams: number;
  readonly maxStreamsPerSession: number;
  /** Streams with bytes written but not yet flushed (flow control or a full socket). */
  readonly blockedStreams: number;
  /** Bytes handed to HTTP/2 streams and not yet flushed, summed and the largest on one stream. */
  readonly unflushedBytes: number;
  readonly maxUnflushedBytes: number;
  /** Frames nghttp2 has queued to send, over all sessions. */
  readonly outboundQueueFrames: number;
  /** Bytes waiting in the sockets' own write buffers. */
  readonly socketBufferedBytes: number;
  readonly sessionsCreated: number;
  readonly sessionsClosed: number;
  readonly sessionsCollected: number;
  readonly streamsCreated: number;
  readonly streamsClosed: number;
  /** Stream objects the garbage collector has reclaimed (FinalizationRegistry). */
  readonly streamsCollected: number;
}

interface ProbeCommands {
  memory: { arg: { gcRounds: number; resident?: boolean }; result: ServeMemorySample };
  http2: { arg: undefined; result: Http2Sample };
  heapSnapshot: { arg: { file: string }; result: string };
}

/** What the Nacos metrics endpoint reports (the server's own subscriber count). */
export interface ServerMetrics {
  readonly subscribeCount: number;
  readonly instanceCount: number;
  readonly serviceCount: number;
}

export interface HeraldServeOptions {
  /** `herald serve` flags beyond --host 127.0.0.1 --port 0 --http-port 0. */
  readonly args?: readonly string[];
  /** node --expose-gc, for forced collections (diagnosis only). */
  readonly exposeGc?: boolean;
  /** Extra Node flags (e.g. --heapsnapshot-signal=SIGUSR2). */
  readonly nodeArgs?: readonly string[];
  /** What-if, diagnosis only: grpc-js writes header and message apart instead of copying (see serve-probe.mjs). */
  readonly noFrameCopy?: boolean;
  /**
   * Another build's bin/herald.js (its dist/ next to it), e.g. an older commit's to compare with in
   * one sitting; default this repository's.
   */
  readonly bin?: string;
}

const bin = new URL('../../bin/herald.js', import.meta.url);
const dist = new URL('../../dist/cli/main.js', import.meta.url);
const probe = new URL('./serve-probe.mjs', import.meta.url);

export class HeraldServeProcess {
  /** The last stderr lines, for errors. */
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildHandle<ProbeCommands>,
    readonly port: number,
    readonly httpPort: number,
  ) {}

  static async start(options: HeraldServeOptions = {}): Promise<HeraldServeProcess> {
    const script = options.bin === undefined ? bin : pathToFileURL(options.bin);
    const main = options.bin === undefined ? dist : new URL('../dist/cli/main.js', script);
    if (!existsSync(fileURLToPath(main))) throw new Error(`${fileURLToPath(main)} is missing: run \`npm run build\` first (the server runs the compiled code)`);
    const extra = options.args ?? [];
    // Without --data-dir, nothing is stored: ephemeral benchmarks never touch the store anyway.
    const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', ...(extra.includes('--data-dir') ? [] : ['--data-dir', 'none']), ...extra];
    const nodeArgs = [...(options.exposeGc === true ? ['--expose-gc'] : []), ...(options.nodeArgs ?? []), '--import', probe.href];
    const child = await ChildHandle.spawn<ProbeCommands>({
      name: 'herald serve',
      script,
      args,
      tsx: false,
      nodeArgs,
      pipeStderr: true,
      ...(options.noFrameCopy === true ? { env: { HERALD_PROBE_NO_FRAME_COPY: '1' } } : {}),
    });
    const stderr = child.stderr;
    if (stderr === null) throw new Error('herald serve: no stderr');
    const tail: string[] = [];
    const serving = new Promise<{ port: number; httpPort: number }>((resolve, reject) => {
      const lines = createInterface({ input: stderr });
      lines.on('line', (line) => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (!line.includes('herald is serving')) {
          // herald logs JSON lines; anything above info (a warning, an error) is worth seeing.
          if (!/"level":\s*(30|"info")/.test(line)) console.error(`[herald serve] ${line}`);
          return;
        }
        try {
          const { address, http } = JSON.parse(line) as { address: string; http?: string };
          resolve({ port: Number(address.split(':').at(-1)), httpPort: http === undefined ? 0 : Number(http.split(':').at(-1)) });
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
      void child.exitCode.then((code) => {
        reject(new Error(`herald serve exited (${String(code)}) before serving:\n${tail.join('\n')}`));
      });
    });
    const { port, httpPort } = await serving;
    const p = new HeraldServeProcess(child, port, httpPort);
    p.tail.push(...tail);
    return p;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  usage(): Promise<ProcessUsage> {
    return this.child.request('usage', undefined);
  }

  /**
   * Memory after `gcRounds` forced collections (0 = as it is; > 0 needs exposeGc, diagnosis only).
   * `resident: false` leaves out the RSS by mapping (`resident` undefined): reading
   * /proc/self/smaps allocates megabytes in the server, too much for frequent samples of an idle one.
   */
  memory(gcRounds = 0, options: { resident?: boolean } = {}): Promise<ServeMemorySample> {
    return this.child.request('memory', { gcRounds, ...(options.resident === undefined ? {} : { resident: options.resident }) });
  }

  http2(): Promise<Http2Sample> {
    return this.child.request('http2', undefined);
  }

  /** Writes a V8 heap snapshot (blocks the server for a while); resolves with its path. */
  heapSnapshot(file: string): Promise<string> {
    return this.child.request('heapSnapshot', { file });
  }

  /** GET /nacos/v1/ns/operator/metrics: the push hub's subscriber count among others. */
  async metrics(): Promise<ServerMetrics> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/nacos/v1/ns/operator/metrics`);
    if (!res.ok) throw new Error(`metrics: HTTP ${res.status}`);
    return (await res.json()) as ServerMetrics;
  }

  /** SIGTERM (herald's graceful stop, through the probe); SIGKILL if it has not exited in time. */
  async stop(): Promise<void> {
    await this.child.exit(20_000);
  }
}
