/**
 * The frames of delta streams, encoded once and shared: a ServiceDelta per pair of views (from the
 * view a subscriber holds to the newest), wrapped as a SubscribeResponse (cached with it) or, per
 * watch, as a WatchResponse. Snapshots come from the shared SnapshotFrames, so a Watch snapshot
 * reuses the bytes of a Subscribe or GetService one.
 */
import { ServiceDelta as WireServiceDelta } from '../gen/herald/v1/model.js';
import type { ServiceView } from '../core/model.js';
import { viewDelta } from '../core/view-delta.js';
import { instanceToWire, lengthDelimitedTag, varintLength, writeVarint, type SnapshotFrames } from './grpc-codec.js';

const SUBSCRIBE_DELTA_TAG = lengthDelimitedTag(2); // SubscribeResponse.delta
const WATCH_ID_TAG = 1 << 3; // WatchResponse.watch_id (varint)
const WATCH_SNAPSHOT_TAG = lengthDelimitedTag(2); // WatchResponse.service_info
const WATCH_DELTA_TAG = lengthDelimitedTag(3); // WatchResponse.delta
const WATCH_CANCELED_TAG = 4 << 3; // WatchResponse.canceled (varint)
const WATCH_ERROR_CODE_TAG = 5 << 3; // WatchResponse.error_code (varint)
const WATCH_ERROR_MESSAGE_TAG = lengthDelimitedTag(6); // WatchResponse.error_message

interface DeltaBytes {
  readonly body: Buffer;
  subscribe?: Buffer;
}

/** The bytes of a ServiceDelta message from `from` to `to`, its instances in `detail`. */
export function encodeDelta(from: ServiceView, to: ServiceView, detail: 'public' | 'basic' = 'public'): Buffer {
  const d = viewDelta(from, to);
  return Buffer.from(
    WireServiceDelta.encode({
      namespace: to.namespace,
      group: to.group,
      name: to.name,
      clusters: [...to.clusters],
      fromRevision: from.revision,
      revision: to.revision,
      upserted: d.upserted.map((h) => instanceToWire(h, 0, detail)),
      removed: [...d.removed],
      checksum: to.checksum,
      lastRefTime: to.lastRefTime,
      cacheMillis: to.cacheMillis,
      reachProtectionThreshold: to.reachProtectionThreshold,
      protectThreshold: to.protectThreshold,
    }).finish(),
  );
}

/** `tag, length, body` of a length-delimited field, after `head` bytes. */
function wrap(head: readonly [tag: number, value: number][], tag: number, body: Uint8Array): Buffer {
  let len = varintLength(tag) + varintLength(body.length) + body.length;
  for (const [t, v] of head) len += varintLength(t) + varintLength(v);
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  for (const [t, v] of head) {
    o = writeVarint(out, o, t);
    o = writeVarint(out, o, v);
  }
  o = writeVarint(out, o, tag);
  o = writeVarint(out, o, body.length);
  out.set(body, o);
  return out;
}

/** The ServiceInfo bytes inside a snapshot frame (`service_info` tag, length, body). */
function snapshotBody(frame: Buffer): Buffer {
  let o = 1; // the one-byte tag of field 1
  while ((frame[o] as number) & 0x80) o++;
  return frame.subarray(o + 1);
}

export class StreamFrames {
  private readonly deltas = new WeakMap<ServiceView, WeakMap<ServiceView, DeltaBytes>>();

  /** Snapshots (and deltas) in the detail of `snapshots`. */
  constructor(private readonly snapshots: SnapshotFrames) {}

  /** A SubscribeResponse carrying the delta from `from` to `to`. */
  subscribeDelta(from: ServiceView, to: ServiceView): Buffer {
    const d = this.delta(from, to);
    d.subscribe ??= wrap([], SUBSCRIBE_DELTA_TAG, d.body);
    return d.subscribe;
  }

  /** A WatchResponse of watch `id` carrying the snapshot `view`. */
  watchSnapshot(id: number, view: ServiceView): Buffer {
    return wrap([[WATCH_ID_TAG, id]], WATCH_SNAPSHOT_TAG, snapshotBody(this.snapshots.frame(view)));
  }

  /** A WatchResponse of watch `id` carrying the delta from `from` to `to`. */
  watchDelta(id: number, from: ServiceView, to: ServiceView): Buffer {
    return wrap([[WATCH_ID_TAG, id]], WATCH_DELTA_TAG, this.delta(from, to).body);
  }

  /** The WatchResponse that ends watch `id`: removed (code 0), or refused with a gRPC status code. */
  watchCanceled(id: number, code = 0, message = ''): Buffer {
    const head: [number, number][] = [
      [WATCH_ID_TAG, id],
      [WATCH_CANCELED_TAG, 1],
    ];
    if (code !== 0) head.push([WATCH_ERROR_CODE_TAG, code]);
    return wrap(head, WATCH_ERROR_MESSAGE_TAG, Buffer.from(message));
  }

  private delta(from: ServiceView, to: ServiceView): DeltaBytes {
    let byTo = this.deltas.get(from);
    if (byTo === undefined) {
      byTo = new WeakMap();
      this.deltas.set(from, byTo);
    }
    let d = byTo.get(to);
    if (d === undefined) {
      d = { body: encodeDelta(from, to, this.snapshots.detail) };
      byTo.set(to, d);
    }
    return d;
  }
}
