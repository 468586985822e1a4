/** The server's configuration: transport settings plus the registry's rules and limits. */
import { DEFAULT_REGISTRY_OPTIONS, type RegistryOptions } from '../core/options.js';

/** How a persistent instance is checked: TCP connect, HTTP GET (2xx/3xx is healthy), or not at all. */
export const PROBE_KINDS = ['tcp', 'http', 'none'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

export interface ServerConfig {
  /** Interface to bind, e.g. 0.0.0.0, 127.0.0.1 or ::. */
  readonly host: string;
  /** gRPC port; 0 picks a free one. */
  readonly port: number;
  /** Changes to one service within this window become one push. */
  readonly mergeWindowMs: number;
  /** Subscribers pushed to per event-loop turn during a fan-out. */
  readonly fanOutSliceSize: number;
  /** How often the eviction task runs. */
  readonly evictionIntervalMs: number;
  /** Largest request message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Pushes a subscriber may have unflushed before newer snapshots replace pending ones. */
  readonly maxPushesInFlight: number;
  /**
   * Most Subscribe streams open on this server; more are refused with RESOURCE_EXHAUSTED. An open
   * stream costs about 12 KB of server memory, plus, while its subscriber is not reading, one copy
   * of its service's snapshot per unflushed push (grpc-js frames each message into its own buffer),
   * so memory for streams stays under maxSubscribeStreams × (12 KB + maxPushesInFlight × snapshot).
   */
  readonly maxSubscribeStreams: number;
  /** Most Subscribe streams open on one client connection; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxSubscribeStreamsPerConnection: number;
  /** Interval of the server's HTTP/2 keepalive pings, which find dead peers. */
  readonly keepaliveTimeMs: number;
  /** How long a keepalive ping may go unanswered before the connection is closed. */
  readonly keepaliveTimeoutMs: number;
  /** On shutdown, how long open calls get to finish before connections are closed. */
  readonly shutdownGraceMs: number;
  /** A stop of the server longer than this (SIGSTOP, a blocked event loop) is not held against leases. */
  readonly pauseThresholdMs: number;
  /** How often Nacos-style heartbeats are checked (overdue → unhealthy; past the lease → evicted). */
  readonly heartbeatCheckIntervalMs: number;
  /** Serve the Nacos v1 open API over HTTP. */
  readonly nacosApi: boolean;
  /** HTTP port of the Nacos v1, Eureka REST and Consul-compatible APIs, the web console, /metrics and the probes; 0 picks a free one. */
  readonly httpPort: number;
  /** Serve the Eureka REST API over HTTP. */
  readonly eurekaApi: boolean;
  /** Serve the web console (its page, JSON API and event stream) at `/` on the HTTP port. */
  readonly console: boolean;
  /** Base path of the Eureka REST API (`<base>/v2` is served too). */
  readonly eurekaBasePath: string;
  /** Namespace Eureka apps live in (services of its default group). */
  readonly eurekaNamespace: string;
  /** Serve the Consul-compatible HTTP API under /v1 (docs/consul.md). */
  readonly consulApi: boolean;
  /** Serve xDS (the ADS service) on the gRPC port, for proxyless gRPC clients (docs/xds.md). */
  readonly xds: boolean;
  /** Namespace Consul services live in (services of its default group) unless a request names one with `?ns=`. */
  readonly consulNamespace: string;
  /** Consul blocking queries (`?index=`) held at once; more are answered 429. */
  readonly consulMaxBlockingQueries: number;
  /** Beat interval asked of Nacos clients. */
  readonly nacosBeatIntervalMs: number;
  /** A Nacos-registered instance is shown unhealthy after this long without a beat. */
  readonly nacosBeatTimeoutMs: number;
  /** A Nacos-registered instance is removed after this long without a beat. */
  readonly nacosIpDeleteTimeoutMs: number;
  /** Push changes by UDP to callers that pull with a UDP port. */
  readonly udpPush: boolean;
  /** A UDP target that has not pulled again within this long is dropped. */
  readonly udpTargetExpiryMs: number;
  /** How long to wait for a UDP push ack before sending again. */
  readonly udpAckTimeoutMs: number;
  /** Resends of an unacked UDP push before it counts as failed. */
  readonly udpMaxRetries: number;
  /** Receive buffer of the UDP push socket, where acks queue (the kernel may cap it). */
  readonly udpReceiveBufferBytes: number;
  /** UDP push packets sent per event-loop turn (others are served in between). */
  readonly udpSendBatchSize: number;
  /** The cluster's nodes (host:port, gRPC); this node's own entry is skipped. Empty = standalone. */
  readonly peers: readonly string[];
  /** Eureka servers (service URLs) that receive this node's changes to Eureka apps in peer batches. */
  readonly eurekaPeers: readonly string[];
  /** Secret every peer call must carry; undefined = no authentication between peers. */
  readonly clusterSecret: string | undefined;
  /** The auth file (users, tokens, roles); undefined = authentication off. */
  readonly authFile: string | undefined;
  /**
   * Key that signs access tokens (Nacos logins); nodes that share it accept each other's tokens.
   * Undefined = derived from the cluster secret when there is one, else random per start.
   */
  readonly authTokenKey: string | undefined;
  /** How long an access token from a login is valid (Nacos's tokenTtl). */
  readonly authTokenTtlMs: number;
  /** How often the auth file and the TLS files are checked for changes (reloaded without a restart). */
  readonly reloadIntervalMs: number;
  /** PEM certificate chain served on the gRPC and HTTP ports; with tlsKey, turns TLS on. */
  readonly tlsCert: string | undefined;
  /** PEM private key of tlsCert. */
  readonly tlsKey: string | undefined;
  /**
   * PEM CA bundle: clients must present a certificate it signed (mutual TLS), and peers' server
   * certificates are verified with it (this node presents tlsCert to them). Undefined = no client
   * certificates; peers are verified with the system's roots.
   */
  readonly tlsCa: string | undefined;
  /** This node's id in the cluster; undefined = a random UUID per start. */
  readonly nodeId: string | undefined;
  /** Most replication tasks per batch. */
  readonly replicationBatchSize: number;
  /** Replication tasks wait this long for others to join their batch. */
  readonly replicationBatchDelayMs: number;
  /** A replication task not delivered within this long is dropped (anti-entropy repairs later). */
  readonly replicationTaskExpiryMs: number;
  /** Most replication tasks queued per peer; the oldest are dropped beyond it. */
  readonly replicationQueueSize: number;
  /** First delay before retrying a failed batch; it doubles up to replicationRetryMaxMs. */
  readonly replicationRetryBaseMs: number;
  /** Longest delay between retries of a failed batch. */
  readonly replicationRetryMaxMs: number;
  /** How long a starting node waits for a peer to sync from before it serves alone. */
  readonly syncTimeoutMs: number;
  /** How often checksums are compared with each peer (anti-entropy). */
  readonly verifyIntervalMs: number;
  /** Deadline of calls to peers. */
  readonly peerCallTimeoutMs: number;
  /**
   * Directory of the durable store (persistent instances, their cancels, service settings), created
   * when missing; undefined = nothing is kept across restarts (the default of an embedded server;
   * `herald serve` defaults to ./data).
   */
  readonly dataDir: string | undefined;
  /**
   * How persistent instances (no lease) are checked when neither they nor their service say
   * (metadata `herald.probe`): a TCP connect, an HTTP GET, or not at all.
   */
  readonly probeDefault: ProbeKind;
  /** How often each persistent instance is probed (metadata `herald.probe.interval-ms` overrides). */
  readonly probeIntervalMs: number;
  /** A probe that has not succeeded within this long failed (metadata `herald.probe.timeout-ms`). */
  readonly probeTimeoutMs: number;
  /** Failed probes in a row that show a healthy instance unhealthy (`herald.probe.unhealthy-threshold`). */
  readonly probeUnhealthyThreshold: number;
  /** Successful probes in a row that show an unhealthy instance healthy again (`herald.probe.healthy-threshold`). */
  readonly probeHealthyThreshold: number;
  /** Most probes in flight at once on this node. */
  readonly probeConcurrency: number;
  /** Serve Prometheus metrics at /metrics on the HTTP port (the HTTP port opens for it even with both HTTP APIs off). */
  readonly metrics: boolean;
  /** With auth on, /metrics needs read on every namespace; false opens it to every caller. */
  readonly metricsAuth: boolean;
  /** Metrics per service as well (one series per service: only where services are few). */
  readonly metricsPerService: boolean;
  /** Registry rules and limits; unset ones take the core's defaults. */
  readonly registry: Partial<RegistryOptions>;
}

export const DEFAULT_SERVER_CONFIG: ServerConfig = Object.freeze({
  host: '0.0.0.0',
  port: 7070,
  mergeWindowMs: 5,
  fanOutSliceSize: 64,
  evictionIntervalMs: 60_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxPushesInFlight: 1,
  maxSubscribeStreams: 20_000,
  maxSubscribeStreamsPerConnection: 1_000,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  shutdownGraceMs: 5_000,
  pauseThresholdMs: 1_000,
  heartbeatCheckIntervalMs: 5_000,
  nacosApi: true,
  httpPort: 8848,
  eurekaApi: true,
  console: true,
  eurekaBasePath: '/eureka',
  eurekaNamespace: 'public',
  consulApi: true,
  xds: true,
  consulNamespace: 'public',
  consulMaxBlockingQueries: 10_000,
  nacosBeatIntervalMs: 5_000,
  nacosBeatTimeoutMs: 15_000,
  nacosIpDeleteTimeoutMs: 30_000,
  udpPush: true,
  udpTargetExpiryMs: 10_000,
  udpAckTimeoutMs: 1_000,
  udpMaxRetries: 3,
  udpReceiveBufferBytes: 4 * 1024 * 1024,
  udpSendBatchSize: 256,
  peers: [],
  eurekaPeers: [],
  clusterSecret: undefined,
  authFile: undefined,
  authTokenKey: undefined,
  authTokenTtlMs: 18_000_000,
  reloadIntervalMs: 2_000,
  tlsCert: undefined,
  tlsKey: undefined,
  tlsCa: undefined,
  nodeId: undefined,
  replicationBatchSize: 250,
  replicationBatchDelayMs: 5,
  replicationTaskExpiryMs: 30_000,
  replicationQueueSize: 10_000,
  replicationRetryBaseMs: 100,
  replicationRetryMaxMs: 5_000,
  syncTimeoutMs: 10_000,
  verifyIntervalMs: 10_000,
  peerCallTimeoutMs: 5_000,
  dataDir: undefined,
  probeDefault: 'tcp',
  probeIntervalMs: 5_000,
  probeTimeoutMs: 2_000,
  probeUnhealthyThreshold: 2,
  probeHealthyThreshold: 1,
  probeConcurrency: 64,
  metrics: true,
  metricsAuth: true,
  metricsPerService: false,
  registry: {},
});

/** host:port, bracketing IPv6 literals. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The address of a gRPC peer (`127.0.0.1:5000`, `[::1]:5000`, `ipv4:…`) as a bare IP; IPv4-mapped
 * IPv6 addresses become IPv4. Undefined if it is not an IP peer.
 */
export function peerIp(peer: string): string | undefined {
  let p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) p = p.slice(1, p.indexOf(']'));
  else if (p.split(':').length === 2) p = p.slice(0, p.lastIndexOf(':'));
  if (p.startsWith('::ffff:') && p.includes('.')) p = p.slice('::ffff:'.length);
  return /^[0-9a-fA-F:.]+$/.test(p) && p !== '' ? p : undefined;
}

/** Rejects server settings that cannot work together (RangeError naming the settings). */
export function validateServerConfig(c: ServerConfig): void {
  if (!(c.nacosBeatIntervalMs <= c.nacosBeatTimeoutMs && c.nacosBeatTimeoutMs <= c.nacosIpDeleteTimeoutMs)) {
    throw new RangeError('nacosBeatIntervalMs must not exceed nacosBeatTimeoutMs, which must not exceed nacosIpDeleteTimeoutMs');
  }
  if (c.nacosBeatIntervalMs >= c.nacosIpDeleteTimeoutMs) throw new RangeError('nacosBeatIntervalMs must be shorter than nacosIpDeleteTimeoutMs');
  if (!/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(c.eurekaBasePath)) throw new RangeError('eurekaBasePath must be a path such as /eureka');
  const minLease = c.registry.minLeaseDurationMs ?? 1_000;
  const tombstoneRetention = c.registry.tombstoneRetentionMs ?? DEFAULT_REGISTRY_OPTIONS.tombstoneRetentionMs;
  if (c.peers.length > 0 && tombstoneRetention <= c.replicationTaskExpiryMs + c.peerCallTimeoutMs) {
    throw new RangeError(
      'tombstoneRetentionMs must exceed replicationTaskExpiryMs + peerCallTimeoutMs, or a cancel could be forgotten while an older replication is still on its way',
    );
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new RangeError('tlsCert and tlsKey go together: give both or neither');
  if (c.tlsCa !== undefined && c.tlsCert === undefined) throw new RangeError('tlsCa (client certificates) needs tlsCert and tlsKey');
  if (c.clusterSecret === undefined) {
    const exposed = [...c.peers, ...c.eurekaPeers].filter((p) => !isLoopbackAddress(p));
    if ((c.peers.length > 0 || c.eurekaPeers.length > 0) && (!isLoopbackHost(c.host) || exposed.length > 0)) {
      throw new RangeError(
        `clusterSecret is required for a cluster on a non-loopback address (${exposed.length > 0 ? exposed.join(', ') : `listening on ${c.host}`}): anyone who can reach a node could otherwise replicate into it`,
      );
    }
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) throw new RangeError('probeTimeoutMs must be shorter than probeIntervalMs');
  if (c.nacosApi && c.nacosIpDeleteTimeoutMs < minLease) throw new RangeError('nacosIpDeleteTimeoutMs must be at least minLeaseDurationMs');
}

/** Whether an interface to bind is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether a peer address (host:port, or a URL) points at a loopback host. */
export function isLoopbackAddress(address: string): boolean {
  let host: string;
  try {
    if (/^[a-z]+:\/\//i.test(address)) host = new URL(address).hostname;
    else if (address.startsWith('[')) host = address.slice(1, address.indexOf(']'));
    else host = address.split(':')[0] ?? '';
  } catch {
    return false;
  }
  return isLoopbackHost(host);
}
