/** The messages between the server process's main thread and a push worker thread (push-workers.ts, push-worker-main.ts). */

/**
 * Views a delta can start from (the server's ViewHistory keeps 16 per service too): a subscriber
 * that skipped fewer changes than this gets a delta, as it would from the server's own path.
 */
export const DELTA_BASES = 16;

export interface PushWorkerData {
  /** Subscribers written per event-loop turn (the server's fanOutSliceSize). */
  readonly sliceSize: number;
  /** Unflushed messages per stream before newer ones replace the pending one. */
  readonly maxPushesInFlight: number;
}

export type ToPushWorker =
  /**
   * A new view of the service: its SubscribeResponse snapshot, and the deltas to it from each of the
   * views sent before it (newest first, at most DELTA_BASES), by their revisions.
   */
  | { readonly kind: 'frame'; readonly revision: number; readonly snapshot: Uint8Array; readonly deltas: readonly Uint8Array[]; readonly fromRevisions: readonly number[] }
  | { readonly kind: 'stats'; readonly id: number }
  | { readonly kind: 'close' };

export type FromPushWorker =
  | { readonly kind: 'ready'; readonly port: number }
  /** Frames offered to subscribers' sinks so far, open streams, and the thread's run delay so far (µs). */
  | { readonly kind: 'stats'; readonly id: number; readonly delivered: number; readonly streams: number; readonly runDelayUs: number };

/** What the server process reports of its push workers (cumulative; the benchmark differences two samples). */
export interface PushWorkerSample {
  readonly delivered: number;
  readonly streams: number;
  readonly eluActiveMs: number;
  readonly eluIdleMs: number;
  readonly runDelayUs: number;
}
