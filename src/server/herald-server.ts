/**
 * The composition root of a herald node and its lifecycle: the durable store (when there is a data
 * directory; src/store), the in-process core (registry, push, loops; node-core.ts), the gRPC server (grpc-services.ts), the HTTP APIs (http-apis.ts), the UDP
 * pusher and the cluster (cluster-node.ts). It owns everything it starts: `start()` opens the store
 * and loads it, binds every port, syncs from a peer and reports SERVING; `close()` reports NOT_SERVING, ends Subscribe
 * streams with UNAVAILABLE, stops timers and releases every port.
 */
import { listenError } from './listen-error.js';
import { createHash, randomBytes } from 'node:crypto';
import { AccessControl } from '../auth/access-control.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Registry } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import { nodeTimers, type Timers } from '../common/timers.js';
import type { Cluster } from '../cluster/cluster.js';
import type { PushHub } from '../push/push-hub.js';
import type { UdpPusher } from '../push/udp-pusher.js';
import { startClusterNode, type PeerLinkFactory } from './cluster-node.js';
import { DEFAULT_SERVER_CONFIG, formatAddress, isLoopbackHost, validateServerConfig, type ServerConfig } from './config.js';
import type { EurekaRequestCounts } from './eureka/eureka-api.js';
import { createGrpcServices, type GrpcServices } from './grpc-services.js';
import { startHttpApis, type HttpApis } from './http-apis.js';
import type { NacosRequestCounts } from './nacos/nacos-api.js';
import { NodeCore } from './node-core.js';
import type { NodeStatus } from './node-status.js';
import { grpcServerCredentials, TlsFiles } from './tls-files.js';
import { RegistryJournal, type RestoreReport } from '../store/registry-journal.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { nodeMetricsSources } from './metrics/metrics-sources.js';
import { NodeMetrics, type Readiness } from './metrics/node-metrics.js';
import { observabilityRoutes } from './metrics/observability-routes.js';

export { REGISTRY_SERVICE_NAME } from './grpc-services.js';

export interface HeraldServerDeps {
  readonly config?: Partial<ServerConfig>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly timers?: Timers;
  /** A monotonic clock in ms (the pause detector measures with it). Default performance.now. */
  readonly monotonicMs?: () => number;
  /** Builds links to peers (tests wrap them to inject faults). */
  readonly peerLinkFactory?: PeerLinkFactory;
}

export class HeraldServer {
  readonly config: ServerConfig;
  private readonly core: NodeCore;
  private readonly grpc: GrpcServices;
  /** The one access decision of every transport. */
  readonly access: AccessControl;
  private tls: TlsFiles | undefined;
  private http: HttpApis | undefined;
  private cluster: Cluster | undefined;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  private stopJournal: (() => void) | undefined;
  /** What the store gave back at start (logged with "herald is serving"). */
  private restored: RestoreReport | undefined;
  /** Prometheus metrics (undefined with --metrics off). */
  private readonly metrics: NodeMetrics | undefined;

  private constructor(
    private readonly deps: HeraldServerDeps,
    config: ServerConfig,
    private readonly store: SqliteStore | undefined,
  ) {
    this.config = config;
    this.logger = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.timers = deps.timers ?? nodeTimers;
    const sources = nodeMetricsSources(
      () => this.core,
      () => this.cluster,
      () => this.readiness(),
      // Read at scrape time only: the gRPC server is built below.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      () => this.grpc?.xdsStats(),
    );
    this.metrics = this.config.metrics ? new NodeMetrics(sources, { perService: this.config.metricsPerService }) : undefined;
    const metrics = this.metrics;
    this.core = new NodeCore({
      config: this.config,
      logger: this.logger,
      clock: this.clock,
      timers: this.timers,
      ...(deps.random === undefined ? {} : { random: deps.random }),
      ...(deps.monotonicMs === undefined ? {} : { monotonicMs: deps.monotonicMs }),
      ...(store === undefined ? {} : { barrier: store }),
      ...(metrics === undefined ? {} : { onPushed: metrics.observePush }),
    });
    this.access = new AccessControl(
      {
        authFile: this.config.authFile,
        tokenKey: tokenKeyOf(this.config),
        tokenTtlMs: this.config.authTokenTtlMs,
        reloadIntervalMs: this.config.reloadIntervalMs,
        clusterSecret: this.config.clusterSecret,
      },
      this.clock,
      this.logger.child({ component: 'auth' }),
    );
    this.grpc = createGrpcServices(
      this.core,
      this.config,
      this.access,
      this.logger,
      () => this.cluster,
      metrics === undefined
        ? undefined
        : (method, code, seconds) => {
            metrics.observeRequest('grpc', method, code, seconds);
          },
    );
  }

  /** Binds, syncs, starts eviction, and reports SERVING. Rejects (with nothing left running) if a port is taken. */
  static async start(deps: HeraldServerDeps): Promise<HeraldServer> {
    const config = { ...DEFAULT_SERVER_CONFIG, ...deps.config, registry: { ...DEFAULT_SERVER_CONFIG.registry, ...deps.config?.registry } };
    validateServerConfig(config);
    // The store first: a file that cannot be opened stops the start before anything listens.
    const store =
      config.dataDir === undefined
        ? undefined
        : await SqliteStore.open({ dir: config.dataDir, clock: deps.clock ?? systemClock, logger: deps.logger.child({ component: 'store' }) });
    let server: HeraldServer;
    try {
      server = new HeraldServer(deps, config, store);
      if (store !== undefined) server.loadStore(store);
    } catch (e) {
      await store?.close();
      throw e;
    }
    const c = server.config;
    const address = formatAddress(c.host, c.port);
    try {
      // Credentials and certificates first: a node never serves before it can check them.
      await server.access.start(server.timers);
      if (c.tlsCert !== undefined && c.tlsKey !== undefined) {
        server.tls = await TlsFiles.load({ certFile: c.tlsCert, keyFile: c.tlsKey, caFile: c.tlsCa }, server.timers, c.reloadIntervalMs, server.logger.child({ component: 'tls' }));
      }
    } catch (e) {
      server.access.close();
      server.core.hub.close();
      server.grpc.server.forceShutdown();
      await server.closeStore();
      throw e;
    }
    const tls = server.tls;
    server.boundPort = await new Promise<number>((resolve, reject) => {
      server.grpc.server.bindAsync(address, grpcServerCredentials(tls), (err, port) => {
        if (err) reject(listenError(address, 'gRPC', '--port', err));
        else resolve(port);
      });
    }).catch(async (e: unknown) => {
      server.access.close();
      server.tls?.close();
      server.core.hub.close();
      server.grpc.server.forceShutdown();
      await server.closeStore();
      throw e;
    });
    try {
      await server.core.udp?.start();
      const monitoring = observabilityRoutes({ metrics: server.metrics, readiness: () => server.readiness(), access: server.access, metricsOpen: !c.metricsAuth });
      server.http = await startHttpApis(
        server.core,
        c,
        { clock: server.clock, logger: server.logger, access: server.access, tls, timers: server.timers, monitoring },
        () => server.cluster,
      );
      server.cluster = startClusterNode({
        core: server.core,
        config: c,
        grpcPort: server.boundPort,
        httpPort: server.http?.server.port,
        clock: server.clock,
        timers: server.timers,
        logger: server.logger,
        ...(tls === undefined
          ? {}
          : {
              peerCredentials: tls.peerChannelCredentials(),
              peerHttpTls: () => {
                const m = tls.current;
                return m.ca === undefined ? {} : { ca: m.ca, cert: m.cert, key: m.key };
              },
            }),
        ...(deps.peerLinkFactory === undefined ? {} : { peerLinkFactory: deps.peerLinkFactory }),
      });
      // NOT_SERVING until the start-up sync is over (bounded by --sync-timeout-ms).
      await server.cluster.startupSync();
    } catch (e) {
      await server.close();
      throw e;
    }
    server.core.startLoops();
    server.grpc.setServing(true);
    server.logger.info(
      {
        address: formatAddress(c.host, server.boundPort),
        // gRPC clients put this address in their xDS bootstrap (docs/xds.md).
        ...(c.xds ? { xds: formatAddress(c.host, server.boundPort) } : {}),
        ...(server.http === undefined ? {} : { http: formatAddress(c.host, server.http.server.port) }),
        ...(server.core.udp === undefined ? {} : { udpPush: formatAddress(c.host, server.core.udp.port) }),
        ...(store === undefined ? {} : { store: store.file, restored: server.restored }),
      },
      'herald is serving',
    );
    const warning = exposureWarning(c.host, server.access.enabled);
    if (warning !== undefined) server.logger.warn({ host: c.host }, warning);
    return server;
  }

  get registry(): Registry {
    return this.core.registry;
  }

  /** The durable store, when the node has a data directory. */
  get durableStore(): SqliteStore | undefined {
    return this.store;
  }

  /**
   * Puts what the store holds into the registry (before the start-up sync from a peer, which
   * merges over it by write version), then records every later persistent change in it.
   */
  private loadStore(store: SqliteStore): void {
    const journal = new RegistryJournal(store, this.logger.child({ component: 'store' }), {
      overrideRetentionMs: this.core.registry.options.persistentTombstoneRetentionMs,
      nowMs: () => this.clock.nowMs(),
    });
    const report = journal.restore(this.core.registry, store.loaded, this.clock.nowMs());
    this.stopJournal = journal.attach(this.core.registry);
    this.restored = report;
  }

  private async closeStore(): Promise<void> {
    this.stopJournal?.();
    await this.store?.close();
  }

  get hub(): PushHub {
    return this.core.hub;
  }

  /** The UDP pusher, when UDP push is on. */
  get udp(): UdpPusher | undefined {
    return this.core.udp;
  }

  /** The cluster (peers' replication state, anti-entropy); undefined before start. */
  get clusterNode(): Cluster | undefined {
    return this.cluster;
  }

  /** The bound gRPC port (useful when configured with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** The bound HTTP port (Nacos and Eureka APIs), or undefined when both are off. */
  get httpPort(): number | undefined {
    return this.http?.server.port;
  }

  /** Nacos API requests served per route (undefined when the API is off). */
  get nacosRequests(): Readonly<NacosRequestCounts> | undefined {
    return this.http?.nacosRequests;
  }

  /** Eureka API requests served per route kind (undefined when the API is off). */
  get eurekaRequests(): Readonly<EurekaRequestCounts> | undefined {
    return this.http?.eurekaRequests;
  }

  /**
   * Push state: open Subscribe streams, watched services, the largest backlog of any stream
   * (unflushed plus pending messages; bounded by maxPushesInFlight + 1), snapshots skipped
   * because a newer one replaced them before a slow subscriber caught up, and Subscribe calls
   * refused at maxSubscribeStreams or maxSubscribeStreamsPerConnection, and how resuming
   * subscriptions started (nothing new, a delta, a snapshot).
   */
  stats(): {
    subscribers: number;
    watchedServices: number;
    streams: number;
    maxStreamBacklog: number;
    skippedPushes: number;
    refusedSubscribes: number;
    resumed: { unchanged: number; delta: number; snapshot: number };
  } {
    const hub = this.core.hub.stats();
    const s = this.core.streams.stats();
    return {
      subscribers: hub.subscribers,
      watchedServices: hub.services,
      streams: s.streams,
      maxStreamBacklog: s.maxBacklog,
      skippedPushes: s.skipped,
      refusedSubscribes: s.refused,
      resumed: s.resumed,
    };
  }

  /**
   * Whether the node takes traffic (what /readyz and the gRPC health service say): not while the
   * start-up sync runs, nor once it is shutting down.
   */
  readiness(): Readiness {
    if (this.closing !== undefined) return { ready: false, state: 'stopping' };
    if (this.grpc.serving) return { ready: true, state: 'serving' };
    return { ready: false, state: this.cluster !== undefined && !this.cluster.synced ? 'syncing' : 'starting' };
  }

  /** Runs one eviction pass now (tests and operators; the loop runs on its own interval). */
  evictNow(): number {
    return this.core.evictNow();
  }

  /** The registry's size, self-preservation and the last eviction run (ClusterService/GetNodeStatus, `herald status`). */
  nodeStatus(): NodeStatus {
    return this.core.nodeStatus(this.cluster?.nodeId ?? this.config.nodeId ?? '');
  }

  /**
   * Graceful shutdown: report NOT_SERVING, end every Subscribe and xDS stream with UNAVAILABLE, let open calls
   * finish for up to the grace period, then close connections and the port. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.grpc.setServing(false);
    this.core.stopLoops();
    this.access.close();
    this.cluster?.close();
    await this.core.udp?.close();
    await this.http?.server.close();
    this.core.hub.close();
    this.core.streams.endAll();
    this.grpc.endXdsStreams();
    const grpc = this.grpc.server;
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        this.logger.warn({ graceMs: this.config.shutdownGraceMs }, 'calls still open after the grace period; closing connections');
        grpc.forceShutdown();
        resolve();
      }, this.config.shutdownGraceMs);
      grpc.tryShutdown(() => {
        this.timers.clearTimeout(timer);
        resolve();
      });
    });
    this.tls?.close();
    // Last: every write acknowledged above is committed before the file closes.
    await this.closeStore();
    this.logger.info({}, 'herald stopped');
  }
}

/**
 * The key that signs access tokens: the configured one; else one derived from the cluster secret,
 * so every node of a cluster accepts every node's tokens; else random (tokens work on this node
 * until it restarts).
 */
function tokenKeyOf(c: ServerConfig): Buffer {
  if (c.authTokenKey !== undefined) return createHash('sha256').update(`herald access tokens\u0000${c.authTokenKey}`).digest();
  if (c.clusterSecret !== undefined) return createHash('sha256').update(`herald access tokens from the cluster secret\u0000${c.clusterSecret}`).digest();
  return randomBytes(32);
}

/** The one warning line of a node that anyone on the network can rewrite, or undefined. */
export function exposureWarning(host: string, authEnabled: boolean): string | undefined {
  if (authEnabled || isLoopbackHost(host)) return undefined;
  return `authentication is off and herald listens on ${host}: anyone who can reach it can register, change and remove instances (turn it on with --auth-file; see README "Authentication and TLS")`;
}
