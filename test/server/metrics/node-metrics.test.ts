import { describe, expect, it } from 'vitest';
import type { PeerView } from '../../../src/cluster/cluster.js';
import { TYPE_URL } from '../../../src/server/xds/xds-codec.js';
import { NodeMetrics, type MetricsSources, type PushCounts, type Readiness } from '../../../src/server/metrics/node-metrics.js';
import { WriteCounts } from '../../../src/server/metrics/write-counts.js';
import { inst, makeRegistry } from '../../core/helpers.js';

/** Sources over a real registry, with the node's other parts as plain values a test sets. */
function fixture(perService = false) {
  const { registry } = makeRegistry({ selfPreservationMinInstances: 1 });
  const writes = new WriteCounts();
  const state = {
    push: { deliveries: 0, merged: 0, skipped: 0, streams: 0, slowStreams: 0, targets: 0, watchedServices: 0, refused: 0 } as PushCounts,
    evictions: { leaseExpired: 0, heartbeatTimeout: 0 },
    peers: [] as PeerView[],
    readiness: { ready: false, state: 'syncing' } as Readiness,
    udp: undefined as ReturnType<MetricsSources['udp']>,
    xds: undefined as ReturnType<MetricsSources['xds']>,
  };
  const sources: MetricsSources = {
    registry,
    writes: () => writes.snapshot(),
    evictions: () => state.evictions,
    push: () => state.push,
    udp: () => state.udp,
    peers: () => state.peers,
    readiness: () => state.readiness,
    xds: () => state.xds,
  };
  const metrics = new NodeMetrics(sources, { perService });
  /** The value of one series in the exposition text (`name{labels}` exactly as printed). */
  const value = async (series: string): Promise<number | undefined> => {
    const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  return { registry, writes, state, metrics, value };
}

const peer = (address: string, over: Partial<PeerView>): PeerView => ({
  address,
  nodeId: 'n',
  queueDepth: 0,
  inFlight: 0,
  delivered: 0,
  dropped: 0,
  failures: 0,
  lastSuccessAt: 0,
  lastError: '',
  state: 'unknown',
  ...over,
});

describe('NodeMetrics', () => {
  it('reads instances, healthy share, writes, self-preservation and readiness at scrape time', async () => {
    const f = fixture();
    const grpc = f.writes.counted(f.registry, 'grpc');
    grpc.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) });
    grpc.register({ service: 'orders', instance: inst({ instanceId: 'o-2', healthy: false }) });
    f.registry.register({ namespace: 'prod', service: 'db', instance: inst({ instanceId: 'd-1' }) });
    expect(() => grpc.renew({ service: 'orders', instanceId: 'gone' })).toThrow();
    expect(await f.value('herald_instances{namespace="public"}')).toBe(2);
    expect(await f.value('herald_instances_healthy{namespace="public"}')).toBe(1);
    expect(await f.value('herald_instances_healthy_ratio{namespace="public"}')).toBe(0.5);
    expect(await f.value('herald_instances{namespace="prod"}')).toBe(1);
    expect(await f.value('herald_services{namespace="prod"}')).toBe(1);
    expect(await f.value('herald_registrations_total{transport="grpc",outcome="ok"}')).toBe(2);
    expect(await f.value('herald_renews_total{transport="grpc",outcome="not_found"}')).toBe(1);
    expect(await f.value('herald_renews_expected_per_minute')).toBe(f.registry.stats().expectedRenewsPerMinute);
    expect(await f.value('herald_self_preservation_active')).toBe(f.registry.stats().selfPreservation.active ? 1 : 0);
    expect(await f.value('herald_ready')).toBe(0);
    f.state.readiness = { ready: true, state: 'serving' };
    expect(await f.value('herald_ready')).toBe(1);
    // Registered later, seen at the next scrape; a cancelled namespace's last instance leaves 0.
    grpc.cancel({ service: 'orders', instanceId: 'o-1' });
    expect(await f.value('herald_instances{namespace="public"}')).toBe(1);
    expect(await f.value('herald_cancels_total{transport="grpc",outcome="ok"}')).toBe(1);
  });

  it('labels per service only when asked, and never by instance', async () => {
    const off = fixture(false);
    off.registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) });
    const text = await off.metrics.registry.metrics();
    expect(text).not.toContain('herald_service_instances');
    expect(text).not.toContain('o-1');
    const on = fixture(true);
    on.registry.register({ service: 'orders', instance: inst({ instanceId: 'o-1' }) });
    expect(await on.value('herald_service_instances{namespace="public",group="DEFAULT_GROUP",service="orders"}')).toBe(1);
    expect(await on.metrics.registry.metrics()).not.toContain('o-1');
  });

  it('reports push, UDP, eviction and per-peer replication counters as they stand, and each push latency in the histogram', async () => {
    const f = fixture();
    f.state.push = { deliveries: 7, merged: 3, skipped: 2, streams: 4, slowStreams: 1, targets: 5, watchedServices: 2, refused: 1 };
    f.state.evictions = { leaseExpired: 6, heartbeatTimeout: 1 };
    f.state.udp = { targets: 2, pendingAcks: 0, sent: 10, resent: 3, acked: 9, failed: 1, superseded: 0, expiredTargets: 0 };
    f.state.peers = [peer('10.0.0.2:7070', { queueDepth: 12, failures: 4, state: 'down' }), peer('10.0.0.3:7070', { delivered: 8, state: 'up' })];
    f.metrics.observePush(3);
    f.metrics.observePush(40);
    f.metrics.observeRequest('grpc', 'herald.v1.RegistryService/Renew', 'OK', 0.0002);
    expect(await f.value('herald_push_deliveries_total')).toBe(7);
    expect(await f.value('herald_push_changes_merged_total')).toBe(3);
    expect(await f.value('herald_push_snapshots_skipped_total')).toBe(2);
    expect(await f.value('herald_subscriber_streams')).toBe(4);
    expect(await f.value('herald_subscriber_streams_slow')).toBe(1);
    expect(await f.value('herald_evictions_total{reason="lease_expired"}')).toBe(6);
    expect(await f.value('herald_udp_pushes_retried_total')).toBe(3);
    expect(await f.value('herald_udp_pushes_failed_total')).toBe(1);
    expect(await f.value('herald_peer_queue_depth{peer="10.0.0.2:7070"}')).toBe(12);
    expect(await f.value('herald_peer_replication_failures_total{peer="10.0.0.2:7070"}')).toBe(4);
    expect(await f.value('herald_peer_up{peer="10.0.0.3:7070"}')).toBe(1);
    expect(await f.value('herald_push_latency_seconds_count')).toBe(2);
    expect(await f.value('herald_push_latency_seconds_bucket{le="0.005"}')).toBe(1);
    expect(await f.value('herald_request_duration_seconds_count{transport="grpc",method="herald.v1.RegistryService/Renew",code="OK"}')).toBe(1);
    // A peer gone from the configuration leaves no series behind.
    f.state.peers = [];
    expect(await f.value('herald_peer_queue_depth{peer="10.0.0.2:7070"}')).toBeUndefined();
  });

  it('reports the xDS service: open streams, responses and NACKs by resource type (unknown types as other), skipped updates and refusals', async () => {
    const f = fixture();
    expect(await f.value('herald_xds_streams')).toBe(0);
    f.state.xds = {
      streams: 3,
      responses: new Map([
        [TYPE_URL.listener, 2],
        [TYPE_URL.endpoints, 9],
        ['type.googleapis.com/some.Other', 1],
      ]),
      nacks: new Map([[TYPE_URL.cluster, 1]]),
      skipped: 4,
      refused: 2,
    };
    expect(await f.value('herald_xds_streams')).toBe(3);
    expect(await f.value('herald_xds_responses_total{type="listener"}')).toBe(2);
    expect(await f.value('herald_xds_responses_total{type="endpoints"}')).toBe(9);
    expect(await f.value('herald_xds_responses_total{type="other"}')).toBe(1);
    expect(await f.value('herald_xds_nacks_total{type="cluster"}')).toBe(1);
    expect(await f.value('herald_xds_updates_skipped_total')).toBe(4);
    expect(await f.value('herald_xds_refused_total')).toBe(2);
  });

  it('has help text for every metric, and two nodes in one process keep apart (no global registry)', async () => {
    const a = fixture();
    const b = fixture();
    a.metrics.observePush(1);
    expect(await a.value('herald_push_latency_seconds_count')).toBe(1);
    expect(await b.value('herald_push_latency_seconds_count')).toBe(0);
    for (const m of await a.metrics.registry.getMetricsAsJSON()) expect(m.help.length, m.name).toBeGreaterThan(10);
  });
});
