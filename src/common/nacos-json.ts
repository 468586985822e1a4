/**
 * Nacos 1.x JSON shapes: the ServiceInfo that `GET /nacos/v1/ns/instance/list` returns and that UDP
 * "dom" packets carry, and the packets themselves. Shared by the HTTP API, the UDP pusher and the
 * SDK's UDP receiver.
 *
 * Nacos clients key their cache by the grouped name and the clusters string they asked for, so
 * `name` is always `group@@service` and `clusters` echoes the request. herald adds `namespace`,
 * `revision`, `protectThreshold` and per-host `status`; Nacos clients ignore unknown fields.
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import { serviceKey, type InstanceRecord, type ServiceView } from '../core/model.js';

/** Packets at least this large are gzip-compressed (as Nacos does). */
export const GZIP_THRESHOLD_BYTES = 1_024;

export interface NacosHost {
  readonly instanceId: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly valid: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly marked: boolean;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly instanceHeartBeatInterval: number;
  readonly instanceHeartBeatTimeOut: number;
  readonly ipDeleteTimeout: number;
  readonly instanceIdGenerator: string;
  readonly status: string;
}

export interface NacosServiceInfo {
  readonly name: string;
  readonly groupName: string;
  readonly clusters: string;
  readonly cacheMillis: number;
  readonly hosts: readonly NacosHost[];
  readonly lastRefTime: number;
  readonly checksum: string;
  readonly allIPs: boolean;
  readonly reachProtectionThreshold: boolean;
  readonly valid: boolean;
  readonly namespace: string;
  readonly revision: number;
  readonly protectThreshold: number;
}

/** A UDP push packet. `lastRefTime` identifies the push for its ack (herald uses the revision). */
export interface NacosPushPacket {
  readonly type: 'dom';
  readonly data: string;
  readonly lastRefTime: number;
}

function host(r: InstanceRecord, serviceName: string): NacosHost {
  return {
    instanceId: r.instanceId,
    ip: r.ip,
    port: r.port,
    weight: r.weight,
    healthy: r.healthy,
    valid: r.healthy,
    enabled: r.enabled,
    ephemeral: r.ephemeral,
    marked: false,
    clusterName: r.cluster,
    serviceName,
    metadata: r.metadata,
    instanceHeartBeatInterval: r.renewalIntervalMs,
    instanceHeartBeatTimeOut: r.unhealthyAfterMs > 0 ? r.unhealthyAfterMs : r.leaseDurationMs,
    ipDeleteTimeout: r.leaseDurationMs,
    instanceIdGenerator: 'simple',
    status: r.status,
  };
}

/** The Nacos ServiceInfo of a view; `clusters` is echoed as the caller sent it. */
export function nacosServiceInfo(view: ServiceView, clusters: string, cacheMillis: number): NacosServiceInfo {
  const name = serviceKey(view.group, view.name);
  return {
    name,
    groupName: view.group,
    clusters,
    cacheMillis,
    hosts: view.hosts.map((h) => host(h, name)),
    lastRefTime: view.lastRefTime,
    checksum: view.checksum,
    allIPs: false,
    reachProtectionThreshold: view.reachProtectionThreshold,
    valid: true,
    namespace: view.namespace,
    revision: view.revision,
    protectThreshold: view.protectThreshold,
  };
}

/** The ServiceInfo JSON text of a view for a clusters string and cacheMillis. */
export function nacosServiceInfoJson(view: ServiceView, clusters: string, cacheMillis: number): string {
  return JSON.stringify(nacosServiceInfo(view, clusters, cacheMillis));
}

/**
 * ServiceInfo JSON texts encoded once per view, clusters string and cacheMillis, and shared by
 * every HTTP answer and UDP packet that needs them. One per server (its owner); entries go with
 * their views, which are immutable and replaced at each revision.
 */
export class NacosJsonCache {
  private readonly memo = new WeakMap<ServiceView, Map<string, string>>();

  json(view: ServiceView, clusters: string, cacheMillis: number): string {
    let byKey = this.memo.get(view);
    if (byKey === undefined) {
      byKey = new Map();
      this.memo.set(view, byKey);
    }
    const key = `${clusters}\u0000${cacheMillis}`;
    let json = byKey.get(key);
    if (json === undefined) {
      json = nacosServiceInfoJson(view, clusters, cacheMillis);
      // Bounded: clusters strings come from clients.
      if (byKey.size < 64) byKey.set(key, json);
    }
    return json;
  }
}

/** The bytes of a "dom" packet, gzip-compressed when at least GZIP_THRESHOLD_BYTES long. */
export function encodePushPacket(serviceInfoJson: string, pushId: number): Buffer {
  const packet: NacosPushPacket = { type: 'dom', data: serviceInfoJson, lastRefTime: pushId };
  const raw = Buffer.from(JSON.stringify(packet));
  return raw.length >= GZIP_THRESHOLD_BYTES ? gzipSync(raw) : raw;
}

/** Decodes a UDP datagram (gzip or plain JSON) as an object; undefined if it is neither. */
export function decodeDatagram(msg: Buffer): Record<string, unknown> | undefined {
  try {
    const raw = msg.length >= 2 && msg[0] === 0x1f && msg[1] === 0x8b ? gunzipSync(msg) : msg;
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The push id of an ack's `lastRefTime`, which clients send back as a number or a string. */
export function ackPushId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return String(Number(value.trim()));
  return undefined;
}
