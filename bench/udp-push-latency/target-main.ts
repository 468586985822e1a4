/**
 * A UDP push load process: many push targets, each a raw udp4 socket on 127.0.0.1 (port 0),
 * registered by one GetService carrying its port (the server sees the caller as 127.0.0.1, so
 * `127.0.0.1:port` becomes a target of the service). Each datagram is decoded, acknowledged and
 * timestamped once its ServiceInfo is parsed and the tag read (dom-packet.ts); the timestamps are
 * tallied per change as push-latency's subscribers are (received, skipped, missing). Started by
 * bench/udp-push-latency.ts, never by hand.
 */
import { createSocket, type Socket } from 'node:dgram';
import { GetServiceRequest, RegistryServiceService } from '../../src/gen/herald/v1/registry_service.js';
import { serveCommands } from '../lib/command-loop.js';
import { LightGrpcConnection } from '../lib/light-grpc-connection.js';
import { readTagFromMessage } from '../lib/push/changes.js';
import { openInBatches } from '../lib/push/load-protocol.js';
import { SubscriberTally } from '../lib/push/subscriber-tally.js';
import { wallNowMs } from '../lib/wall-clock.js';
import { ackFor, readDomPacket, tagFromServiceInfo } from './dom-packet.js';
import type { TargetCommands, TargetLoadConfig, TargetLoadResult } from './target-commands.js';

interface Load {
  readonly config: TargetLoadConfig;
  readonly tally: SubscriberTally;
  readonly sockets: Socket[];
  readonly measuredPackets: Int32Array;
  readonly decodeUs: number[];
  duplicates: number;
  unreadable: number;
  acks: number;
  packetBytes: number;
  serviceInfoBytes: number;
}

let load: Load | undefined;

function bindTarget(l: Load, target: number): Promise<Socket> {
  const { config, tally } = l;
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4' });
    socket.once('error', reject);
    socket.on('message', (msg, rinfo) => {
      const arrived = performance.now();
      const packet = readDomPacket(msg);
      if (packet === undefined) {
        l.unreadable++;
        return;
      }
      // Acknowledge first, as the SDK's UdpReceiver and Nacos's PushReceiver do.
      socket.send(ackFor(packet), rinfo.port, rinfo.address);
      l.acks++;
      const tag = tagFromServiceInfo(packet.data, config.taggedInstanceId);
      const decodedAt = wallNowMs();
      if (tag === undefined) {
        l.unreadable++;
        return;
      }
      const measured = tag.seq >= config.firstMeasured && tag.seq <= config.lastMeasured;
      if (measured) {
        l.measuredPackets[target] = (l.measuredPackets[target] ?? 0) + 1;
        l.decodeUs.push((performance.now() - arrived) * 1000);
      }
      if (tag.seq <= tally.lastSeen(target)) l.duplicates++;
      tally.observe(target, tag.seq, tag.issuedAtMs, decodedAt);
      l.packetBytes = msg.length;
      l.serviceInfoBytes = packet.data.length;
    });
    socket.bind({ address: '127.0.0.1', port: 0 }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

const getService = RegistryServiceService.getService;

async function open(config: TargetLoadConfig): Promise<{ openMs: number }> {
  if (load !== undefined) throw new Error('already open');
  const l: Load = {
    config,
    tally: new SubscriberTally(config.subscribers, config.firstMeasured, config.lastMeasured),
    sockets: [],
    measuredPackets: new Int32Array(config.subscribers),
    decodeUs: [],
    duplicates: 0,
    unreadable: 0,
    acks: 0,
    packetBytes: 0,
    serviceInfoBytes: 0,
  };
  load = l;
  const started = performance.now();
  for (let t = 0; t < config.subscribers; t++) l.sockets.push(await bindTarget(l, t));
  const connection = new LightGrpcConnection(config.address);
  try {
    // The pull's answer is the target's starting point (the first UDP packet is the next change).
    await openInBatches(config.subscribers, config.openBatch, async (t) => {
      const port = l.sockets[t]?.address().port ?? 0;
      const answer = await connection.unary(getService.path, getService.requestSerialize(GetServiceRequest.fromPartial({ service: config.service, udpPort: port })));
      const tag = readTagFromMessage(answer);
      if (tag === undefined) throw new Error('the pull answer carries no change tag');
      l.tally.observe(t, tag.seq, tag.issuedAtMs, wallNowMs());
    });
  } finally {
    connection.close();
  }
  return { openMs: performance.now() - started };
}

async function collect(untilSeq: number, timeoutMs: number): Promise<TargetLoadResult> {
  const l = load;
  if (l === undefined) throw new Error('not open');
  await l.tally.caughtUp(untilSeq, timeoutMs);
  // The sockets stay open (closed on exit), so late resends are still answered while the
  // benchmark waits for the server's pending acks to settle.
  return {
    ...l.tally.finish(),
    measuredPackets: l.measuredPackets,
    duplicates: l.duplicates,
    unreadable: l.unreadable,
    acks: l.acks,
    decodeUs: Float64Array.from(l.decodeUs),
    packetBytes: l.packetBytes,
    serviceInfoBytes: l.serviceInfoBytes,
  };
}

serveCommands<TargetCommands>(
  {
    open,
    collect: ({ untilSeq, timeoutMs }) => collect(untilSeq, timeoutMs),
  },
  {
    beforeExit: () => {
      for (const s of load?.sockets ?? []) s.close();
    },
  },
);
