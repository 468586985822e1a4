/**
 * A node's Prometheus metrics (prom-client), in a registry of its own (never prom-client's global
 * one: two nodes in one process keep apart). Almost everything is read at scrape time from state the
 * node keeps anyway (collect callbacks over the sources below); the hot paths only bump plain
 * integers (WriteCounts, the push hub's counters) or, once per request and once per finished push,
 * observe a histogram. Labels are bounded: transport, outcome, gRPC/HTTP method and code, eviction
 * reason, peer address (from the configuration), namespace (as many as the registry holds); per
 * service only when the operator asks (`perService`), and never per instance.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import type { PeerView } from '../../cluster/cluster.js';
import type { Registry } from '../../core/registry.js';
import type { UdpPushStats } from '../../push/udp-pusher.js';
import { XDS_TYPE_LABELS, type XdsStats } from '../xds/xds-stats.js';
import type { WriteCount } from './write-counts.js';

/** Push counters of a node: the hub's and the subscriber streams'. */
export interface PushCounts {
  /** Views handed to push targets since start (gRPC streams and UDP targets; first snapshots included). */
  readonly deliveries: number;
  /** Changes that joined a push already waiting (the merge window). */
  readonly merged: number;
  /** Pending snapshots replaced by newer ones before a slow subscriber drained (since start). */
  readonly skipped: number;
  /** Open Subscribe and Watch streams, and those holding a pending snapshot. */
  readonly streams: number;
  readonly slowStreams: number;
  /** Targets subscribed in the hub (streams and UDP targets) and the services they watch. */
  readonly targets: number;
  readonly watchedServices: number;
  /** Subscribe calls refused at a stream limit since start. */
  readonly refused: number;
}

/** Whether the node takes traffic, and why not (what /readyz and the gRPC health service say). */
export interface Readiness {
  readonly ready: boolean;
  /** `syncing`: the start-up sync from a peer runs; `stopping`: shutting down; `starting`: before either. */
  readonly state: 'starting' | 'syncing' | 'serving' | 'stopping';
}

/** What the metrics read, at scrape time only. */
export interface MetricsSources {
  readonly registry: Pick<Registry, 'stats' | 'populations' | 'options'>;
  /** Registrations, renews and cancels by transport and outcome (WriteCounts.snapshot). */
  writes(): readonly WriteCount[];
  /** Instances evicted since start: lease expired (eviction task), beat timed out (heartbeat check). */
  evictions(): { readonly leaseExpired: number; readonly heartbeatTimeout: number };
  push(): PushCounts;
  /** Undefined when UDP push is off. */
  udp(): UdpPushStats | undefined;
  /** Peers' replication state (none when standalone or before the cluster starts). */
  peers(): readonly PeerView[];
  readiness(): Readiness;
  /** The xDS (ADS) service's counts; undefined before the gRPC server is built. */
  xds(): XdsStats | undefined;
}

export interface NodeMetricsOptions {
  /** Services and instances per service too (one series per service: opt in knowingly). */
  readonly perService: boolean;
}

/** Request durations' buckets (seconds): unary calls take from tens of µs to seconds (a password check). */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Push latency buckets (seconds): the merge window (default 5 ms) sits in the middle. */
const PUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The transports whose requests are timed. */
export type RequestTransport = 'grpc' | 'http';

export class NodeMetrics {
  /** The node's own metrics registry. */
  readonly registry = new MetricsRegistry();
  private readonly requestSeconds: Histogram<'transport' | 'method' | 'code'>;
  private readonly pushSeconds: Histogram;
  private processMetrics = false;
  /** Reads shared by the metrics of one scrape (populations walk every instance): set only while scraping. */
  private scrapeMemo: Map<string, unknown> | undefined;

  constructor(
    private readonly sources: MetricsSources,
    options: NodeMetricsOptions,
  ) {
    const registers = [this.registry];
    const memo = <T>(key: string, read: () => T): T => {
      const m = this.scrapeMemo;
      if (m === undefined) return read();
      if (!m.has(key)) m.set(key, read());
      return m.get(key) as T;
    };
    const registry: MetricsSources['registry'] = {
      get options() {
        return sources.registry.options;
      },
      stats: () => memo('stats', () => sources.registry.stats()),
      populations: (perService) => memo(`populations ${String(perService)}`, () => sources.registry.populations(perService)),
    };
    const s: MetricsSources = {
      ...sources,
      registry,
      writes: () => memo('writes', () => sources.writes()),
      push: () => memo('push', () => sources.push()),
      udp: () => memo('udp', () => sources.udp()),
      peers: () => memo('peers', () => sources.peers()),
      xds: () => memo('xds', () => sources.xds()),
    };
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          collect(this);
        },
      });
    };
    /** A counter whose total is kept elsewhere and read at scrape time. */
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<readonly [Partial<Record<L, string>>, number]>): void => {
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, v] of read()) this.inc(labels, v);
        },
      });
    };
    const one = (v: number): [readonly [Record<string, never>, number]] => [[{}, v]];

    // --------------------------------------------------------------- the registry
    gauge('herald_namespaces', 'Namespaces the registry holds.', [], (g) => {
      g.set(s.registry.stats().namespaces);
    });
    const populations = (g: Gauge<'namespace'>, pick: (p: { services: number; instances: number; healthy: number }) => number | undefined): void => {
      g.reset();
      for (const p of s.registry.populations(options.perService).namespaces) {
        const v = pick(p);
        if (v !== undefined) g.set({ namespace: p.namespace }, v);
      }
    };
    gauge('herald_services', 'Services the registry holds, per namespace.', ['namespace'], (g) => {
      populations(g, (p) => p.services);
    });
    gauge('herald_instances', 'Registered instances, per namespace.', ['namespace'], (g) => {
      populations(g, (p) => p.instances);
    });
    gauge('herald_instances_healthy', 'Registered instances whose effective health is healthy, per namespace.', ['namespace'], (g) => {
      populations(g, (p) => p.healthy);
    });
    gauge('herald_instances_healthy_ratio', 'Share of the instances of a namespace that are healthy (0 to 1; absent for an empty namespace).', ['namespace'], (g) => {
      populations(g, (p) => (p.instances === 0 ? undefined : p.healthy / p.instances));
    });
    if (options.perService) {
      const perService = (g: Gauge<'namespace' | 'group' | 'service'>, pick: (p: { instances: number; healthy: number }) => number): void => {
        g.reset();
        for (const p of s.registry.populations(options.perService).services) g.set({ namespace: p.namespace, group: p.group ?? '', service: p.service ?? '' }, pick(p));
      };
      gauge('herald_service_instances', 'Registered instances per service (--metrics-per-service).', ['namespace', 'group', 'service'], (g) => {
        perService(g, (p) => p.instances);
      });
      gauge('herald_service_instances_healthy', 'Healthy instances per service (--metrics-per-service).', ['namespace', 'group', 'service'], (g) => {
        perService(g, (p) => p.healthy);
      });
    }
    gauge('herald_tombstones', 'Cancel tombstones held (deletions remembered so a late replication cannot bring an instance back).', [], (g) => {
      g.set(s.registry.stats().tombstones);
    });

    // --------------------------------------------------------------- writes and leases
    const writes = (kind: 'register' | 'renew' | 'cancel') => (): Iterable<readonly [Partial<Record<'transport' | 'outcome', string>>, number]> =>
      s
        .writes()
        .filter((w) => w.kind === kind)
        .map((w) => [{ transport: w.transport, outcome: w.outcome }, w.count] as const);
    counter(
      'herald_registrations_total',
      'Registrations the registry answered, by transport (grpc, nacos, eureka, peer) and outcome.',
      ['transport', 'outcome'],
      writes('register'),
    );
    counter('herald_renews_total', 'Lease renewals (heartbeats) the registry answered, by transport and outcome.', ['transport', 'outcome'], writes('renew'));
    counter('herald_cancels_total', 'Cancels (deregistrations) the registry answered, by transport and outcome.', ['transport', 'outcome'], writes('cancel'));
    counter('herald_evictions_total', 'Instances removed by the server, by reason (lease_expired, heartbeat_timeout).', ['reason'], () => {
      const e = s.evictions();
      return [
        [{ reason: 'lease_expired' }, e.leaseExpired],
        [{ reason: 'heartbeat_timeout' }, e.heartbeatTimeout],
      ];
    });
    gauge('herald_self_preservation_enabled', '1 when self-preservation is configured on.', [], (g) => {
      g.set(s.registry.options.selfPreservation ? 1 : 0);
    });
    gauge('herald_self_preservation_active', '1 while self-preservation holds evictions back (renews fell under the threshold).', [], (g) => {
      g.set(s.registry.stats().selfPreservation.active ? 1 : 0);
    });
    gauge('herald_renews_expected_per_minute', 'Renews per minute the lease-bound instances should send.', [], (g) => {
      g.set(s.registry.stats().expectedRenewsPerMinute);
    });
    gauge('herald_renews_threshold_per_minute', 'Renews per minute under which self-preservation turns on.', [], (g) => {
      g.set(s.registry.stats().selfPreservation.renewsThreshold);
    });
    gauge('herald_renews_last_minute', 'Renews received in the last minute.', [], (g) => {
      g.set(s.registry.stats().renewsLastMinute);
    });
    gauge('herald_lease_bound_instances', 'Instances kept by a lease (they count towards the expected renews).', [], (g) => {
      g.set(s.registry.stats().leaseBoundInstances);
    });

    // --------------------------------------------------------------- push
    counter('herald_push_deliveries_total', 'Service views handed to push targets (Subscribe and Watch streams, UDP targets), first snapshots included.', [], () =>
      one(s.push().deliveries),
    );
    counter('herald_push_changes_merged_total', 'Changes that joined a push already waiting for its merge window (no push of their own).', [], () => one(s.push().merged));
    counter('herald_push_snapshots_skipped_total', 'Pending snapshots replaced by a newer one before a slow subscriber drained (latest wins).', [], () => one(s.push().skipped));
    counter('herald_subscribe_refused_total', 'Subscribe calls refused at a stream limit.', [], () => one(s.push().refused));
    gauge('herald_subscriber_streams', 'Open Subscribe and Watch streams.', [], (g) => {
      g.set(s.push().streams);
    });
    gauge('herald_subscriber_streams_slow', 'Open streams holding a pending snapshot: their subscriber has not drained the previous ones.', [], (g) => {
      g.set(s.push().slowStreams);
    });
    gauge('herald_push_targets', 'Push targets subscribed (streams and UDP targets).', [], (g) => {
      g.set(s.push().targets);
    });
    gauge('herald_push_watched_services', 'Services with at least one push target.', [], (g) => {
      g.set(s.push().watchedServices);
    });
    this.pushSeconds = new Histogram({
      name: 'herald_push_latency_seconds',
      help: 'From a change to its hand-off to the last subscriber of the service (merge window included), one observation per push.',
      buckets: PUSH_BUCKETS,
      registers,
    });

    // --------------------------------------------------------------- xDS
    const byType = (pick: (x: XdsStats) => ReadonlyMap<string, number>) => (): (readonly [{ type: string }, number])[] => {
      const x = s.xds();
      return x === undefined ? [] : [...pick(x)].map(([typeUrl, n]) => [{ type: XDS_TYPE_LABELS.get(typeUrl) ?? 'other' }, n] as const);
    };
    const xdsCount = (pick: (x: XdsStats) => number) => (): [readonly [Record<string, never>, number]] => one(((x) => (x === undefined ? 0 : pick(x)))(s.xds()));
    gauge('herald_xds_streams', 'Open xDS (ADS) streams.', [], (g) => {
      g.set(s.xds()?.streams ?? 0);
    });
    counter(
      'herald_xds_responses_total',
      'xDS responses sent, by resource type.',
      ['type'],
      byType((x) => x.responses),
    );
    counter(
      'herald_xds_nacks_total',
      'xDS responses a client rejected (NACK), by resource type.',
      ['type'],
      byType((x) => x.nacks),
    );
    counter(
      'herald_xds_updates_skipped_total',
      'Endpoint updates replaced by a newer one before a slow xDS client drained (latest wins).',
      [],
      xdsCount((x) => x.skipped),
    );
    counter(
      'herald_xds_refused_total',
      "xDS streams refused or ended: no or wrong credentials, no read permission on a name's namespace, or a stream limit.",
      [],
      xdsCount((x) => x.refused),
    );

    // --------------------------------------------------------------- UDP push
    const udp = (pick: (u: UdpPushStats) => number) => (): [readonly [Record<string, never>, number]] => one(((u) => (u === undefined ? 0 : pick(u)))(s.udp()));
    counter(
      'herald_udp_pushes_sent_total',
      'UDP pushes sent (first attempts).',
      [],
      udp((u) => u.sent),
    );
    counter(
      'herald_udp_pushes_retried_total',
      'UDP pushes sent again after the ack timeout.',
      [],
      udp((u) => u.resent),
    );
    counter(
      'herald_udp_pushes_acked_total',
      'UDP pushes acknowledged by their target.',
      [],
      udp((u) => u.acked),
    );
    counter(
      'herald_udp_pushes_failed_total',
      'UDP pushes never acknowledged after every retry.',
      [],
      udp((u) => u.failed),
    );
    counter(
      'herald_udp_pushes_superseded_total',
      'Unacknowledged UDP pushes replaced by a newer push to the same target.',
      [],
      udp((u) => u.superseded),
    );
    gauge('herald_udp_push_targets', 'UDP push targets (clients that pulled with a UDP port recently).', [], (g) => {
      g.set(s.udp()?.targets ?? 0);
    });

    // --------------------------------------------------------------- cluster
    const perPeer = (pick: (p: PeerView) => number) => (): Iterable<readonly [Partial<Record<'peer', string>>, number]> =>
      s.peers().map((p) => [{ peer: p.address }, pick(p)] as const);
    gauge('herald_peer_queue_depth', 'Replication tasks waiting for a peer.', ['peer'], (g) => {
      g.reset();
      for (const [labels, v] of perPeer((p) => p.queueDepth)()) g.set(labels, v);
    });
    gauge('herald_peer_up', '1 when the last replication batch to the peer succeeded, 0 after a failure or before any.', ['peer'], (g) => {
      g.reset();
      for (const [labels, v] of perPeer((p) => (p.state === 'up' ? 1 : 0))()) g.set(labels, v);
    });
    counter(
      'herald_peer_replication_failures_total',
      'Replication batches to a peer that failed (they are retried with back-off).',
      ['peer'],
      perPeer((p) => p.failures),
    );
    counter(
      'herald_peer_replication_dropped_total',
      'Replication tasks dropped for a peer: expired or pushed out of a full queue (anti-entropy repairs later).',
      ['peer'],
      perPeer((p) => p.dropped),
    );
    counter(
      'herald_peer_replication_delivered_total',
      'Replication tasks a peer applied.',
      ['peer'],
      perPeer((p) => p.delivered),
    );
    gauge('herald_ready', '1 when the node takes traffic (start-up sync over, not shutting down), as /readyz and the gRPC health service say.', [], (g) => {
      g.set(s.readiness().ready ? 1 : 0);
    });

    // --------------------------------------------------------------- requests
    this.requestSeconds = new Histogram({
      name: 'herald_request_duration_seconds',
      help: 'Duration of unary requests, by transport (grpc, http), method (gRPC method or HTTP route) and status code.',
      labelNames: ['transport', 'method', 'code'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
  }

  /** Records one request (a unary gRPC call or an HTTP request); `method` must be bounded (a route pattern, never a raw URL). */
  observeRequest(transport: RequestTransport, method: string, code: string, seconds: number): void {
    this.requestSeconds.observe({ transport, method, code }, seconds);
  }

  /** Records one push's latency (PushHub's onPushed). */
  readonly observePush = (latencyMs: number): void => {
    this.pushSeconds.observe(latencyMs / 1000);
  };

  /**
   * The metrics in the Prometheus text format. The process metrics (CPU, memory, GC, event loop)
   * join at the first scrape, so a node nobody scrapes runs no monitors for them.
   */
  async scrape(): Promise<{ contentType: string; text: string }> {
    if (!this.processMetrics) {
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool's lint refuses them); the per-type gauges beside them hold the same.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
    this.scrapeMemo = new Map();
    try {
      return { contentType: this.registry.contentType, text: await this.registry.metrics() };
    } finally {
      this.scrapeMemo = undefined;
    }
  }

  /** What /readyz answers. */
  readiness(): Readiness {
    return this.sources.readiness();
  }
}
