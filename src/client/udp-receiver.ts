/**
 * The SDK's UDP push receiver (Nacos's PushReceiver): a UDP socket on port 0 whose port goes with
 * every pull; each "dom" packet (gzip or plain) is acknowledged with `push-ack` and its ServiceInfo
 * handed to the cache under the key the server echoes (`group@@service` plus clusters).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { Observable, Subject } from 'rxjs';
import type { InstanceStatus } from '../core/model.js';
import { isInstanceStatus, KEY_SEPARATOR } from '../core/model.js';
import { decodeDatagram } from '../common/nacos-json.js';
import type { Logger } from '../common/logger.js';
import { cacheKey } from './cache-key.js';
import type { ServiceInstance, ServiceSnapshot } from './model.js';

export interface UdpPush {
  readonly key: string;
  readonly snapshot: ServiceSnapshot;
  readonly from: string;
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const boolOr = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);

function hostFromNacos(h: Record<string, unknown>): ServiceInstance {
  const status: InstanceStatus = isInstanceStatus(h.status) ? h.status : 'UP';
  const meta = typeof h.metadata === 'object' && h.metadata !== null ? (h.metadata as Record<string, unknown>) : {};
  return {
    instanceId: str(h.instanceId),
    ip: str(h.ip),
    port: num(h.port),
    weight: num(h.weight, 1),
    healthy: boolOr(h.healthy, true),
    enabled: boolOr(h.enabled, true),
    ephemeral: boolOr(h.ephemeral, true),
    cluster: str(h.clusterName, 'DEFAULT'),
    metadata: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    status,
    overriddenStatus: undefined,
    lastDirtyTimestamp: 0,
    leaseDurationMs: num(h.ipDeleteTimeout),
    renewalIntervalMs: num(h.instanceHeartBeatInterval),
  };
}

/** A Nacos ServiceInfo (as herald sends it) as a snapshot and its cache key; undefined if malformed. */
export function snapshotFromNacos(info: Record<string, unknown>): { key: string; snapshot: ServiceSnapshot } | undefined {
  const grouped = str(info.name);
  const i = grouped.indexOf(KEY_SEPARATOR);
  if (i < 0 || !Array.isArray(info.hosts)) return undefined;
  const group = grouped.slice(0, i);
  const name = grouped.slice(i + KEY_SEPARATOR.length);
  const clusters = str(info.clusters)
    .split(',')
    .filter((c) => c !== '');
  const hosts = (info.hosts as unknown[]).filter((h): h is Record<string, unknown> => typeof h === 'object' && h !== null).map(hostFromNacos);
  const snapshot: ServiceSnapshot = {
    namespace: str(info.namespace, 'public'),
    group,
    name,
    clusters,
    hosts,
    lastRefTime: num(info.lastRefTime),
    checksum: str(info.checksum),
    revision: num(info.revision, num(info.lastRefTime)),
    cacheMillis: num(info.cacheMillis, 10_000),
    reachProtectionThreshold: boolOr(info.reachProtectionThreshold, false),
    protectThreshold: num(info.protectThreshold),
  };
  return { key: cacheKey(name, { group, clusters }), snapshot };
}

export class UdpReceiver {
  private readonly pushes = new Subject<UdpPush>();
  /** Every valid push received (already acknowledged). */
  readonly pushes$: Observable<UdpPush> = this.pushes.asObservable();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly logger: Logger,
  ) {
    socket.on('message', (msg, rinfo) => {
      this.onMessage(msg, rinfo);
    });
    socket.on('error', (e) => {
      logger.warn({ err: e }, 'udp receiver error');
    });
  }

  /** Binds a UDP socket on port 0 of `host` (default all IPv4 interfaces, as Nacos does). */
  static start(logger: Logger, host = '0.0.0.0'): Promise<UdpReceiver> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
      socket.once('error', reject);
      socket.bind({ address: host, port: 0 }, () => {
        socket.off('error', reject);
        socket.unref();
        resolve(new UdpReceiver(socket, logger));
      });
    });
  }

  get port(): number {
    return this.closed ? 0 : this.socket.address().port;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pushes.complete();
    this.socket.close();
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const packet = decodeDatagram(msg);
    if (packet === undefined) return;
    const ack = JSON.stringify({ type: packet.type === 'dom' ? 'push-ack' : 'unknown-ack', lastRefTime: packet.lastRefTime, data: '' });
    this.socket.send(ack, rinfo.port, rinfo.address);
    if (packet.type !== 'dom' || typeof packet.data !== 'string') return;
    try {
      const info = JSON.parse(packet.data) as unknown;
      const parsed = typeof info === 'object' && info !== null ? snapshotFromNacos(info as Record<string, unknown>) : undefined;
      if (parsed === undefined) return;
      this.pushes.next({ ...parsed, from: `${rinfo.address}:${rinfo.port}` });
    } catch (e) {
      this.logger.debug({ err: e }, 'ignoring malformed udp push');
    }
  }
}
