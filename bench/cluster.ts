/**
 * Cluster mode, two measurements, every node in its own process on 127.0.0.1 (cluster/nodes.ts):
 *
 * (a) cross-node push latency: a change on A → push at subscribers on C, with subscribers on A as
 *     the same-node reference (cluster/push.ts);
 * (b) replication throughput A → B: registrations and renewals A accepts and B applies, over
 *     herald's gRPC Replicate or, with --peer-transport eureka, Eureka peer batches
 *     (cluster/throughput.ts). With eureka only (b) runs.
 *
 *   npx tsx bench/cluster.ts --help
 *   npx tsx bench/cluster.ts --part throughput --runs 1 --profile   # CPU profiles of the nodes
 *   npx tsx bench/cluster.ts --part throughput --peer-transport eureka
 */
import { bool, choice, int, num, numberList, parseFlags } from './lib/flags.js';
import { printHeader, profileDir, writeResults } from './lib/report.js';
import { repeatRuns } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS } from './lib/server-process.js';
import { armWatchdog } from './lib/watchdog.js';
import type { ClusterSettings } from './cluster/nodes.js';
import { pushLine, pushRun, reportPush, type PushRunResult } from './cluster/push.js';
import { reportThroughput, throughputLines, throughputRun, type ThroughputRunResult } from './cluster/throughput.js';

const { flags } = parseFlags(
  {
    script: 'bench/cluster.ts',
    about: `Cluster mode: (a) push latency from a change on node A to subscribers on node C (three nodes),
(b) replication throughput from A to B (two nodes), each node in its own process. Prints every run
and the medians of --runs runs, and writes bench/results/cluster.json (cluster-eureka.json with
--peer-transport eureka).`,
    quick: 'one short run of each part',
  },
  {
    part: choice('which part: push (a), throughput (b) or both', ['push', 'throughput', 'all'], 'all'),
    runs: int('runs of each rate and part', 3, 1),
    rates: numberList('(a) changes per second, comma-separated', [10, 100]),
    subscribers: int('(a) subscribers on C', 100),
    localSubscribers: int('(a) subscribers on A, the same-node reference (0 = none)', 100, undefined, { zero: true }),
    warmupS: num('(a) seconds of changes before the measured ones', 2, 1),
    measureS: num('(a) seconds of measured changes', 6, 3),
    hosts: int('(a) instances in the service', 10),
    mergeWindowMs: num("the nodes' merge window, ms", 5, undefined, { zero: true }),
    batchDelayMs: num("the nodes' replication batch delay, ms", 5, undefined, { zero: true }),
    batchSize: int("the nodes' replication batch size", 250),
    registrations: int('(b) registrations measured (a quarter more as warm-up)', 40_000, 10_000),
    renewS: num('(b) seconds of renewals', 5, 2),
    inFlight: int('(b) calls in flight on A', 64),
    connections: int('(b) connections they spread over', 4),
    services: int('(b) services the instances spread over', 100),
    peerTransport: choice('(b) how A replicates to B: gRPC Replicate, or Eureka peer batches to B\'s Eureka API', ['grpc', 'eureka'], 'grpc'),
    profile: bool('CPU-profile every node (node --cpu-prof into bench/results/profiles/; the pids are printed)'),
  },
);
if (flags.peerTransport === 'eureka' && flags.part === 'push') {
  console.error('bench/cluster.ts: --peer-transport eureka is for the throughput part only (--part throughput)');
  process.exit(2);
}

const { quick: _quick, part, profile, ...chosen } = flags;
const settings: ClusterSettings = {
  // With eureka only (b) runs, also when --part is not given.
  parts: chosen.peerTransport === 'eureka' ? ['throughput'] : part === 'all' ? ['push', 'throughput'] : [part],
  ...chosen,
  warmupRegistrations: Math.round(chosen.registrations / 4),
  profileDir: await profileDir(profile),
};

armWatchdog(25 * 60_000);
const machine = printHeader('herald cluster: cross-node push latency and replication throughput', {
  parts: settings.parts,
  runs: settings.runs,
  rates: settings.rates,
  subscribersOnC: settings.subscribers,
  subscribersOnA: settings.localSubscribers,
  hostsInService: settings.hosts,
  mergeWindowMs: settings.mergeWindowMs,
  replicationBatchDelayMs: settings.batchDelayMs,
  replicationBatchSize: settings.batchSize,
  inFlight: settings.inFlight,
  connections: settings.connections,
  services: settings.services,
  warmupRegistrations: settings.warmupRegistrations,
  registrations: settings.registrations,
  renewS: settings.renewS,
  peerTransport: settings.peerTransport,
  verifyEvictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
  client: 'light',
});

const pushRuns: PushRunResult[] = settings.parts.includes('push')
  ? await repeatRuns({ scenarios: settings.rates, runs: settings.runs, label: (rate) => `push ${rate}/s`, once: (rate, run) => pushRun(settings, machine.cores, rate, run), line: pushLine })
  : [];
const throughputRuns: ThroughputRunResult[] = settings.parts.includes('throughput')
  ? await repeatRuns({ scenarios: ['throughput'], runs: settings.runs, label: (part) => part, once: (_part, run) => throughputRun(settings, machine.cores, run), line: (r) => throughputLines(settings, r) })
  : [];

const pushSummary = pushRuns.length > 0 ? reportPush(settings, pushRuns) : [];
const throughputSummary = throughputRuns.length > 0 ? reportThroughput(settings, throughputRuns) : {};
const anomalies = pushRuns.filter((r) => r.remote.regressions + r.remote.streamErrors + r.driverErrors > 0 || r.remote.missing > 0);
if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} push run(s) had regressions, stream errors, driver errors or missing changes (see JSON)`);
const file = await writeResults(settings.peerTransport === 'eureka' ? 'cluster-eureka' : 'cluster', {
  machine,
  settings,
  summary: { push: pushSummary, throughput: throughputSummary },
  runs: { push: pushRuns, throughput: throughputRuns },
});
console.log(`wrote ${file}`);
if (settings.profileDir !== undefined) console.log(`CPU profiles in ${settings.profileDir}`);
