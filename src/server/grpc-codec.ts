/**
 * The gRPC transport's codec: the only place that maps herald.v1 wire types (src/gen) to the core's
 * domain types and back. Snapshot frames are encoded once per view and instance bytes once per
 * immutable record, so a push of a large service after one change re-encodes one instance.
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

/** `tag, length, bytes` of one length-delimited field. */
function field(tag: number, bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(varintLength(tag) + varintLength(bytes.length) + bytes.length);
  let o = writeVarint(out, 0, tag);
  o = writeVarint(out, o, bytes.length);
  out.set(bytes, o);
  return out;
}

/**
 * Encode-once snapshot frames: the bytes of `{ service_info: <view> }`, which are both a
 * GetServiceResponse and a SubscribeResponse, computed once per view and returned to every caller,
 * with each immutable record's host bytes computed once, so a push of a large service after one
 * change encodes one instance. One per server (its owner); entries go with their views and records.
 *
 * The scalar fields are encoded by ts-proto and the hosts appended after them: protobuf parsers
 * accept fields in any order, and concatenated encodings of one message merge, so the result
 * decodes exactly like a single encoding of the whole ServiceInfo. Cached buffers are allocated
 * outside Node's shared pool, so a small one held by the recently-changed queue does not pin an
 * 8 KiB pool slab.
 */
export class SnapshotFrames {
  private readonly hosts = new WeakMap<InstanceRecord, Buffer>();
  private readonly frames = new WeakMap<ServiceView, Buffer>();

  /** `detail`: 'public' (InstanceView FULL) or 'basic' (without the lease). */
  constructor(readonly detail: 'public' | 'basic' = 'public') {}

  frame(view: ServiceView): Buffer {
    let frame = this.frames.get(view);
    if (frame === undefined) {
      const head = WireServiceInfo.encode({ ...serviceInfoToWire({ ...view, hosts: [] }) }).finish();
      const hosts = view.hosts.map((h) => this.host(h));
      let bodyLength = head.length;
      for (const h of hosts) bodyLength += h.length;
      frame = Buffer.allocUnsafeSlow(varintLength(RESPONSE_SERVICE_INFO_TAG) + varintLength(bodyLength) + bodyLength);
      let o = writeVarint(frame, 0, RESPONSE_SERVICE_INFO_TAG);
      o = writeVarint(frame, o, bodyLength);
      frame.set(head, o);
      o += head.length;
      for (const h of hosts) {
        h.copy(frame, o);
        o += h.length;
      }
      this.frames.set(view, frame);
    }
    return frame;
  }

  private host(r: InstanceRecord): Buffer {
    let f = this.hosts.get(r);
    if (f === undefined) {
      f = field(SERVICE_INFO_HOSTS_TAG, WireInstance.encode(instanceToWire(r, 0, this.detail)).finish());
      this.hosts.set(r, f);
    }
    return f;
  }
}
