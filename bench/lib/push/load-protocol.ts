/**
 * The commands of a push load process (subscriber-main.ts, bench/udp-push-latency/target-main.ts),
 * shared by both ends: open N subscribers (or UDP targets) of the service, then, after the
 * measured changes, collect their tally.
 */
import type { SecurityOptions } from '../../../src/client/connection-security.js';
import type { ClientKind } from '../bench-client.js';
import type { TallyResult } from './subscriber-tally.js';

export interface PushLoadConfig {
  /** The gRPC address of the node to subscribe (or pull) at. */
  readonly address: string;
  readonly service: string;
  /** Subscribers (or targets) in this process. */
  readonly subscribers: number;
  /** The instance whose metadata carries the change tag. */
  readonly taggedInstanceId: string;
  readonly firstMeasured: number;
  readonly lastMeasured: number;
  /** Opened at a time (each on its own connection), so the server's accept queue never overflows. */
  readonly openBatch: number;
}

export interface PushLoadCommands<Config extends PushLoadConfig, Result extends TallyResult> {
  /** Opens every subscriber; resolves once each holds its first snapshot. */
  open: { arg: Config; result: { openMs: number } };
  /** Waits (up to timeoutMs) until every subscriber has seen change `untilSeq`, then tallies. */
  collect: { arg: { untilSeq: number; timeoutMs: number }; result: Result };
}

/** A subscriber load process: Subscribe streams of one client kind. */
export interface SubscriberLoadConfig extends PushLoadConfig {
  readonly kind: ClientKind;
  /** TLS and a token for `transport` subscribers (PEM files by path); none by default. */
  readonly security?: SecurityOptions;
}

export interface SubscriberLoadResult extends TallyResult {
  readonly streamErrors: number;
  readonly firstError: string | undefined;
}

export type SubscriberCommands = PushLoadCommands<SubscriberLoadConfig, SubscriberLoadResult>;

/** Opens `count` members `batch` at a time; resolves with the time it took, ms. */
export async function openInBatches(count: number, batch: number, openOne: (index: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < count; from += batch) {
    const opening: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + batch); i++) opening.push(openOne(i));
    await Promise.all(opening);
  }
  return performance.now() - started;
}
