/**
 * A push worker thread of the `--push-workers` experiment (push-workers.ts): its own grpc-js server
 * on its own port of 127.0.0.1, serving only herald.v1.RegistryService/Subscribe (everything else,
 * Watch included, answers UNIMPLEMENTED, so the SDK's `follow` falls back to Subscribe with
 * deltas). The main thread posts the frames of each new view of the one service, encoded once
 * there; this thread writes them to its subscribers the way the server's own path does: each
 * stream through a LatestWinsSink (at most `maxPushesInFlight` unflushed, then only the newest
 * pending), in slices of `sliceSize` subscribers per event-loop turn, a change during a walk
 * carrying on from where it is for one full cycle. A delta stream gets the delta from the view it
 * holds when the main thread encoded one from it (the last 16 views), else a snapshot, which the
 * protocol allows at any point. Resume and filters are not handled: an experiment, not a feature.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { LatestWinsSink } from '../../src/push/latest-wins-sink.js';
import type { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { registryServiceDefinition } from '../../src/server/service-definition.js';
import type { PushWorkerData, ToPushWorker } from './push-worker-protocol.js';

interface Frame {
  readonly revision: number;
  readonly snapshot: Buffer;
  /** The delta to this view from each earlier revision the main thread encoded one from. */
  readonly deltas: ReadonlyMap<number, Buffer>;
}

interface Subscriber {
  readonly sink: LatestWinsSink<Frame>;
  /** The newest revision offered to the sink (never offer an older or the same one again). */
  offered: number;
}

const port = parentPort;
if (port === null) throw new Error('push-worker-main.ts runs as a worker thread');
const { sliceSize, maxPushesInFlight } = workerData as PushWorkerData;

const subscribers: Subscriber[] = [];
let latest: Frame | undefined;
let delivered = 0;
/** The walk over `subscribers` under way: next index and deliveries left. */
let walk: { pos: number; remaining: number } | undefined;

function offer(s: Subscriber, frame: Frame): void {
  if (frame.revision <= s.offered) return;
  s.offered = frame.revision;
  delivered++;
  s.sink.offer(frame);
}

function step(): void {
  const w = walk;
  const frame = latest;
  if (w === undefined || frame === undefined) return;
  let n = Math.min(w.remaining, sliceSize);
  while (n > 0 && subscribers.length > 0) {
    w.pos %= subscribers.length;
    const s = subscribers[w.pos] as Subscriber;
    w.pos++;
    w.remaining--;
    n--;
    offer(s, frame);
  }
  if (w.remaining > 0 && subscribers.length > 0) setImmediate(step);
  else walk = undefined;
}

function onFrame(frame: Frame): void {
  latest = frame;
  if (walk !== undefined) {
    walk.remaining = subscribers.length;
    return;
  }
  walk = { pos: 0, remaining: subscribers.length };
  step();
}

function subscribe(call: ServerWritableStream<SubscribeRequest, Buffer>): void {
  const deltas = call.request.deltas;
  let held: number | undefined;
  const sink = new LatestWinsSink<Frame>((frame, done) => {
    const delta = deltas && held !== undefined ? frame.deltas.get(held) : undefined;
    const bytes = delta ?? frame.snapshot;
    held = frame.revision;
    call.write(bytes, done);
  }, maxPushesInFlight);
  const s: Subscriber = { sink, offered: -1 };
  subscribers.push(s);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    sink.close();
    const i = subscribers.indexOf(s);
    if (i >= 0) subscribers.splice(i, 1);
  };
  for (const event of ['cancelled', 'close', 'finish', 'error']) call.on(event, close);
  if (latest !== undefined) offer(s, latest);
}

function runDelayUs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1000;
  } catch {
    return Number.NaN;
  }
}

const server = new Server();
server.addService(registryServiceDefinition, { subscribe });
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => {
  if (err !== null) throw err;
  port.postMessage({ kind: 'ready', port: bound });
});

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

port.on('message', (m: ToPushWorker) => {
  switch (m.kind) {
    case 'frame':
      onFrame({ revision: m.revision, snapshot: asBuffer(m.snapshot), deltas: new Map(m.fromRevisions.map((r, i) => [r, asBuffer(m.deltas[i] as Uint8Array)])) });
      break;
    case 'stats':
      port.postMessage({ kind: 'stats', id: m.id, delivered, streams: subscribers.length, runDelayUs: runDelayUs() });
      break;
    case 'close':
      server.forceShutdown();
      port.close();
      break;
  }
});
