/**
 * The `--push-workers N` experiment of push-latency (issue #13, "use both cores"): can the fan-out of
 * one service to its subscribers go faster from worker threads than from the server's one event
 * loop, on this machine? Runs in the benchmark's server process, beside the real HeraldServer: one
 * push target in the server's hub (so the merge window and the registry are the real ones) encodes
 * each new view of the service once, the snapshot SubscribeResponse and the deltas to it from the
 * last 16 views, with herald's own encode-once frames, and posts them to N worker threads
 * (push-worker-main.ts), each serving Subscribe on a port of its own. The subscribers are split over
 * the workers' ports; the driver still writes to the server's port.
 *
 * What it leaves out (it measures the ceiling of the idea, not a feature): one port per worker
 * instead of the server's (Node 20 has no SO_REUSEPORT, and a worker thread cannot be handed a
 * socket), no authentication, no filters, no resume, one service.
 */
import { Worker } from 'node:worker_threads';
import type { ServiceView } from '../../src/core/model.js';
import { SnapshotFrames } from '../../src/server/grpc-codec.js';
import { StreamFrames } from '../../src/server/stream-frames.js';
import { SnapshotTarget } from '../../src/push/snapshot-target.js';
import type { PushHub } from '../../src/push/push-hub.js';
import { DELTA_BASES, type FromPushWorker, type PushWorkerData, type PushWorkerSample, type ToPushWorker } from './push-worker-protocol.js';

const WORKER_MAIN = new URL('./push-worker-main.ts', import.meta.url);

/**
 * A worker thread does not inherit the tsx loader of its process (Node 20), so it registers it
 * itself before importing the TypeScript entry.
 */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_MAIN.href)}); });`;

export interface PushWorkersOptions {
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly service: string;
  readonly count: number;
  readonly sliceSize: number;
  readonly maxPushesInFlight: number;
}

interface Running {
  readonly worker: Worker;
  readonly port: number;
}

export class PushWorkers {
  private nextId = 0;
  private readonly waiting = new Map<number, (m: Extract<FromPushWorker, { kind: 'stats' }>) => void>();
  private unsubscribe: (() => void) | undefined;

  private constructor(private readonly workers: readonly Running[]) {
    for (const { worker } of workers) {
      worker.on('message', (m: FromPushWorker) => {
        if (m.kind !== 'stats') return;
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      });
    }
  }

  /** Starts the workers, then subscribes to the service in the hub (whose first view they get at once). */
  static async start(o: PushWorkersOptions): Promise<PushWorkers> {
    const data: PushWorkerData = { sliceSize: o.sliceSize, maxPushesInFlight: o.maxPushesInFlight };
    const workers = await Promise.all(
      Array.from(
        { length: o.count },
        () =>
          new Promise<Running>((resolve, reject) => {
            const worker = new Worker(WORKER_BOOT, { eval: true, workerData: data });
            worker.once('error', reject);
            worker.once('message', (m: FromPushWorker) => {
              if (m.kind === 'ready') resolve({ worker, port: m.port });
            });
          }),
      ),
    );
    const pool = new PushWorkers(workers);
    const frames = new SnapshotFrames();
    const deltas = new StreamFrames(frames);
    /** The views sent before, newest first. */
    const previous: ServiceView[] = [];
    const target = new SnapshotTarget({ clusters: [], healthyOnly: false }, (view) => {
      const m: ToPushWorker = {
        kind: 'frame',
        revision: view.revision,
        snapshot: frames.frame(view),
        deltas: previous.map((from) => deltas.subscribeDelta(from, view)),
        fromRevisions: previous.map((from) => from.revision),
      };
      previous.unshift(view);
      if (previous.length > DELTA_BASES) previous.pop();
      for (const { worker } of workers) worker.postMessage(m);
    });
    pool.unsubscribe = o.hub.subscribe({ service: o.service }, target);
    return pool;
  }

  get ports(): number[] {
    return this.workers.map((w) => w.port);
  }

  /** Every worker's counters, in start order. */
  async sample(): Promise<PushWorkerSample[]> {
    return Promise.all(
      this.workers.map(async ({ worker }) => {
        const id = this.nextId++;
        const stats = await new Promise<Extract<FromPushWorker, { kind: 'stats' }>>((resolve) => {
          this.waiting.set(id, resolve);
          worker.postMessage({ kind: 'stats', id } satisfies ToPushWorker);
        });
        const elu = worker.performance.eventLoopUtilization();
        return { delivered: stats.delivered, streams: stats.streams, eluActiveMs: elu.active, eluIdleMs: elu.idle, runDelayUs: stats.runDelayUs };
      }),
    );
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}
