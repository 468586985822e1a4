/**
 * The push rows on one system, on a fresh server: a driver changes one service of `hosts` instances
 * at a fixed rate (herald: Register of the tagged instance; etcd: Put of its key), `subscribers`
 * followers in `loadProcs` processes hold the service (subscribers.ts) and time each change from
 * the write call's start to the moment they hold it, decoded (bench/lib/push: ChangeRun, tally,
 * freshness). Also the CPU of the server and of the subscriber processes, and the server's RSS
 * before and after the changes.
 */
import { changeWindow } from '../lib/push/changes.js';
import { ChangeRun } from '../lib/push/change-run.js';
import type { SubscriberLoadResult } from '../lib/push/load-protocol.js';
import { freshness, receiptTotals } from '../lib/push/receipts.js';
import { totalCpuPercent } from '../lib/process-usage.js';
import { percent } from '../lib/stats.js';
import type { HeraldPush, VersusSubscriberConfig } from './subscribers.js';
import type { HeraldView } from './herald-client.js';
import type { System } from './systems.js';

const SUBSCRIBER_MAIN = new URL('./subscriber-main.ts', import.meta.url);
const SERVICE = 'versus-push';
const MIB = 1024 * 1024;

export interface PushSettings {
  readonly subscribers: number;
  readonly ratePerSecond: number;
  readonly warmupS: number;
  readonly measureS: number;
  readonly loadProcs: number;
  readonly hosts: number;
  readonly heraldPush: HeraldPush;
  readonly heraldView: HeraldView;
  readonly cores: number;
}

export type PushFigures = {
  /** Write call start → decoded at a subscriber, over received changes. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Write call start → the subscriber holds that change or a newer one, over every (change, subscriber). */
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  readonly receivedPercent: number;
  readonly missing: number;
  readonly streamErrors: number;
  readonly driverErrors: number;
  readonly driverAckP99Ms: number;
  readonly serverCpuPercent: number;
  /** Every subscriber process together, % of one core. */
  readonly subscriberCpuPercent: number;
  /** Subscriber processes' CPU per change received by one subscriber, µs. */
  readonly subscriberCpuPerMessageUs: number;
  readonly serverRssBeforeMiB: number;
  readonly serverRssAfterMiB: number;
  readonly openMs: number;
  readonly maxClockOffsetMs: number;
  readonly otherCpuPercent: number;
};

export async function pushRow(system: System, s: PushSettings): Promise<PushFigures> {
  const window = changeWindow(s.warmupS, s.measureS, s.ratePerSecond);
  const server = await system.start();
  const changes = await ChangeRun.start({
    nodes: [server],
    writeTo: server,
    writer: system.writer(server.address),
    service: SERVICE,
    hosts: s.hosts,
    ratePerSecond: s.ratePerSecond,
    window,
  });
  try {
    const { handles, openMs } = await changes.openLoads<VersusSubscriberConfig, SubscriberLoadResult>({
      procs: Math.min(s.loadProcs, s.subscribers),
      subscribers: s.subscribers,
      script: SUBSCRIBER_MAIN,
      name: (p) => `${system.name} subscribers ${p}`,
      at: server,
      extra: { system: system.name, heraldPush: s.heraldPush, heraldView: s.heraldView },
      openBatch: 50,
    });
    const maxClockOffsetMs = await changes.maxClockOffsetMs();
    const before = await server.usage();
    await changes.warmUp();
    const m = await changes.measure(s.cores);
    const after = await server.usage();
    const results = await changes.collect(handles, 5_000);
    const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
    if (firstError !== undefined) console.error(`${system.name} subscriber error: ${firstError}`);
    const totals = receiptTotals(results, window.measuredChanges);
    const fresh = freshness(results, (seq) => changes.issuedAtMs(seq), window.firstMeasured, window.lastMeasured);
    const [serverUsage] = m.nodes;
    const loadCpuUs = m.loads.reduce((n, l) => n + l.cpuUs, 0);
    const driver = changes.driverFigures();
    return {
      p50Ms: totals.latencyMs.p50,
      p99Ms: totals.latencyMs.p99,
      maxMs: totals.latencyMs.max,
      freshnessP50Ms: fresh.allMs.p50,
      freshnessP99Ms: fresh.allMs.p99,
      receivedPercent: percent(totals.received, totals.expected),
      missing: totals.missing,
      streamErrors: results.reduce((n, r) => n + r.streamErrors, 0),
      driverErrors: driver.driverErrors,
      driverAckP99Ms: driver.driverAckP99Ms,
      serverCpuPercent: serverUsage?.cpuPercent ?? Number.NaN,
      subscriberCpuPercent: totalCpuPercent(m.loads),
      subscriberCpuPerMessageUs: totals.received > 0 ? loadCpuUs / totals.received : Number.NaN,
      serverRssBeforeMiB: before.rssBytes / MIB,
      serverRssAfterMiB: after.rssBytes / MIB,
      openMs,
      maxClockOffsetMs,
      otherCpuPercent: m.otherCpuPercent,
    };
  } finally {
    await changes.close();
  }
}
