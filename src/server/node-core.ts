/**
 * What a node runs in-process, before it listens anywhere: the registry (with the real CSPRNG and
 * clock unless injected), the push hub and the subscriber streams, the encode-once caches, the
 * eviction and beat-check loops with the pause detector, and the UDP pusher (bound at start). The
 * transports (gRPC, HTTP) and the cluster are built over it by the composition root.
 */
import type { Clock } from '../core/clock.js';
import { DEFAULT_REGISTRY_OPTIONS } from '../core/options.js';
import { Registry } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import { NacosJsonCache } from '../common/nacos-json.js';
import { createSecureRandom } from '../common/secure-random.js';
import type { Timers } from '../common/timers.js';
import { PushHub } from '../push/push-hub.js';
import { SubscriberStreams } from '../push/subscriber-streams.js';
import { ViewHistory } from '../push/view-history.js';
import { UdpPusher } from '../push/udp-pusher.js';
import { BeatCheckLoop } from './beat-check-loop.js';
import type { ServerConfig } from './config.js';
import { EvictionLoop } from './eviction-loop.js';
import { SnapshotFrames } from './grpc-codec.js';
import { StreamFrames } from './stream-frames.js';
import type { NodeStatus } from './node-status.js';
import { PauseDetector } from './pause-detector.js';
import { NO_BARRIER, type WriteBarrier } from '../store/write-barrier.js';
import { HealthProber } from './probes/health-prober.js';
import { netProbe, type Probe } from './probes/net-probes.js';
import type { PushCounts } from './metrics/node-metrics.js';
import { WriteCounts, type WriteTransport } from './metrics/write-counts.js';

export interface NodeCoreDeps {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random?: () => number;
  readonly monotonicMs?: () => number;
  /** The durable store's barrier: writes are acknowledged once durable. Default: no store. */
  readonly barrier?: WriteBarrier;
  /** How persistent instances are probed (default: real TCP connects and HTTP GETs). */
  readonly probe?: Probe;
  /** Told each push's latency in ms (the metrics' histogram); cheap, never throws. */
  readonly onPushed?: (latencyMs: number) => void;
}

export class NodeCore {
  readonly registry: Registry;
  readonly hub: PushHub;
  /** Open Subscribe streams (push owns them). */
  readonly streams: SubscriberStreams<Buffer>;
  /** Encode-once snapshot frames shared by pulls and pushes. */
  readonly frames = new SnapshotFrames();
  /** Delta frames of Subscribe (with deltas) and Watch, over the snapshot frames. */
  readonly streamFrames = new StreamFrames(this.frames);
  /** The same, with instances in the basic view (no lease). */
  readonly basicFrames = new SnapshotFrames('basic');
  readonly basicStreamFrames = new StreamFrames(this.basicFrames);
  /** The views recently sent to subscribers, so a reconnecting one can resume with a delta. */
  readonly history: ViewHistory;
  /** Nacos ServiceInfo JSON per view, shared by the Nacos API and UDP push. */
  readonly nacosJson = new NacosJsonCache();
  /** The UDP pusher, when UDP push is on. */
  readonly udp: UdpPusher | undefined;
  /** cache_millis told to clients: at most half the UDP target expiry while UDP push is on. */
  readonly cacheMillis: number;
  /** Transports acknowledge a write once what it stored is durable (NO_BARRIER without a store). */
  readonly barrier: WriteBarrier;
  /** Registrations, renews and cancels by transport and outcome (counted by `registryFor`). */
  readonly writes = new WriteCounts();
  private readonly counted = new Map<WriteTransport, Registry>();
  private readonly eviction: EvictionLoop;
  private readonly beatCheck: BeatCheckLoop;
  private readonly pauses: PauseDetector;
  /** Health checks of persistent instances (they hold no lease). */
  readonly prober: HealthProber;

  constructor(private readonly deps: NodeCoreDeps) {
    const { config: c, logger, clock, timers } = deps;
    this.barrier = deps.barrier ?? NO_BARRIER;
    // Clients that receive UDP pushes refresh their target by polling every cache_millis: keep that
    // well inside the target expiry, or their pushes would stop between polls.
    const configured = c.registry.cacheMillis ?? DEFAULT_REGISTRY_OPTIONS.cacheMillis;
    this.cacheMillis = c.udpPush ? Math.min(configured, Math.floor(c.udpTargetExpiryMs / 2)) : configured;
    this.registry = new Registry({ clock, random: deps.random ?? createSecureRandom(), options: { ...c.registry, cacheMillis: this.cacheMillis } });
    this.history = new ViewHistory(clock);
    this.hub = new PushHub({
      registry: this.registry,
      timers,
      clock,
      history: this.history,
      mergeWindowMs: c.mergeWindowMs,
      fanOutSliceSize: c.fanOutSliceSize,
      logger,
      ...(deps.onPushed === undefined ? {} : { onPushed: deps.onPushed }),
    });
    this.streams = new SubscriberStreams<Buffer>({
      hub: this.hub,
      history: this.history,
      clock,
      logger,
      maxPushesInFlight: c.maxPushesInFlight,
      maxStreams: c.maxSubscribeStreams,
      maxStreamsPerConnection: c.maxSubscribeStreamsPerConnection,
    });
    this.pauses = new PauseDetector({
      clock,
      timers,
      logger,
      thresholdMs: c.pauseThresholdMs,
      ...(deps.monotonicMs === undefined ? {} : { monotonicMs: deps.monotonicMs }),
      onPause: (fromMs, toMs) => {
        this.registry.notePause(fromMs, toMs);
      },
    });
    const beforeRun = (): void => {
      this.pauses.check();
    };
    this.eviction = new EvictionLoop({ registry: this.registry, clock, timers, intervalMs: c.evictionIntervalMs, logger, beforeRun });
    this.beatCheck = new BeatCheckLoop({ registry: this.registry, timers, intervalMs: c.heartbeatCheckIntervalMs, logger, beforeRun });
    const random = deps.random ?? createSecureRandom();
    this.prober = new HealthProber({
      registry: this.registry,
      clock,
      timers,
      logger: logger.child({ component: 'probes' }),
      probe: deps.probe ?? netProbe,
      concurrency: c.probeConcurrency,
      random,
      defaults: {
        kind: c.probeDefault,
        intervalMs: c.probeIntervalMs,
        timeoutMs: c.probeTimeoutMs,
        unhealthyThreshold: c.probeUnhealthyThreshold,
        healthyThreshold: c.probeHealthyThreshold,
      },
    });
    this.udp = c.udpPush
      ? new UdpPusher({
          hub: this.hub,
          clock,
          timers,
          logger,
          bindHost: c.host,
          options: {
            targetExpiryMs: c.udpTargetExpiryMs,
            ackTimeoutMs: c.udpAckTimeoutMs,
            maxRetries: c.udpMaxRetries,
            sendBatchSize: c.udpSendBatchSize,
            receiveBufferBytes: c.udpReceiveBufferBytes,
          },
          encodeServiceInfo: (view, clusters) => this.nacosJson.json(view, clusters, this.cacheMillis),
        })
      : undefined;
  }

  /** Starts the loops (the UDP pusher binds separately, with the other ports). */
  startLoops(): void {
    this.pauses.start();
    this.eviction.start();
    this.beatCheck.start();
    this.prober.start();
  }

  /** Stops the loops. Idempotent. */
  stopLoops(): void {
    this.pauses.stop();
    this.eviction.stop();
    this.beatCheck.stop();
    this.prober.stop();
  }

  /** The registry as a transport uses it: its registrations, renews and cancels are counted under `transport`. */
  registryFor(transport: WriteTransport): Registry {
    let r = this.counted.get(transport);
    if (r === undefined) {
      r = this.writes.counted(this.registry, transport);
      this.counted.set(transport, r);
    }
    return r;
  }

  /** Instances evicted since start, by the eviction task (lease expired) and the heartbeat check. */
  evictions(): { leaseExpired: number; heartbeatTimeout: number } {
    return { leaseExpired: this.eviction.evictedTotal, heartbeatTimeout: this.beatCheck.evictedTotal };
  }

  /** The push hub's and the subscriber streams' counters. */
  pushCounts(): PushCounts {
    const hub = this.hub.stats();
    const s = this.streams.stats();
    return {
      deliveries: this.hub.delivered,
      merged: this.hub.merged,
      skipped: s.skipped,
      streams: s.streams,
      slowStreams: s.slow,
      targets: hub.subscribers,
      watchedServices: hub.services,
      refused: s.refused,
    };
  }

  /** Runs one eviction pass now. */
  evictNow(): number {
    return this.eviction.runOnce();
  }

  /** The registry's size, self-preservation and the last eviction run, as node `nodeId`. */
  nodeStatus(nodeId: string): NodeStatus {
    const stats = this.registry.stats();
    const o = this.registry.options;
    return {
      nodeId,
      now: this.deps.clock.nowMs(),
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
      evictionIntervalMs: this.deps.config.evictionIntervalMs,
      evictedTotal: this.eviction.evictedTotal + this.beatCheck.evictedTotal,
      tombstones: stats.tombstones,
      tombstonesDropped: stats.tombstonesDropped,
      subscribers: this.streams.stats().streams,
    };
  }
}
