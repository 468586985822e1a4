/**
 * A probe preloaded into a real `herald serve` process (`node --import serve-probe.mjs
 * bin/herald.js serve …`, see herald-serve-process.ts), so a benchmark can ask the server about its
 * memory without changing herald: plain JavaScript (no tsx loader thread in the measured process),
 * answering the benchmark IPC protocol (lib/ipc-protocol.ts: ready, request, response).
 *
 * Commands:
 *   usage          CPU, event-loop use and RSS (the ProcessUsage of lib/process-usage.ts)
 *   memory         process.memoryUsage(), V8 heap spaces and the collections V8 has run since
 *                  start (by kind), after `gcRounds` forced collections
 *                  (needs --expose-gc when gcRounds > 0: diagnosis only, a real server never does it);
 *                  with `resident: false` without the RSS by mapping, whose reading of
 *                  /proc/self/smaps allocates megabytes (enough, sampled every second, to keep V8's
 *                  memory reducer from ever seeing an idle heap)
 *   http2          the HTTP/2 server's open sessions and streams, what they hold unflushed, and how
 *                  many stream and session objects were created, closed and garbage-collected
 *   heapSnapshot   v8.writeHeapSnapshot(file)
 *   exit           SIGTERM to itself: herald's own graceful shutdown, then the process exits
 *
 * HTTP/2 accounting wraps http2.createServer (grpc-js's HTTP/2 server) before herald loads it. The
 * IPC channel is unref'd, so it never keeps the server alive; if the benchmark goes away, the probe
 * sends SIGTERM, as a Ctrl-C would.
 *
 * What-if (HERALD_PROBE_NO_FRAME_COPY=1, diagnosis only): grpc-js frames every outgoing message by
 * copying it into a new Buffer behind its 5-byte header, so each subscriber holds its own copy of a
 * snapshot herald encoded once. With this set, the server writes the header and the message as two
 * chunks instead, so a write that flow control holds keeps the shared bytes, not a copy: the
 * memory a grpc-js change (writev instead of copy) would save. Not for production use.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

// ------------------------------------------------------------------ HTTP/2 accounting

const sessions = new Set();
const streams = new Set();
const counts = { sessionsCreated: 0, sessionsClosed: 0, sessionsCollected: 0, streamsCreated: 0, streamsClosed: 0, streamsCollected: 0 };
const sessionFinalizer = new FinalizationRegistry(() => {
  counts.sessionsCollected++;
});
const streamFinalizer = new FinalizationRegistry(() => {
  counts.streamsCollected++;
});

function onStream(stream, headers) {
  counts.streamsCreated++;
  streamFinalizer.register(stream, 0);
  const path = String(headers[':path'] ?? '');
  const entry = { stream, subscribe: path.endsWith('/Subscribe') };
  streams.add(entry);
  stream.once('close', () => {
    counts.streamsClosed++;
    streams.delete(entry);
  });
}

function onSession(session) {
  counts.sessionsCreated++;
  sessionFinalizer.register(session, 0);
  sessions.add(session);
  session.on('stream', onStream);
  session.once('close', () => {
    counts.sessionsClosed++;
    sessions.delete(session);
  });
}

for (const name of ['createServer', 'createSecureServer']) {
  const original = http2[name];
  http2[name] = function (...args) {
    const server = original.apply(this, args);
    server.on('session', onSession);
    return server;
  };
}

function http2Sample() {
  let subscribeStreams = 0;
  let unflushedBytes = 0;
  let maxUnflushedBytes = 0;
  let blockedStreams = 0;
  for (const { stream, subscribe } of streams) {
    if (subscribe) subscribeStreams++;
    const n = stream.writableLength;
    unflushedBytes += n;
    if (n > maxUnflushedBytes) maxUnflushedBytes = n;
    if (n > 0) blockedStreams++;
  }
  let outboundQueueFrames = 0;
  let socketBufferedBytes = 0;
  let maxStreamsPerSession = 0;
  const perSession = new Map();
  for (const { stream } of streams) {
    const s = stream.session;
    if (s !== undefined) perSession.set(s, (perSession.get(s) ?? 0) + 1);
  }
  for (const [, n] of perSession) if (n > maxStreamsPerSession) maxStreamsPerSession = n;
  for (const session of sessions) {
    if (session.destroyed) continue;
    try {
      outboundQueueFrames += session.state.outboundQueueSize ?? 0;
    } catch {
      // a session closing under us
    }
    socketBufferedBytes += session.socket?.writableLength ?? 0;
  }
  return {
    sessions: sessions.size,
    streams: streams.size,
    subscribeStreams,
    maxStreamsPerSession,
    blockedStreams,
    unflushedBytes,
    maxUnflushedBytes,
    outboundQueueFrames,
    socketBufferedBytes,
    ...counts,
  };
}

// ------------------------------------------------------------------ what-if: no per-message copy

if (process.env.HERALD_PROBE_NO_FRAME_COPY === '1') {
  // The grpc-js that herald loads (bin/herald.js resolves it from the repository's node_modules).
  const require = createRequire(new URL('../../bin/herald.js', import.meta.url));
  const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors.js');
  BaseServerInterceptingCall.prototype.sendMessage = function (message, callback) {
    if (this.checkCancelled()) return;
    const payload = this.handler.serialize(message);
    const header = Buffer.allocUnsafe(5);
    header.writeUInt8(0, 0);
    header.writeUInt32BE(payload.byteLength, 1);
    this.maybeSendMetadata();
    this.stream.cork();
    this.stream.write(header);
    this.stream.write(payload, (error) => {
      if (error) {
        this.sendStatus({ code: 13, details: 'Internal server error', metadata: null });
        return;
      }
      this.callEventTracker?.addMessageSent();
      callback();
    });
    this.stream.uncork();
  };
}

// ------------------------------------------------------------------ usage (as lib/process-usage.ts)

const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
loopDelay.enable();
let gcMax = 0;
let gcTotal = 0;
/**
 * Collections since start by kind (cumulative; the memory command reports them). `reducing` counts
 * the full collections made to reduce memory (flag "all external memory"): those V8's memory
 * reducer starts on an idle heap, which also compact it.
 */
const gcCounts = { minor: 0, major: 0, incremental: 0, weakCallbacks: 0, reducing: 0 };
const GC_KINDS = new Map([
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakCallbacks'],
]);
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMax = Math.max(gcMax, e.duration);
    gcTotal += e.duration;
    const kind = GC_KINDS.get(e.detail?.kind);
    if (kind !== undefined) gcCounts[kind]++;
    if (kind === 'major' && ((e.detail?.flags ?? 0) & perfConstants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY) !== 0) gcCounts.reducing++;
  }
}).observe({ entryTypes: ['gc'] });

/** The main thread's time waiting for a core so far, µs (schedstat's run delay; NaN where unknown). */
function mainThreadRunDelayUs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1000;
  } catch {
    return Number.NaN;
  }
}

function usage() {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const sample = {
    atMs: performance.timeOrigin + performance.now(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eluIdleMs: elu.idle,
    eluActiveMs: elu.active,
    rssBytes: process.memoryUsage.rss(),
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    loopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    gcMaxPauseMs: gcMax,
    gcTotalPauseMs: gcTotal,
    runDelayUs: mainThreadRunDelayUs(),
  };
  loopDelay.reset();
  gcMax = 0;
  gcTotal = 0;
  return sample;
}

// ------------------------------------------------------------------ memory

/**
 * Resident memory by kind of mapping (/proc/self/smaps): the brk heap ([heap], where glibc's main
 * malloc arena lives: nghttp2, Node's C++ objects, Buffers' backing stores), other anonymous
 * mappings (V8's heap pages, mmap'd malloc chunks and arenas, thread stacks) and file-backed ones
 * (code). undefined where /proc is missing.
 */
function residentByKind() {
  let text;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out = { brkHeapBytes: 0, anonymousBytes: 0, fileBytes: 0 };
  let kind = 'anonymousBytes';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? '';
      kind = name === '[heap]' ? 'brkHeapBytes' : name.startsWith('/') ? 'fileBytes' : 'anonymousBytes';
      continue;
    }
    if (line.startsWith('Rss:')) out[kind] += Number(line.slice(4).trim().split(/\s+/)[0]) * 1024;
  }
  return out;
}

async function memory({ gcRounds, resident = true }) {
  if (gcRounds > 0) {
    const gc = globalThis.gc;
    if (gc === undefined) throw new Error('forced collections need node --expose-gc');
    // Several full collections with turns in between, so finalizers and weak maps settle.
    for (let i = 0; i < gcRounds; i++) {
      gc();
      await delay(20);
    }
  }
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    mallocedBytes: h.malloced_memory,
    resident: resident ? residentByKind() : undefined,
    spaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeBytes: s.space_size, usedBytes: s.space_used_size })),
    gcCounts: { ...gcCounts },
  };
}

// ------------------------------------------------------------------ IPC

const handlers = {
  usage: () => usage(),
  memory: (arg) => memory(arg),
  http2: () => http2Sample(),
  heapSnapshot: ({ file }) => v8.writeHeapSnapshot(file),
};

function stop() {
  process.kill(process.pid, 'SIGTERM');
}

if (process.send !== undefined) {
  const reply = (message) => {
    if (process.connected) process.send(message);
  };
  process.on('message', (message) => {
    if (typeof message !== 'object' || message === null || message.kind !== 'request') return;
    const { id, command, arg } = message;
    if (command === 'exit') {
      reply({ kind: 'response', id, ok: true, result: undefined });
      stop();
      return;
    }
    const handler = handlers[command];
    if (handler === undefined) {
      reply({ kind: 'response', id, ok: false, error: `unknown command ${command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(arg))
      .then(
        (result) => {
          reply({ kind: 'response', id, ok: true, result });
        },
        (e) => {
          reply({ kind: 'response', id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        },
      );
  });
  process.once('disconnect', stop);
  process.channel?.unref();
  process.send({ kind: 'ready' });
}
