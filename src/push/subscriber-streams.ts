/**
 * The open subscriber streams of a server, owned end to end: admission against the stream limits
 * (in all, and per client connection), each stream's target in the push hub with its filter, its
 * bounded latest-wins sink, and its cleanup when the stream's AbortSignal fires (the client
 * cancelled, the connection died, the server is closing). A transport adapts one of its streams to
 * `StreamOutput` and hands over an AbortSignal tied to the stream's end; it never keeps a map of
 * its own. Messages are encoded by the injected `encode` (one encoding per view, shared by every
 * stream that gets it).
 */
import type { Logger } from '../common/logger.js';
import type { Clock } from '../core/clock.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../core/model.js';
import { LatestWinsSink } from './latest-wins-sink.js';
import type { PushHub } from './push-hub.js';
import { SnapshotTarget } from './snapshot-target.js';

/** Where a stream's messages go. `write` calls `done` once the message is flushed (or failed). */
export interface StreamOutput<M> {
  write(message: M, done: (error?: Error | null) => void): void;
  /** Ends the stream because the server is closing (the transport sends its status). */
  end(): void;
}

export interface SubscriberStreamsDeps<M> {
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly encode: (view: ServiceView) => M;
  readonly clock: Clock;
  /** A refusal is logged at most once a minute, so a client retrying in a loop cannot flood the log. */
  readonly logger: Logger;
  /** Messages a stream may have unflushed before newer ones replace the pending one. */
  readonly maxPushesInFlight: number;
  /** Most open streams in all, and on one client connection. */
  readonly maxStreams: number;
  readonly maxStreamsPerConnection: number;
}

/** Why a stream was not opened. */
export type Refusal = { readonly limit: 'server' | 'connection'; readonly message: string };

export interface SubscriberStreamStats {
  readonly streams: number;
  /** The largest backlog of any stream (unflushed plus pending; at most maxPushesInFlight + 1). */
  readonly maxBacklog: number;
  /** Snapshots replaced while pending, because a newer one came before a slow subscriber caught up. */
  readonly skipped: number;
  /** Streams refused at a limit since start. */
  readonly refused: number;
}

interface Open<M> {
  readonly sink: LatestWinsSink<M>;
  readonly output: StreamOutput<M>;
}

export class SubscriberStreams<M> {
  private readonly open = new Set<Open<M>>();
  private readonly perConnection = new Map<string, number>();
  private refusedCount = 0;
  private refusedLoggedAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: SubscriberStreamsDeps<M>) {}

  /**
   * Opens a stream of `address` through `filter` for the client connection `connection`: the
   * current view is written at once, then every change it sees. Returns a refusal when a limit is
   * reached; throws the registry's error for a bad address. The stream is closed and forgotten when
   * `signal` aborts (already aborted: nothing is opened).
   */
  subscribe(address: Partial<ServiceRef>, filter: ServiceFilter, connection: string, output: StreamOutput<M>, signal: AbortSignal): Refusal | undefined {
    const refusal = this.refusal(connection);
    if (refusal !== undefined) {
      this.refused(refusal);
      return refusal;
    }
    if (signal.aborted) return undefined;
    const sink = new LatestWinsSink<M>((m, done) => {
      output.write(m, done);
    }, this.deps.maxPushesInFlight);
    const target = new SnapshotTarget(filter, (view) => {
      sink.offer(this.deps.encode(view));
    });
    const unsubscribe = this.deps.hub.subscribe(address, target); // throws for a bad address: nothing kept
    const entry: Open<M> = { sink, output };
    this.open.add(entry);
    this.perConnection.set(connection, (this.perConnection.get(connection) ?? 0) + 1);
    signal.addEventListener(
      'abort',
      () => {
        unsubscribe();
        sink.close();
        this.open.delete(entry);
        const left = (this.perConnection.get(connection) ?? 1) - 1;
        if (left > 0) this.perConnection.set(connection, left);
        else this.perConnection.delete(connection);
      },
      { once: true },
    );
    return undefined;
  }

  stats(): SubscriberStreamStats {
    let maxBacklog = 0;
    let skipped = 0;
    for (const { sink } of this.open) {
      maxBacklog = Math.max(maxBacklog, sink.backlog);
      skipped += sink.skipped;
    }
    return { streams: this.open.size, maxBacklog, skipped, refused: this.refusedCount };
  }

  /** Ends every open stream (the server is closing); their transports abort them in turn. */
  endAll(): void {
    for (const { output } of [...this.open]) output.end();
  }

  private refused(refusal: Refusal): void {
    this.refusedCount++;
    const now = this.deps.clock.nowMs();
    if (now - this.refusedLoggedAtMs < 60_000) return;
    this.refusedLoggedAtMs = now;
    const { maxStreams, maxStreamsPerConnection } = this.deps;
    this.deps.logger.warn(
      { limit: refusal.limit, streams: this.open.size, maxSubscribeStreams: maxStreams, maxSubscribeStreamsPerConnection: maxStreamsPerConnection, refusedSinceStart: this.refusedCount },
      'Subscribe refused: stream limit reached',
    );
  }

  private refusal(connection: string): Refusal | undefined {
    if (this.open.size >= this.deps.maxStreams) {
      return { limit: 'server', message: `the server already has ${this.open.size} Subscribe streams open, its limit; try another server or later` };
    }
    const n = this.perConnection.get(connection) ?? 0;
    if (n >= this.deps.maxStreamsPerConnection) {
      return { limit: 'connection', message: `this connection already has ${n} Subscribe streams open, the limit per connection` };
    }
    return undefined;
  }
}
