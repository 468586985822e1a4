/** Commands of a push-latency load process (subscriber-main.ts), shared by both ends. */
import type { SubscriberKind } from './subscriber-kinds.js';
import type { TallyResult } from './subscriber-tally.js';

export interface SubscriberLoadConfig {
  readonly address: string;
  readonly service: string;
  readonly subscribers: number;
  readonly kind: SubscriberKind;
  /** The instance whose metadata carries the change tag. */
  readonly taggedInstanceId: string;
  readonly firstMeasured: number;
  readonly lastMeasured: number;
  /** Streams opened at a time (each on its own connection), so the server's accept queue never overflows. */
  readonly openBatch: number;
}

export interface SubscriberLoadResult extends TallyResult {
  readonly subscribers: number;
  readonly streamErrors: number;
  readonly firstError: string | undefined;
}

export interface SubscriberCommands {
  /** Opens every subscription; resolves once each has received its first snapshot. */
  open: { arg: SubscriberLoadConfig; result: { openMs: number } };
  /** Waits (up to timeoutMs) until every subscriber has seen change `untilSeq`, then tallies and closes. */
  collect: { arg: { untilSeq: number; timeoutMs: number }; result: SubscriberLoadResult };
}
