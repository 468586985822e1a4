/**
 * A push-latency load process: many subscribers to one service, each with its own connection
 * (RegistryTransport, so the decoding cost is the real client's). It timestamps every snapshot on
 * arrival and tallies it (subscriber-tally.ts). Started by bench/push-latency.ts.
 */
import type { Subscription } from 'rxjs';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { serveCommands } from '../lib/command-loop.js';
import { closeAll, separateTransport } from '../lib/connections.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import { readTag } from './change-tag.js';
import type { SubscriberCommands, SubscriberLoadConfig, SubscriberLoadResult } from './subscriber-commands.js';
import { SubscriberTally } from './subscriber-tally.js';

interface Load {
  readonly config: SubscriberLoadConfig;
  readonly tally: SubscriberTally;
  readonly transports: RegistryTransport[];
  readonly subscriptions: Subscription[];
  streamErrors: number;
  firstError: string | undefined;
}

let load: Load | undefined;

function subscribeOne(l: Load, sub: number): Promise<void> {
  const { config, tally } = l;
  const transport = separateTransport(config.address);
  l.transports.push(transport);
  return new Promise((resolve, reject) => {
    let first = true;
    const subscription = transport.subscribe(SubscribeRequest.fromPartial({ service: config.service })).subscribe({
      next: (info) => {
        const now = wallNowMs();
        const tag = readTag(info, config.taggedInstanceId);
        if (tag !== undefined) tally.observe(sub, tag.seq, tag.issuedAtMs, now);
        if (first) {
          first = false;
          resolve();
        }
      },
      error: (e: unknown) => {
        l.streamErrors++;
        l.firstError ??= e instanceof Error ? e.message : String(e);
        if (first) reject(e instanceof Error ? e : new Error(String(e)));
      },
    });
    l.subscriptions.push(subscription);
  });
}

async function open(config: SubscriberLoadConfig): Promise<{ openMs: number }> {
  if (load !== undefined) throw new Error('already open');
  const l: Load = {
    config,
    tally: new SubscriberTally(config.subscribers, config.firstMeasured, config.lastMeasured),
    transports: [],
    subscriptions: [],
    streamErrors: 0,
    firstError: undefined,
  };
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
  for (const s of l.subscriptions) s.unsubscribe();
  closeAll(l.transports);
  return { ...tally, subscribers: l.config.subscribers, streamErrors: l.streamErrors, firstError: l.firstError };
}

serveCommands<SubscriberCommands>({
  open,
  collect: ({ untilSeq, timeoutMs }) => collect(untilSeq, timeoutMs),
});
