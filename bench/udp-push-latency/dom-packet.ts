/**
 * What a UDP push target does with a datagram, as a Nacos 1.x client does (and as the SDK's
 * UdpReceiver does): decode it with the project's decodeDatagram (gunzip when it starts with the
 * gzip magic, then JSON), answer a "dom" packet with a push-ack to the packet's source, and parse
 * the ServiceInfo JSON string it carries. The change tag is then read from the tagged host's
 * metadata (docs/protocol.md, "UDP push").
 */
import { decodeDatagram } from '../../src/common/nacos-json.js';
import { tagOfMetadata, type ChangeTag } from '../lib/push/changes.js';

export interface DomPacket {
  /** The push id as sent (a number); echoed unchanged in the ack. */
  readonly lastRefTime: unknown;
  /** The ServiceInfo as a JSON string. */
  readonly data: string;
}

/** The "dom" packet in a datagram, or undefined for anything else. */
export function readDomPacket(msg: Buffer): DomPacket | undefined {
  const packet = decodeDatagram(msg);
  if (packet?.type !== 'dom' || typeof packet.data !== 'string') return undefined;
  return { lastRefTime: packet.lastRefTime, data: packet.data };
}

/** The ack of a push: `{"type":"push-ack","lastRefTime":…,"data":""}`. */
export function ackFor(packet: DomPacket): Buffer {
  return Buffer.from(JSON.stringify({ type: 'push-ack', lastRefTime: packet.lastRefTime, data: '' }));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the ServiceInfo JSON and returns the tag of host `instanceId` (undefined if absent). */
export function tagFromServiceInfo(json: string, instanceId: string): ChangeTag | undefined {
  const info: unknown = JSON.parse(json);
  if (!isRecord(info) || !Array.isArray(info.hosts)) return undefined;
  for (const h of info.hosts as unknown[]) {
    if (isRecord(h) && h.instanceId === instanceId && isRecord(h.metadata)) return tagOfMetadata(h.metadata);
  }
  return undefined;
}
