/** A bare UDP push receiver for tests: records packets, and acks them unless told not to. */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { onCleanup } from './server.js';

export interface ReceivedPacket {
  readonly raw: Buffer;
  readonly gzipped: boolean;
  readonly packet: { type: string; data: string; lastRefTime: number };
  readonly info: { name: string; clusters: string; hosts: { instanceId: string; ip: string; healthy: boolean }[]; revision: number; lastRefTime: number };
  readonly from: RemoteInfo;
}

export async function udpClient(options: { ack?: 'number' | 'string' | 'none' } = {}): Promise<{ port: number; packets: ReceivedPacket[]; setAck(mode: 'number' | 'string' | 'none'): void }> {
  const socket = createSocket('udp4');
  const packets: ReceivedPacket[] = [];
  let ack = options.ack ?? 'number';
  socket.on('message', (raw, from) => {
    const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
    const packet = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString('utf8')) as ReceivedPacket['packet'];
    packets.push({ raw, gzipped, packet, info: JSON.parse(packet.data) as ReceivedPacket['info'], from });
    if (ack !== 'none') {
      const lastRefTime = ack === 'string' ? String(packet.lastRefTime) : packet.lastRefTime;
      socket.send(JSON.stringify({ type: 'push-ack', lastRefTime, data: '' }), from.port, from.address);
    }
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
  };
}
