/**
 * Part (a) of the cluster benchmark, cross-node push latency. Three nodes A, B, C. The driver
 * changes one instance on A at a fixed rate (lib/push/changes.ts); light Subscribe streams on C
 * receive each change after A replicates it (batching dispatcher → C's registry → C's push hub).
 * Latency = receipt on C − issue on A's client. The same number of subscribers on A, in the same
 * run, are the same-node reference, so per change "replication adds" = first receipt on C − first
 * receipt on A. A's peer link is wrapped to count and time its Replicate calls (batches) to C.
 */
import { changeWindow } from '../lib/push/changes.js';
import { ChangeRun, SUBSCRIBER_MAIN } from '../lib/push/change-run.js';
import type { SubscriberLoadConfig, SubscriberLoadResult } from '../lib/push/load-protocol.js';
import { changeSpread, receiptsByChange, receiptTotals, type ChangeSpread, type ReceiptTotals } from '../lib/push/receipts.js';
import type { UsageDelta } from '../lib/process-usage.js';
import { printRows } from '../lib/report.js';
import { medians } from '../lib/runs.js';
import { percent, summarize, type LatencySummary } from '../lib/stats.js';
import { batchStatsTo, node, startCluster, waitUntil, type BatchStats, type ClusterSettings } from './nodes.js';

const SERVICE = 'cluster-push-bench';

interface PushSide extends ReceiptTotals {
  readonly streamErrors: number;
  readonly perChange: ChangeSpread;
}

export interface PushRunResult {
  readonly ratePerSecond: number;
  readonly run: number;
  readonly measuredChanges: number;
  /** Subscribers on C (the other node). */
  readonly remote: PushSide;
  /** Subscribers on A (the node written to); undefined without local subscribers. */
  readonly local: PushSide | undefined;
  /** Per change: first receipt on C − first receipt on A, ms. */
  readonly replicationAddsMs: LatencySummary | undefined;
  /** A's Replicate calls to C during the measured phase. */
  readonly batchesToC: BatchStats;
  readonly driverAckP99Ms: number;
  readonly driverErrors: number;
  readonly nodes: readonly UsageDelta[];
  readonly loads: readonly UsageDelta[];
  readonly driver: UsageDelta;
  readonly otherCpuPercent: number;
  readonly maxClockOffsetMs: number;
}

function pushSide(results: readonly SubscriberLoadResult[], measuredChanges: number): PushSide {
  for (const r of results) if (r.firstError !== undefined) console.error(`stream error: ${r.firstError}`);
  return { ...receiptTotals(results, measuredChanges), streamErrors: results.reduce((n, r) => n + r.streamErrors, 0), perChange: changeSpread(results) };
}

/** Per change: its first receipt on C minus its first receipt on A. */
function replicationAdds(remote: readonly SubscriberLoadResult[], local: readonly SubscriberLoadResult[]): LatencySummary {
  const onA = receiptsByChange(local).first;
  const adds: number[] = [];
  for (const [seq, onC] of receiptsByChange(remote).first) {
    const at = onA.get(seq);
    if (at !== undefined) adds.push(onC - at);
  }
  return summarize(adds);
}

export async function pushRun(settings: ClusterSettings, cores: number, ratePerSecond: number, run: number): Promise<PushRunResult> {
  const window = changeWindow(settings.warmupS, settings.measureS, ratePerSecond);
  const nodes = await startCluster(settings, 3);
  const [a, c] = [node(nodes, 0), node(nodes, 2)];
  const changes = await ChangeRun.start({ nodes, writeTo: a, service: SERVICE, hosts: settings.hosts, ratePerSecond, window });
  try {
    await waitUntil('C to hold the service', async () => (await c.stats()).instances >= settings.hosts, 10_000);
    const open = (at: typeof a, subscribers: number, name: string) =>
      changes.openLoads<SubscriberLoadConfig, SubscriberLoadResult>({ procs: 1, subscribers, script: SUBSCRIBER_MAIN, name: () => name, at, extra: { kind: 'light' }, openBatch: 50 });
    const onC = await open(c, settings.subscribers, 'subscribers-on-C');
    const onA = settings.localSubscribers > 0 ? await open(a, settings.localSubscribers, 'subscribers-on-A') : undefined;
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    await changes.warmUp();
    await a.cluster(true);
    const m = await changes.measure(cores);
    const calls = await a.cluster();
    const [remote, local] = await Promise.all([changes.collect(onC.handles, 3_000), onA === undefined ? [] : changes.collect(onA.handles, 3_000)]);
    const { driverAckP99Ms, driverErrors } = changes.driverFigures();
    return {
      ratePerSecond,
      run,
      measuredChanges: window.measuredChanges,
      remote: pushSide(remote, window.measuredChanges),
      local: local.length > 0 ? pushSide(local, window.measuredChanges) : undefined,
      replicationAddsMs: local.length > 0 ? replicationAdds(remote, local) : undefined,
      batchesToC: batchStatsTo(calls, c.port),
      driverAckP99Ms,
      driverErrors,
      nodes: m.nodes,
      loads: m.loads,
      driver: m.driver,
      otherCpuPercent: m.otherCpuPercent,
      maxClockOffsetMs,
    };
  } finally {
    await changes.close();
  }
}

export function pushLine(r: PushRunResult): string {
  return (
    `on C p50 ${r.remote.latencyMs.p50.toFixed(2)} ms, p99 ${r.remote.latencyMs.p99.toFixed(2)} ms, max ${r.remote.latencyMs.max.toFixed(1)} ms, ` +
    `received ${percent(r.remote.received, r.remote.expected).toFixed(1)} %, skipped ${r.remote.skipped}, missing ${r.remote.missing}; ` +
    (r.local === undefined ? '' : `on A p50 ${r.local.latencyMs.p50.toFixed(2)} ms, p99 ${r.local.latencyMs.p99.toFixed(2)} ms; replication adds p50 ${r.replicationAddsMs?.p50.toFixed(2) ?? '-'} ms; `) +
    `${r.batchesToC.calls} batches to C (mean ${r.batchesToC.meanBatch.toFixed(1)}, call p50 ${r.batchesToC.callMs.p50.toFixed(2)} ms); ` +
    `CPU A/B/C ${r.nodes.map((n) => n.cpuPercent.toFixed(0)).join('/')} %, loads ${r.loads.map((l) => l.cpuPercent.toFixed(0)).join('/')} %, other ${r.otherCpuPercent.toFixed(0)} %`
  );
}

const loadCpu = (r: PushRunResult): number => r.loads.reduce((n, l) => n + l.cpuPercent, 0);

/** Prints part (a)'s tables; returns the medians per rate for the JSON. */
export function reportPush(settings: ClusterSettings, runs: readonly PushRunResult[]) {
  printRows('Every run, (a) cross-node push (latency in ms, change issued on A → received on C; CPU in % of one core):', runs, [
    ['rate', (r) => `${r.ratePerSecond}/s`],
    ['run', (r) => r.run],
    ['C p50', (r) => r.remote.latencyMs.p50],
    ['C p90', (r) => r.remote.latencyMs.p90],
    ['C p99', (r) => r.remote.latencyMs.p99],
    ['C max', (r) => r.remote.latencyMs.max],
    ['C received %', (r) => percent(r.remote.received, r.remote.expected)],
    ['A p50', (r) => r.local?.latencyMs.p50 ?? Number.NaN],
    ['A p99', (r) => r.local?.latencyMs.p99 ?? Number.NaN],
    ['replication adds p50', (r) => r.replicationAddsMs?.p50 ?? Number.NaN],
    ['batches to C', (r) => r.batchesToC.calls],
    ['mean batch', (r) => r.batchesToC.meanBatch],
    ['node CPU % (A/B/C)', (r) => r.nodes.map((n) => n.cpuPercent.toFixed(0)).join(' / ')],
    ['load CPU %', loadCpu],
    ['other CPU %', (r) => r.otherCpuPercent],
  ]);
  const summary = settings.rates.map((rate) => {
    const rs = runs.filter((r) => r.ratePerSecond === rate);
    const p99s = rs.map((r) => r.remote.latencyMs.p99);
    return {
      rate: `${rate}/s`,
      ratePerSecond: rate,
      runs: rs.length,
      ...medians(rs, {
        remoteP50Ms: (r) => r.remote.latencyMs.p50,
        remoteP90Ms: (r) => r.remote.latencyMs.p90,
        remoteP99Ms: (r) => r.remote.latencyMs.p99,
        remoteMaxMs: (r) => r.remote.latencyMs.max,
      }),
      remoteP99RangeMs: `${Math.min(...p99s).toFixed(1)}–${Math.max(...p99s).toFixed(1)}`,
      ...medians(rs, {
        remoteReceivedPercent: (r) => percent(r.remote.received, r.remote.expected),
        remoteSkipped: (r) => r.remote.skipped,
        remoteMissing: (r) => r.remote.missing,
        remoteFirstReceiptP50Ms: (r) => r.remote.perChange.firstMs.p50,
        localP50Ms: (r) => r.local?.latencyMs.p50 ?? Number.NaN,
        localP99Ms: (r) => r.local?.latencyMs.p99 ?? Number.NaN,
        localFirstReceiptP50Ms: (r) => r.local?.perChange.firstMs.p50 ?? Number.NaN,
        replicationAddsP50Ms: (r) => r.replicationAddsMs?.p50 ?? Number.NaN,
        replicationAddsP99Ms: (r) => r.replicationAddsMs?.p99 ?? Number.NaN,
        batchesToC: (r) => r.batchesToC.calls,
        meanBatch: (r) => r.batchesToC.meanBatch,
        replicateCallP50Ms: (r) => r.batchesToC.callMs.p50,
        replicateCallP99Ms: (r) => r.batchesToC.callMs.p99,
        nodeACpuPercent: (r) => r.nodes[0]?.cpuPercent ?? Number.NaN,
        nodeBCpuPercent: (r) => r.nodes[1]?.cpuPercent ?? Number.NaN,
        nodeCCpuPercent: (r) => r.nodes[2]?.cpuPercent ?? Number.NaN,
        loadCpuPercent: loadCpu,
        driverAckP99Ms: (r) => r.driverAckP99Ms,
        otherCpuPercent: (r) => r.otherCpuPercent,
      }),
    };
  });
  printRows(
    `(a) Medians of ${settings.runs} run(s): ${settings.subscribers} subscribers on C${settings.localSubscribers > 0 ? `, ${settings.localSubscribers} on A (same-node reference)` : ''}; latency in ms:`,
    summary,
    [
      ['rate', (s) => s.rate],
      ['C p50', (s) => s.remoteP50Ms],
      ['C p90', (s) => s.remoteP90Ms],
      ['C p99', (s) => s.remoteP99Ms],
      ['C max', (s) => s.remoteMaxMs],
      ['C received %', (s) => s.remoteReceivedPercent],
      ['C first receipt p50', (s) => s.remoteFirstReceiptP50Ms],
      ['A p50', (s) => s.localP50Ms],
      ['A p99', (s) => s.localP99Ms],
      ['A first receipt p50', (s) => s.localFirstReceiptP50Ms],
      ['replication adds p50', (s) => s.replicationAddsP50Ms],
      ['replication adds p99', (s) => s.replicationAddsP99Ms],
    ],
  );
  printRows('(a) Replication to C during the measured phase (medians; CPU in % of one core):', summary, [
    ['rate', (s) => s.rate],
    ['Replicate calls to C', (s) => s.batchesToC],
    ['mean batch', (s) => s.meanBatch],
    ['call p50 ms', (s) => s.replicateCallP50Ms],
    ['call p99 ms', (s) => s.replicateCallP99Ms],
    ['A CPU %', (s) => s.nodeACpuPercent],
    ['B CPU %', (s) => s.nodeBCpuPercent],
    ['C CPU %', (s) => s.nodeCCpuPercent],
    ['load CPU %', (s) => s.loadCpuPercent],
    ['driver ack p99 ms', (s) => s.driverAckP99Ms],
    ['other CPU %', (s) => s.otherCpuPercent],
  ]);
  return summary;
}
