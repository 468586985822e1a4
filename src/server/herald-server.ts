/**
 * The composition root of a herald node: registry, push hub, eviction and beat-check loops, the
 * gRPC server with health and reflection, the UDP pusher, the Nacos v1 HTTP API and the cluster
 * (replication, start-up sync, anti-entropy). It owns everything it starts; `close()` ends
 * Subscribe streams with UNAVAILABLE, stops timers and releases every port.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { systemClock, type Clock } from '../core/clock.js';
import { Registry } from '../core/registry.js';
import { DEFAULT_REGISTRY_OPTIONS } from '../core/options.js';
import type { Logger } from '../common/logger.js';
import { SubscriberStreams } from '../push/subscriber-streams.js';
import { SnapshotFrames } from './grpc-codec.js';
import { PushHub } from '../push/push-hub.js';
import { nodeTimers, type Timers } from '../common/timers.js';
import { DEFAULT_SERVER_CONFIG, formatAddress, peerIp, validateServerConfig, type ServerConfig } from './config.js';
import { UdpPusher } from '../push/udp-pusher.js';
import { NacosJsonCache } from '../common/nacos-json.js';
import { HttpServer, type RouteRegistrar } from './http-server.js';
import { Cluster } from '../cluster/cluster.js';
import type { PeerLink } from '../cluster/peer-link.js';
import { ClusterServiceService, PeerServiceService } from '../gen/herald/v1/peer_service.js';
import { peerServiceHandlers } from './peer/peer-service.js';
import { GrpcPeerLink } from './peer/grpc-peer-link.js';
import { EurekaPeerLink } from './eureka/eureka-peer-link.js';
import { clusterServiceHandlers } from './cluster-service.js';
import { registerNacosRoutes, type NacosRequestCounts } from './nacos/nacos-api.js';
import { registerEurekaRoutes, type EurekaRequestCounts } from './eureka/eureka-api.js';
import { EvictionLoop } from './eviction-loop.js';
import { BeatCheckLoop } from './beat-check-loop.js';
import { PauseDetector } from './pause-detector.js';
import { createSecureRandom } from '../common/secure-random.js';
import type { NodeStatus } from './node-status.js';
import { addReflection } from './reflection.js';
import { addGuardedService } from './request-decoding.js';
import { registryServiceDefinition } from './service-definition.js';
import { registryServiceHandlers } from './registry-service.js';

export const REGISTRY_SERVICE_NAME = 'herald.v1.RegistryService';

export interface HeraldServerDeps {
  readonly config?: Partial<ServerConfig>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly timers?: Timers;
  /** A monotonic clock in ms (the pause detector measures with it). Default performance.now. */
  readonly monotonicMs?: () => number;
  /** Builds links to peers (tests wrap them to inject faults). */
  readonly peerLinkFactory?: (address: string, secret: string | undefined, callTimeoutMs: number) => PeerLink;
}

export class HeraldServer {
  readonly registry: Registry;
  readonly hub: PushHub;
  readonly config: ServerConfig;
  private readonly grpc: Server;
  private readonly health: HealthImplementation;
  private readonly eviction: EvictionLoop;
  private readonly beatCheck: BeatCheckLoop;
  private readonly pauses: PauseDetector;
  /** The UDP pusher, when UDP push is on. */
  readonly udp: UdpPusher | undefined;
  private http: HttpServer | undefined;
  private nacosCounts: NacosRequestCounts | undefined;
  private eurekaCounts: EurekaRequestCounts | undefined;
  private cluster: Cluster | undefined;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly deps: HeraldServerDeps;
  /** Open Subscribe streams (push owns them); the server ends them on shutdown. */
  private readonly streams: SubscriberStreams<Buffer>;
  /** Encode-once snapshot frames shared by pulls and pushes. */
  private readonly frames = new SnapshotFrames();
  private readonly logger: Logger;
  /** Nacos ServiceInfo JSON per view, shared by the Nacos API and UDP push. */
  private readonly nacosJson = new NacosJsonCache();
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  /** Subscribe calls refused at a stream limit, and when that was last logged. */
  private refusedSubscribes = 0;
  private refusedLoggedAtMs = Number.NEGATIVE_INFINITY;

  private constructor(deps: HeraldServerDeps) {
    this.config = { ...DEFAULT_SERVER_CONFIG, ...deps.config, registry: { ...DEFAULT_SERVER_CONFIG.registry, ...deps.config?.registry } };
    this.logger = deps.logger;
    const clock = deps.clock ?? systemClock;
    const timers = deps.timers ?? nodeTimers;
    this.clock = clock;
    this.timers = timers;
    this.deps = deps;
    const c = this.config;
    validateServerConfig(c);
    // Clients that receive UDP pushes refresh their target by polling every cache_millis: keep that
    // well inside the target expiry, or their pushes would stop between polls.
    const configuredCacheMillis = c.registry.cacheMillis ?? DEFAULT_REGISTRY_OPTIONS.cacheMillis;
    const cacheMillis = c.udpPush ? Math.min(configuredCacheMillis, Math.floor(c.udpTargetExpiryMs / 2)) : configuredCacheMillis;
    this.registry = new Registry({ clock, random: deps.random ?? createSecureRandom(), options: { ...c.registry, cacheMillis } });
    this.hub = new PushHub({ registry: this.registry, timers, mergeWindowMs: c.mergeWindowMs, fanOutSliceSize: c.fanOutSliceSize, logger: this.logger });
    this.streams = new SubscriberStreams<Buffer>({
      hub: this.hub,
      encode: (view) => this.frames.frame(view),
      logger: this.logger,
      maxPushesInFlight: c.maxPushesInFlight,
      maxStreams: c.maxSubscribeStreams,
      maxStreamsPerConnection: c.maxSubscribeStreamsPerConnection,
    });
    this.pauses = new PauseDetector({
      clock,
      timers,
      logger: this.logger,
      thresholdMs: c.pauseThresholdMs,
      ...(deps.monotonicMs === undefined ? {} : { monotonicMs: deps.monotonicMs }),
      onPause: (fromMs, toMs) => {
        this.registry.notePause(fromMs, toMs);
      },
    });
    const beforeRun = (): void => {
      this.pauses.check();
    };
    this.eviction = new EvictionLoop({ registry: this.registry, clock, timers, intervalMs: c.evictionIntervalMs, logger: this.logger, beforeRun });
    this.beatCheck = new BeatCheckLoop({ registry: this.registry, timers, intervalMs: c.heartbeatCheckIntervalMs, logger: this.logger, beforeRun });
    this.udp = c.udpPush
      ? new UdpPusher({
          hub: this.hub,
          clock,
          timers,
          logger: this.logger,
          bindHost: c.host,
          options: {
            targetExpiryMs: c.udpTargetExpiryMs,
            ackTimeoutMs: c.udpAckTimeoutMs,
            maxRetries: c.udpMaxRetries,
            sendBatchSize: c.udpSendBatchSize,
            receiveBufferBytes: c.udpReceiveBufferBytes,
          },
          encodeServiceInfo: (view, clusters) => this.nacosJson.json(view, clusters, cacheMillis),
        })
      : undefined;
    const udp = this.udp;
    this.grpc = new Server({
      'grpc.max_receive_message_length': this.config.maxMessageBytes,
      'grpc.keepalive_time_ms': this.config.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': this.config.keepaliveTimeoutMs,
    });
    addGuardedService(
      this.grpc,
      registryServiceDefinition,
      registryServiceHandlers({
        registry: this.registry,
        logger: this.logger,
        streams: this.streams,
        frames: this.frames,
        onSubscribeRefused: (limit) => {
          this.onSubscribeRefused(limit);
        },
        ...(udp === undefined
          ? {}
          : {
              onPull: (view, peer, port) => {
                const ip = peerIp(peer);
                if (ip === undefined) return;
                const ref = { namespace: view.namespace, group: view.group, service: view.name };
                udp.touch(ref, ip, port, view.clusters.join(','), { clusters: view.clusters, healthyOnly: view.healthyOnly });
              },
            }),
      }),
    );
    // The cluster starts once the port is bound (it must recognise itself in the peer list), so
    // these services read its state per call.
    const nodeId = (): string => this.cluster?.nodeId ?? c.nodeId ?? '';
    addGuardedService(
      this.grpc,
      PeerServiceService,
      peerServiceHandlers({
        registry: this.registry,
        nodeId,
        secret: c.clusterSecret,
        logger: this.logger,
        onPeerContact: (peer: string) => {
          this.cluster?.peerContact(peer);
        },
      }),
    );
    addGuardedService(
      this.grpc,
      ClusterServiceService,
      clusterServiceHandlers({
        nodeId,
        clusterStatus: () => ({ synced: this.cluster?.synced ?? false, peers: this.cluster?.status() ?? [] }),
        nodeStatus: () => this.nodeStatus(),
      }),
    );
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [REGISTRY_SERVICE_NAME]: 'NOT_SERVING' });
    this.health.addToServer(this.grpc);
    addReflection(this.grpc);
  }

  /** Binds, starts eviction, and reports SERVING. Rejects (with nothing left running) if the port is taken. */
  static async start(deps: HeraldServerDeps): Promise<HeraldServer> {
    const server = new HeraldServer(deps);
    const address = formatAddress(server.config.host, server.config.port);
    server.boundPort = await new Promise<number>((resolve, reject) => {
      server.grpc.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
        if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`));
        else resolve(port);
      });
    }).catch((e: unknown) => {
      server.hub.close();
      server.grpc.forceShutdown();
      throw e;
    });
    try {
      await server.udp?.start();
      server.http = await server.startHttp();
      server.cluster = server.startCluster();
      // NOT_SERVING until the start-up sync is over (bounded by --sync-timeout-ms).
      await server.cluster.startupSync();
    } catch (e) {
      await server.close();
      throw e;
    }
    server.pauses.start();
    server.eviction.start();
    server.beatCheck.start();
    server.setServing(true);
    server.logger.info(
      {
        address: formatAddress(server.config.host, server.boundPort),
        ...(server.http === undefined ? {} : { http: formatAddress(server.config.host, server.http.port) }),
        ...(server.udp === undefined ? {} : { udpPush: formatAddress(server.config.host, server.udp.port) }),
      },
      'herald is serving',
    );
    return server;
  }

  private startCluster(): Cluster {
    const c = this.config;
    const cluster = new Cluster({
      registry: this.registry,
      ownPort: this.boundPort,
      boundHost: c.host,
      ownHttpPort: this.http?.port,
      clock: this.clock,
      timers: this.timers,
      logger: this.logger.child({ component: 'cluster' }),
      config: {
        peers: c.peers,
        eurekaPeers: c.eurekaPeers,
        ...(c.nodeId === undefined ? {} : { nodeId: c.nodeId }),
        syncTimeoutMs: c.syncTimeoutMs,
        verifyIntervalMs: c.verifyIntervalMs,
        dispatcher: {
          maxBatchSize: c.replicationBatchSize,
          batchDelayMs: c.replicationBatchDelayMs,
          taskExpiryMs: c.replicationTaskExpiryMs,
          maxQueueSize: c.replicationQueueSize,
          retryBaseMs: Math.min(c.replicationRetryBaseMs, c.replicationRetryMaxMs),
          retryMaxMs: c.replicationRetryMaxMs,
        },
      },
      links: {
        herald: (address) => (this.deps.peerLinkFactory ?? ((a, secret, timeout) => new GrpcPeerLink(a, secret, timeout)))(address, c.clusterSecret, c.peerCallTimeoutMs),
        eureka: (url) => new EurekaPeerLink(url, c.eurekaNamespace, c.peerCallTimeoutMs),
      },
    });
    cluster.start();
    return cluster;
  }

  /** The cluster (peers' replication state, anti-entropy); undefined before start. */
  get clusterNode(): Cluster | undefined {
    return this.cluster;
  }

  /** Starts the HTTP server when an HTTP API is on. */
  private async startHttp(): Promise<HttpServer | undefined> {
    const c = this.config;
    const udp = this.udp;
    const registrars: RouteRegistrar[] = [];
    if (c.nacosApi) {
      registrars.push((app) => {
        this.nacosCounts = registerNacosRoutes(app, {
          registry: this.registry,
          logger: this.logger,
          timing: { beatIntervalMs: c.nacosBeatIntervalMs, beatTimeoutMs: c.nacosBeatTimeoutMs, ipDeleteTimeoutMs: c.nacosIpDeleteTimeoutMs },
          cacheMillis: () => this.registry.options.cacheMillis,
          serviceInfoJson: (view, clusters, cacheMillis) => this.nacosJson.json(view, clusters, cacheMillis),
          subscriberCount: () => this.hub.stats().subscribers,
          ...(udp === undefined
            ? {}
            : {
                onUdpPull: ({ ref, address, port, clusters, healthyOnly }) => {
                  udp.touch(ref, address, port, clusters, { clusters: clusters.split(','), healthyOnly });
                },
              }),
        });
      });
    }
    if (c.eurekaApi) {
      registrars.push((app) => {
        this.eurekaCounts = registerEurekaRoutes(app, {
          registry: this.registry,
          clock: this.clock,
          logger: this.logger,
          basePath: c.eurekaBasePath,
          namespace: c.eurekaNamespace,
          nodeId: () => this.cluster?.nodeId ?? c.nodeId ?? '',
        });
      });
    }
    if (registrars.length === 0) return undefined;
    return HttpServer.start({ host: c.host, port: c.httpPort, bodyLimit: c.maxMessageBytes }, registrars);
  }

  /** The bound HTTP port (Nacos and Eureka APIs), or undefined when both are off. */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** Nacos API requests served per route (undefined when the API is off). */
  get nacosRequests(): Readonly<NacosRequestCounts> | undefined {
    return this.nacosCounts;
  }

  /** Eureka API requests served per route kind (undefined when the API is off). */
  get eurekaRequests(): Readonly<EurekaRequestCounts> | undefined {
    return this.eurekaCounts;
  }

  /** The bound gRPC port (useful when configured with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Push state: open Subscribe streams, watched services, the largest backlog of any stream
   * (unflushed plus pending messages; bounded by maxPushesInFlight + 1), snapshots skipped
   * because a newer one replaced them before a slow subscriber caught up, and Subscribe calls
   * refused at maxSubscribeStreams or maxSubscribeStreamsPerConnection.
   */
  stats(): { subscribers: number; watchedServices: number; streams: number; maxStreamBacklog: number; skippedPushes: number; refusedSubscribes: number } {
    const hub = this.hub.stats();
    const s = this.streams.stats();
    return { subscribers: hub.subscribers, watchedServices: hub.services, streams: s.streams, maxStreamBacklog: s.maxBacklog, skippedPushes: s.skipped, refusedSubscribes: s.refused };
  }

  /** Counts a refused Subscribe; logs at most once a minute, so a client retrying in a loop cannot flood the log. */
  private onSubscribeRefused(limit: 'server' | 'connection'): void {
    this.refusedSubscribes++;
    const now = this.clock.nowMs();
    if (now - this.refusedLoggedAtMs < 60_000) return;
    this.refusedLoggedAtMs = now;
    this.logger.warn(
      {
        limit,
        streams: this.streams.stats().streams,
        maxSubscribeStreams: this.config.maxSubscribeStreams,
        maxSubscribeStreamsPerConnection: this.config.maxSubscribeStreamsPerConnection,
        refusedSinceStart: this.refusedSubscribes,
      },
      'Subscribe refused: stream limit reached',
    );
  }

  /** Runs one eviction pass now (tests and operators; the loop runs on its own interval). */
  evictNow(): number {
    return this.eviction.runOnce();
  }

  /** The registry's size, self-preservation and the last eviction run (ClusterService/GetNodeStatus, `herald status`). */
  nodeStatus(): NodeStatus {
    const stats = this.registry.stats();
    const o = this.registry.options;
    return {
      nodeId: this.cluster?.nodeId ?? this.config.nodeId ?? '',
      now: this.clock.nowMs(),
      namespaces: stats.namespaces,
      services: stats.services,
      instances: stats.instances,
      selfPreservation: {
        enabled: o.selfPreservation,
        active: stats.selfPreservation.active,
        expectedRenewsPerMinute: stats.expectedRenewsPerMinute,
        renewsLastMinute: stats.renewsLastMinute,
        renewsThreshold: stats.selfPreservation.renewsThreshold,
        leaseBoundInstances: stats.leaseBoundInstances,
        minInstances: o.selfPreservationMinInstances,
        renewalPercentThreshold: o.renewalPercentThreshold,
      },
      lastEviction: this.eviction.lastRun,
      evictionIntervalMs: this.config.evictionIntervalMs,
      evictedTotal: this.eviction.evictedTotal + this.beatCheck.evictedTotal,
      tombstones: stats.tombstones,
      tombstonesDropped: stats.tombstonesDropped,
      subscribers: this.streams.stats().streams,
    };
  }

  /**
   * Graceful shutdown: report NOT_SERVING, end every Subscribe stream with UNAVAILABLE, let open calls
   * finish for up to the grace period, then close connections and the port. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    this.health.setStatus(REGISTRY_SERVICE_NAME, status);
  }

  private async shutdown(): Promise<void> {
    this.setServing(false);
    this.pauses.stop();
    this.eviction.stop();
    this.beatCheck.stop();
    this.cluster?.close();
    await this.udp?.close();
    await this.http?.close();
    this.hub.close();
    this.streams.endAll();
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        this.logger.warn({ graceMs: this.config.shutdownGraceMs }, 'calls still open after the grace period; closing connections');
        this.grpc.forceShutdown();
        resolve();
      }, this.config.shutdownGraceMs);
      this.grpc.tryShutdown(() => {
        this.timers.clearTimeout(timer);
        resolve();
      });
    });
    this.logger.info({}, 'herald stopped');
  }
}
