/**
 * A subscriber load process: many subscribers to one service, each on its own connection, of one
 * of two kinds:
 *
 * - `transport`: the project's RegistryTransport (grpc-js + full ServiceInfo decode + RxJS), i.e.
 *   what an application pays per push of a snapshot;
 * - `stream`: the same client following the service over a Watch stream of deltas, each applied
 *   and checked against the checksum (what the SDK does);
 * - `light`: the same Subscribe stream over LightGrpcConnection (node:http2); the message stays
 *   bytes and only the change tag is read out of it, so the load generator costs less CPU and
 *   more of the machine is left to the server under test.
 *
 * Every snapshot is timestamped on arrival and tallied (subscriber-tally.ts). Started by the push
 * benchmarks (ChangeRun), never by hand.
 */
import { RegistryServiceService, SubscribeRequest } from '../../../src/gen/herald/v1/registry_service.js';
import { separateTransport } from '../bench-client.js';
import { serveCommands } from '../command-loop.js';
import { LightGrpcConnection } from '../light-grpc-connection.js';
import { wallNowMs } from '../wall-clock.js';
import { readTag, readTagFromMessage, type ChangeTag } from './changes.js';
import { openInBatches, type SubscriberCommands, type SubscriberLoadConfig, type SubscriberLoadResult } from './load-protocol.js';
import { SubscriberTally } from './subscriber-tally.js';

interface SubscriberEvents {
  /** A snapshot arrived (its tag, if it has one). */
  readonly onSnapshot: (tag: ChangeTag | undefined) => void;
  readonly onError: (error: Error) => void;
}

/** Opens one subscriber; returns its close function. */
function openTransport(config: SubscriberLoadConfig, events: SubscriberEvents): () => void {
  const transport = separateTransport(config.address, undefined, config.security);
  const states =
    config.kind === 'stream'
      ? transport.follow({ namespace: '', group: '', service: config.service, clusters: [], healthyOnly: false })
      : transport.subscribe(SubscribeRequest.fromPartial({ service: config.service }));
  const subscription = states.subscribe({
    next: (info) => {
      events.onSnapshot(readTag(info, config.taggedInstanceId));
    },
    error: (e: unknown) => {
      events.onError(e instanceof Error ? e : new Error(String(e)));
    },
  });
  return () => {
    subscription.unsubscribe();
    transport.close();
  };
}

const subscribeMethod = RegistryServiceService.subscribe;

function openLight(config: SubscriberLoadConfig, events: SubscriberEvents): () => void {
  if (config.security !== undefined) throw new Error('light subscribers have no TLS or credentials: use transport');
  const connection = new LightGrpcConnection(config.address);
  const cancel = connection.serverStream(subscribeMethod.path, subscribeMethod.requestSerialize(SubscribeRequest.fromPartial({ service: config.service })), {
    onMessage: (message) => {
      events.onSnapshot(readTagFromMessage(message));
    },
    onEnd: (error) => {
      events.onError(error ?? new Error('stream ended'));
    },
  });
  return () => {
    cancel();
    connection.close();
  };
}

interface Load {
  readonly config: SubscriberLoadConfig;
  readonly tally: SubscriberTally;
  readonly closers: (() => void)[];
  streamErrors: number;
  firstError: string | undefined;
}

let load: Load | undefined;

/** Opens subscriber `sub`; resolves once it holds its first snapshot. */
function subscribeOne(l: Load, sub: number): Promise<void> {
  const open = l.config.kind === 'light' ? openLight : openTransport;
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

serveCommands<SubscriberCommands>({
  open: async (config) => {
    if (load !== undefined) throw new Error('already open');
    const l: Load = { config, tally: new SubscriberTally(config.subscribers, config.firstMeasured, config.lastMeasured), closers: [], streamErrors: 0, firstError: undefined };
    load = l;
    return { openMs: await openInBatches(config.subscribers, config.openBatch, (sub) => subscribeOne(l, sub)) };
  },
  collect: async ({ untilSeq, timeoutMs }): Promise<SubscriberLoadResult> => {
    const l = load;
    if (l === undefined) throw new Error('not open');
    await l.tally.caughtUp(untilSeq, timeoutMs);
    const tally = l.tally.finish();
    for (const close of l.closers) close();
    return { ...tally, streamErrors: l.streamErrors, firstError: l.firstError };
  },
});
