/**
 * A push-latency load process: many subscribers to one service, each with its own connection. It
 * timestamps every snapshot on arrival and tallies it (subscriber-tally.ts). Started by
 * bench/push-latency.ts.
 */
import { serveCommands } from '../lib/command-loop.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import type { SubscriberCommands, SubscriberLoadConfig, SubscriberLoadResult } from './subscriber-commands.js';
import { openSubscriber, type OpenSubscriber } from './subscriber-kinds.js';
import { SubscriberTally } from './subscriber-tally.js';

interface Load {
  readonly config: SubscriberLoadConfig;
  readonly tally: SubscriberTally;
  readonly open: OpenSubscriber[];
  streamErrors: number;
  firstError: string | undefined;
}

let load: Load | undefined;

function subscribeOne(l: Load, sub: number): Promise<void> {
  const { config, tally } = l;
  return new Promise((resolve, reject) => {
    let first = true;
    const opened = openSubscriber(config.kind, config.address, config.service, config.taggedInstanceId, {
      onSnapshot: (tag) => {
        const now = wallNowMs();
        if (tag !== undefined) tally.observe(sub, tag.seq, tag.issuedAtMs, now);
        if (first) {
          first = false;
          resolve();
        }
      },
      onError: (e) => {
        l.streamErrors++;
        l.firstError ??= e.message;
        if (first) reject(e);
      },
    });
    l.open.push(opened);
  });
}

async function open(config: SubscriberLoadConfig): Promise<{ openMs: number }> {
  if (load !== undefined) throw new Error('already open');
  const l: Load = { config, tally: new SubscriberTally(config.subscribers, config.firstMeasured, config.lastMeasured), open: [], streamErrors: 0, firstError: undefined };
  load = l;
  const started = performance.now();
  for (let from = 0; from < config.subscribers; from += config.openBatch) {
    const batch: Promise<void>[] = [];
    for (let sub = from; sub < Math.min(config.subscribers, from + config.openBatch); sub++) batch.push(subscribeOne(l, sub));
    await Promise.all(batch);
  }
  return { openMs: performance.now() - started };
}

async function collect(untilSeq: number, timeoutMs: number): Promise<SubscriberLoadResult> {
  const l = load;
  if (l === undefined) throw new Error('not open');
  const deadline = performance.now() + timeoutMs;
  const caughtUp = (): boolean => {
    for (let sub = 0; sub < l.config.subscribers; sub++) if (l.tally.lastSeen(sub) < untilSeq) return false;
    return true;
  };
  while (!caughtUp() && performance.now() < deadline) await sleep(10);
  const tally = l.tally.finish();
  for (const s of l.open) s.close();
  return { ...tally, subscribers: l.config.subscribers, streamErrors: l.streamErrors, firstError: l.firstError };
}

serveCommands<SubscriberCommands>({
  open,
  collect: ({ untilSeq, timeoutMs }) => collect(untilSeq, timeoutMs),
});
