/**
 * The body of a subscriber load process, whatever the client: opens `subscribers` subscribers of
 * one service (each on its own connection, through the `open` function a load process gives),
 * timestamps every state they come to hold and tallies it (subscriber-tally.ts), and answers the
 * push load commands (load-protocol.ts). bench/lib/push/subscriber-main.ts gives herald's own
 * clients; a benchmark with other clients (bench/versus-etcd) gives its own `open`.
 */
import { serveCommands } from '../command-loop.js';
import { wallNowMs } from '../wall-clock.js';
import type { ChangeTag } from './changes.js';
import { openInBatches, type PushLoadCommands, type PushLoadConfig, type SubscriberLoadResult } from './load-protocol.js';
import { SubscriberTally } from './subscriber-tally.js';

/** What a subscriber reports to the load process. */
export interface SubscriberEvents {
  /** The subscriber now holds a new state of the service (its change tag, if it has one). */
  readonly onSnapshot: (tag: ChangeTag | undefined) => void;
  readonly onError: (error: Error) => void;
}

/** Opens one subscriber with `config`; returns its close function. */
export type OpenSubscriber<Config extends PushLoadConfig> = (config: Config, events: SubscriberEvents) => () => void;

interface Load<Config extends PushLoadConfig> {
  readonly config: Config;
  readonly tally: SubscriberTally;
  readonly closers: (() => void)[];
  streamErrors: number;
  firstError: string | undefined;
}

/** Opens subscriber `sub`; resolves once it holds its first state, rejects if it fails before. */
function subscribeOne<Config extends PushLoadConfig>(l: Load<Config>, open: OpenSubscriber<Config>, sub: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let first = true;
    const close = open(l.config, {
      onSnapshot: (tag) => {
        const now = wallNowMs();
        if (tag !== undefined) l.tally.observe(sub, tag.seq, tag.issuedAtMs, now);
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
    l.closers.push(close);
  });
}

/** Answers `open` and `collect` for subscribers opened by `open` (call once, in the load process's main). */
export function serveSubscriberLoad<Config extends PushLoadConfig>(open: OpenSubscriber<Config>): void {
  let load: Load<Config> | undefined;
  /** Closes every subscriber once (after collect, or on exit). */
  const closeAll = (): void => {
    for (const close of load?.closers.splice(0) ?? []) close();
  };
  serveCommands<PushLoadCommands<Config, SubscriberLoadResult>>(
    {
      open: async (config) => {
        if (load !== undefined) throw new Error('already open');
        const l: Load<Config> = {
          config,
          tally: new SubscriberTally(config.subscribers, config.firstMeasured, config.lastMeasured),
          closers: [],
          streamErrors: 0,
          firstError: undefined,
        };
        load = l;
        return { openMs: await openInBatches(config.subscribers, config.openBatch, (sub) => subscribeOne(l, open, sub)) };
      },
      collect: async ({ untilSeq, timeoutMs }): Promise<SubscriberLoadResult> => {
        const l = load;
        if (l === undefined) throw new Error('not open');
        await l.tally.caughtUp(untilSeq, timeoutMs);
        const tally = l.tally.finish();
        closeAll();
        return { ...tally, streamErrors: l.streamErrors, firstError: l.firstError };
      },
    },
    { beforeExit: closeAll },
  );
}
