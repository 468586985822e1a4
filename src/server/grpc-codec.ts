/**
 * The gRPC transport's codec: the only place that maps herald.v1 wire types (src/gen) to the core's
 * domain types and back. Snapshot frames are encoded once per view, and a new frame of a service
 * reuses the bytes of the records it shares with the previous one, so a push of a large service
 * after one change re-encodes one instance.
 */
import {
  ActionType as WireAction,
  Instance as WireInstance,
  ServiceInfo as WireServiceInfo,
  type InstanceChange as WireInstanceChange,
  type ServiceSummary as WireServiceSummary,
} from '../gen/herald/v1/model.js';
import type { InstanceRegistration, RegisterRequest } from '../gen/herald/v1/registry_service.js';
import type { ActionType, InstanceChange, InstanceRecord, ServiceSummary, ServiceView } from '../core/model.js';
import { statusFromWire, statusToWire } from '../common/wire-status.js';
import type { RegisterInput } from '../core/validate.js';

const ACTION_TO_WIRE: Record<ActionType, WireAction> = {
  ADDED: WireAction.ACTION_TYPE_ADDED,
  MODIFIED: WireAction.ACTION_TYPE_MODIFIED,
  DELETED: WireAction.ACTION_TYPE_DELETED,
};

/**
 * How much of an instance goes on the wire: 'full' adds the registrant (Register and GetInstance
 * answers, peer copies); 'public' is what snapshots and pushes carry; 'basic' is that without the
 * lease (InstanceView BASIC).
 */
export type InstanceDetail = 'full' | 'public' | 'basic';

/** An instance on the wire. `lastRenewalMs` is 0 in snapshots (renewals do not change them). */
export function instanceToWire(r: InstanceRecord, lastRenewalMs = 0, detail: InstanceDetail = 'public'): WireInstance {
  return {
    registrant: detail === 'full' ? r.registrant : '',
    instanceId: r.instanceId,
    ip: r.ip,
    port: r.port,
    weight: r.weight,
    healthy: r.healthy,
    enabled: r.enabled,
    ephemeral: r.ephemeral,
    cluster: r.cluster,
    metadata: r.metadata,
    status: statusToWire(r.status),
    overriddenStatus: statusToWire(r.overriddenStatus),
    lastDirtyTimestamp: r.lastDirtyTimestamp,
    lastUpdatedTimestamp: r.lastUpdatedTimestamp,
    lease:
      detail === 'basic'
        ? undefined
        : {
            durationMs: r.leaseDurationMs,
            renewalIntervalMs: r.renewalIntervalMs,
            registrationTimestamp: r.registrationTimestamp,
            lastRenewalTimestamp: lastRenewalMs,
            serviceUpTimestamp: r.serviceUpTimestamp,
            evictionTimestamp: r.evictionTimestamp,
            unhealthyAfterMs: r.unhealthyAfterMs,
          },
  };
}

export function serviceInfoToWire(v: ServiceView, detail: InstanceDetail = 'public'): WireServiceInfo {
  return {
    namespace: v.namespace,
    group: v.group,
    name: v.name,
    clusters: [...v.clusters],
    hosts: v.hosts.map((h) => instanceToWire(h, 0, detail)),
    lastRefTime: v.lastRefTime,
    checksum: v.checksum,
    revision: v.revision,
    cacheMillis: v.cacheMillis,
    reachProtectionThreshold: v.reachProtectionThreshold,
    protectThreshold: v.protectThreshold,
  };
}

export function changeToWire(c: InstanceChange): WireInstanceChange {
  return {
    action: ACTION_TO_WIRE[c.action],
    group: c.group,
    service: c.service,
    instance: instanceToWire(c.record),
    changedAt: c.changedAt,
    revision: c.revision,
  };
}

export function summaryToWire(s: ServiceSummary): WireServiceSummary {
  return {
    namespace: s.namespace,
    group: s.group,
    name: s.name,
    instanceCount: s.instanceCount,
    healthyInstanceCount: s.healthyInstanceCount,
    clusters: [...s.clusters],
    revision: s.revision,
    protectThreshold: s.protectThreshold,
    metadata: s.metadata,
  };
}

function registrationToInput(i: InstanceRegistration): NonNullable<RegisterInput['instance']> {
  return {
    instanceId: i.instanceId,
    ip: i.ip,
    port: i.port,
    weight: i.weight,
    healthy: i.healthy,
    enabled: i.enabled,
    ephemeral: i.ephemeral,
    cluster: i.cluster,
    metadata: i.metadata,
    status: statusFromWire(i.status),
    lastDirtyTimestamp: i.lastDirtyTimestamp,
    leaseDurationMs: i.lease?.durationMs,
    renewalIntervalMs: i.lease?.renewalIntervalMs,
    unhealthyAfterMs: i.lease?.unhealthyAfterMs,
  };
}

export function registerRequestToInput(req: RegisterRequest): RegisterInput {
  return {
    namespace: req.namespace,
    group: req.group,
    service: req.service,
    instance: req.instance === undefined ? undefined : registrationToInput(req.instance),
  };
}

// ------------------------------------------------------------------ encode-once snapshot frames

/** Wire type 2 (length-delimited) tag of a field. */
export function lengthDelimitedTag(field: number): number {
  return (field << 3) | 2;
}

const SERVICE_INFO_HOSTS_TAG = lengthDelimitedTag(5); // ServiceInfo.hosts
const RESPONSE_SERVICE_INFO_TAG = lengthDelimitedTag(1); // GetServiceResponse/SubscribeResponse.service_info

export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

export function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** Frames remembered per service and filter for the next frame to reuse host bytes from (least recently built dropped first). */
const MAX_REMEMBERED_FRAMES = 16_384;

/** The last frame built for one service through one filter: its hosts, and where each one's bytes are in it. */
interface BuiltFrame {
  readonly hosts: readonly InstanceRecord[];
  readonly frame: Buffer;
  /** Offset of each host's field in `frame`, then the frame's end. */
  readonly offsets: Uint32Array;
}

/** A service through a filter, as a key of the last frame built for it. */
function frameKey(view: ServiceView): string {
  return `${view.namespace}\u0000${view.group}\u0000${view.name}\u0000${view.clusters.join(',')}\u0000${view.healthyOnly ? 'h' : ''}`;
}

/**
 * Encode-once snapshot frames: the bytes of `{ service_info: <view> }`, which are both a
 * GetServiceResponse and a SubscribeResponse, computed once per view and returned to every caller.
 * A new frame of a service takes the bytes of every record it shares with the previous frame of
 * the same service and filter from that frame, so a push of a large service after one change
 * encodes one instance. No bytes are kept per record: a record's bytes live in the frames that
 * show it, and a frame remembers only where each host starts in it (4 bytes per host). One per
 * server (its owner); frames go with their views, and at most MAX_REMEMBERED_FRAMES are kept
 * beyond them to build the next ones from.
 *
 * The scalar fields are encoded by ts-proto and the hosts appended after them: protobuf parsers
 * accept fields in any order, and concatenated encodings of one message merge, so the result
 * decodes exactly like a single encoding of the whole ServiceInfo. Frames are allocated outside
 * Node's shared pool, so a small one does not pin an 8 KiB pool slab.
 */
export class SnapshotFrames {
  private readonly frames = new WeakMap<ServiceView, Buffer>();
  private readonly last = new Map<string, BuiltFrame>();

  /** `detail`: 'public' (InstanceView FULL) or 'basic' (without the lease). */
  constructor(readonly detail: 'public' | 'basic' = 'public') {}

  frame(view: ServiceView): Buffer {
    let frame = this.frames.get(view);
    if (frame === undefined) {
      frame = this.build(view);
      this.frames.set(view, frame);
    }
    return frame;
  }

  private build(view: ServiceView): Buffer {
    const key = frameKey(view);
    const prev = this.last.get(key);
    const head = WireServiceInfo.encode({ ...serviceInfoToWire({ ...view, hosts: [] }) }).finish();
    const { hosts } = view;
    const n = hosts.length;
    // For each host: its index in the previous frame (its bytes are there), or its fresh encoding.
    const reused = new Int32Array(n).fill(-1);
    const fresh: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(n);
    const lengths = new Uint32Array(n);
    let bodyLength = head.length;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const h = hosts[i] as InstanceRecord;
      if (prev !== undefined) {
        // Both host lists are sorted by instance id: walk the previous one alongside.
        while (j < prev.hosts.length && prev.hosts[j] !== h && (prev.hosts[j] as InstanceRecord).instanceId < h.instanceId) j++;
        if (prev.hosts[j] === h) {
          reused[i] = j;
          lengths[i] = (prev.offsets[j + 1] ?? 0) - (prev.offsets[j] ?? 0);
          bodyLength += lengths[i] ?? 0;
          j++;
          continue;
        }
      }
      const bytes = WireInstance.encode(instanceToWire(h, 0, this.detail)).finish();
      fresh[i] = bytes;
      lengths[i] = varintLength(SERVICE_INFO_HOSTS_TAG) + varintLength(bytes.length) + bytes.length;
      bodyLength += lengths[i] ?? 0;
    }
    const frame = Buffer.allocUnsafeSlow(varintLength(RESPONSE_SERVICE_INFO_TAG) + varintLength(bodyLength) + bodyLength);
    let o = writeVarint(frame, 0, RESPONSE_SERVICE_INFO_TAG);
    o = writeVarint(frame, o, bodyLength);
    frame.set(head, o);
    o += head.length;
    const offsets = new Uint32Array(n + 1);
    // Runs of hosts that follow each other in the previous frame are copied in one go.
    let runFrom = -1;
    let runTo = -1;
    let runAt = 0;
    const flush = (): void => {
      if (runFrom >= 0 && prev !== undefined) prev.frame.copy(frame, runAt, runFrom, runTo);
      runFrom = -1;
    };
    for (let i = 0; i < n; i++) {
      offsets[i] = o;
      const from = reused[i] ?? -1;
      if (from >= 0 && prev !== undefined) {
        const start = prev.offsets[from] ?? 0;
        if (runFrom < 0 || start !== runTo) {
          flush();
          runFrom = start;
          runAt = o;
        }
        runTo = start + (lengths[i] ?? 0);
      } else {
        flush();
        const bytes = fresh[i] as Uint8Array;
        o = writeVarint(frame, o, SERVICE_INFO_HOSTS_TAG);
        o = writeVarint(frame, o, bytes.length);
        frame.set(bytes, o);
        o = (offsets[i] ?? 0) + (lengths[i] ?? 0);
        continue;
      }
      o += lengths[i] ?? 0;
    }
    flush();
    offsets[n] = o;
    this.last.delete(key);
    this.last.set(key, { hosts, frame, offsets });
    if (this.last.size > MAX_REMEMBERED_FRAMES) {
      const oldest = this.last.keys().next();
      if (oldest.done !== true) this.last.delete(oldest.value);
    }
    return frame;
  }
}
