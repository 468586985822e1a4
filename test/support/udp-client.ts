/** A bare UDP push receiver for tests: records packets, and acks them unless told not to. */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { BehaviorSubject } from 'rxjs';
import { onCleanup, record } from './server.js';

export interface ReceivedPacket {
  readonly raw: Buffer;
  readonly gzipped: boolean;
  readonly packet: { type: string; data: string; lastRefTime: number };
  readonly info: { name: string; clusters: string; hosts: { instanceId: string; ip: string; healthy: boolean }[]; revision: number; lastRefTime: number };
  readonly from: RemoteInfo;
}

export interface UdpTestClient {
  readonly port: number;
  /** Every packet received, in order. */
  readonly packets: ReceivedPacket[];
  setAck(mode: 'number' | 'string' | 'none'): void;
  /** Resolves once `check` holds, looking now and after each packet (acked first, when acking); fails after the wait limit with `what`. */
  until(check: (packets: readonly ReceivedPacket[]) => boolean, what: string): Promise<void>;
}

export async function udpClient(options: { ack?: 'number' | 'string' | 'none' } = {}): Promise<UdpTestClient> {
  const socket = createSocket('udp4');
  const packets: ReceivedPacket[] = [];
  const arrived = new BehaviorSubject<void>(undefined);
  const arrivals = record(arrived);
  let ack = options.ack ?? 'number';
  socket.on('message', (raw, from) => {
    const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
    const packet = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString('utf8')) as ReceivedPacket['packet'];
    packets.push({ raw, gzipped, packet, info: JSON.parse(packet.data) as ReceivedPacket['info'], from });
    if (ack !== 'none') {
      const lastRefTime = ack === 'string' ? String(packet.lastRefTime) : packet.lastRefTime;
      socket.send(JSON.stringify({ type: 'push-ack', lastRefTime, data: '' }), from.port, from.address);
    }
    arrived.next();
  });
  await new Promise<void>((resolve) => {
    socket.bind(0, '127.0.0.1', resolve);
  });
  onCleanup(() => {
    socket.close();
  });
  return {
    port: socket.address().port,
    packets,
    setAck: (mode) => {
      ack = mode;
    },
    until: async (check, what) => {
      await arrivals.until(() => check(packets), what, () => `packets received: ${packets.map((p) => `${p.info.name} [${p.info.hosts.map((h) => h.instanceId).join(', ')}]`).join('; ')}`);
    },
  };
}
