/**
 * The open subscriber streams of a server, owned end to end: admission against the stream limits
 * (in all, and per client connection), each stream's target in the push hub with its filter, its
 * bounded latest-wins sink, and its cleanup when the stream's AbortSignal fires (the client
 * cancelled, the connection died, the server is closing). A transport adapts one of its streams to
 * `StreamOutput` and hands over an AbortSignal tied to the stream's end; it never keeps a map of
 * its own. Each subscription renders what it is sent through its `Renderer` (the transport's
 * encode-once frames): a snapshot first, then snapshots or, in delta mode, the change from the view
 * it last wrote. A view is rendered when it is written, not when it is offered, so a slow subscriber
 * whose pending view was replaced gets one delta from what it holds to the newest view.
 *
 * Resume: a subscription that names the revision and checksum of the view its client holds starts
 * from that view instead of a snapshot: an empty delta when the current view has the same checksum,
 * the delta from the remembered view (ViewHistory) when the server still knows it, else a snapshot.
 */
import type { Logger } from '../common/logger.js';
import type { Clock } from '../core/clock.js';
import type { ServiceFilter, ServiceRef, ServiceView } from '../core/model.js';
import { LatestWinsSink } from './latest-wins-sink.js';
import type { PushHub } from './push-hub.js';
import { SnapshotTarget } from './snapshot-target.js';
import type { ViewHistory } from './view-history.js';

/** How one subscription's messages are made. */
export interface Renderer<M> {
  /** A full snapshot: the first message (unless resumed), and every message without `delta`. */
  snapshot(view: ServiceView): M;
  /** Present in delta mode: the change from the view last written to `to`. */
  delta?(from: ServiceView, to: ServiceView): M;
}

/** The view a client says it holds, to resume from (delta mode only). */
export interface ResumePoint {
  readonly revision: number;
  readonly checksum: string;
}

/** Where a stream's messages go. `write` calls `done` once the message is flushed (or failed). */
export interface StreamOutput<M> {
  write(message: M, done: (error?: Error | null) => void): void;
  /** Ends the stream because the server is closing (the transport sends its status). */
  end(): void;
}

export interface SubscriberStreamsDeps {
  readonly hub: Pick<PushHub, 'subscribe'>;
  /** The views subscribers were recently sent (the hub remembers them), to resume from. */
  readonly history: Pick<ViewHistory, 'find'>;
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
  /** Snapshots replaced while pending, because a newer one came before a slow subscriber caught up (since start). */
  readonly skipped: number;
  /** Open streams holding a pending snapshot: their subscriber has not drained the last ones yet. */
  readonly slow: number;
  /** Streams refused at a limit since start. */
  readonly refused: number;
  /** Subscriptions that resumed: with nothing to send, with a delta, or with a snapshot (view not known). */
  readonly resumed: { readonly unchanged: number; readonly delta: number; readonly snapshot: number };
}

interface Open<M> {
  readonly sink: LatestWinsSink<ServiceView>;
  readonly output: StreamOutput<M>;
}

export class SubscriberStreams<M> {
  private readonly open = new Set<Open<M>>();
  private readonly perConnection = new Map<string, number>();
  private refusedCount = 0;
  /** Skipped snapshots of streams already closed, so `skipped` only grows. */
  private skippedClosed = 0;
  private refusedLoggedAtMs = Number.NEGATIVE_INFINITY;
  private readonly resumed = { unchanged: 0, delta: 0, snapshot: 0 };

  constructor(private readonly deps: SubscriberStreamsDeps) {}

  /**
   * Opens a stream of `address` through `filter` for the client connection `connection`: the
   * current view is written at once, then every change it sees. Returns a refusal when a limit is
   * reached; throws the registry's error for a bad address. The stream is closed and forgotten when
   * `signal` aborts (already aborted: nothing is opened). `resume` needs a renderer with `delta`.
   */
  subscribe(
    address: Partial<ServiceRef>,
    filter: ServiceFilter,
    connection: string,
    output: StreamOutput<M>,
    signal: AbortSignal,
    render: Renderer<M>,
    resume?: ResumePoint,
  ): Refusal | undefined {
    const refusal = this.refusal(connection);
    if (refusal !== undefined) {
      this.refused(refusal);
      return refusal;
    }
    if (signal.aborted) return undefined;
    /** The view the client holds: the last one written (or the one it resumed from). */
    let held: ServiceView | undefined;
    const delta = render.delta === undefined ? undefined : (from: ServiceView, to: ServiceView): M => (render.delta as NonNullable<Renderer<M>['delta']>)(from, to);
    const sink = new LatestWinsSink<ServiceView>((view, done) => {
      const m = held === undefined || delta === undefined ? render.snapshot(view) : delta(held, view);
      held = view;
      output.write(m, done);
    }, this.deps.maxPushesInFlight);
    let first = true;
    const target = new SnapshotTarget(filter, (view) => {
      if (first) {
        first = false;
        if (resume !== undefined && delta !== undefined) held = this.resumeBase(view, resume);
      }
      sink.offer(view);
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
        this.skippedClosed += sink.skipped;
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
    let skipped = this.skippedClosed;
    let slow = 0;
    for (const { sink } of this.open) {
      maxBacklog = Math.max(maxBacklog, sink.backlog);
      skipped += sink.skipped;
      if (sink.hasPending) slow++;
    }
    return { streams: this.open.size, maxBacklog, skipped, slow, refused: this.refusedCount, resumed: { ...this.resumed } };
  }

  /** The view a resuming client holds, when the server can tell: undefined = send a snapshot. */
  private resumeBase(current: ServiceView, resume: ResumePoint): ServiceView | undefined {
    if (current.checksum === resume.checksum) {
      this.resumed.unchanged++;
      // The same hosts under the client's revision: the delta to `current` is empty.
      return { ...current, revision: resume.revision };
    }
    const known = this.deps.history.find(current, resume.revision, resume.checksum);
    if (known === undefined) this.resumed.snapshot++;
    else this.resumed.delta++;
    return known;
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
      {
        limit: refusal.limit,
        streams: this.open.size,
        maxSubscribeStreams: maxStreams,
        maxSubscribeStreamsPerConnection: maxStreamsPerConnection,
        refusedSinceStart: this.refusedCount,
      },
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
