/**
 * Convergence to the acknowledged history after a node fault, at scale: the scenario of
 * test/cluster/fault-history.test.ts (test/support/fault-scenario.ts) with thousands of operations.
 * Three `herald serve` processes A, B, C on reserved ports; registrations spread over all three;
 * C is killed (SIGKILL, then restarted on the same port with the same flags) or frozen (SIGSTOP,
 * then SIGCONT) while this process registers and cancels at A and B; then every node's registry is
 * polled (FetchRegistry) and compared with the history of acknowledged, refused and uncertain ops.
 *
 * Reported per run and as medians: ops during the fault by outcome, replication tasks A and B
 * dropped for C, lost (acknowledged, missing), resurrected (acknowledged cancel, present) and
 * unexpected instances on the worst node at the end, the time from the heal until the nodes agree
 * (with empty replication queues) and the convergence time: from the heal until every node equals
 * the acknowledged history, and still does one anti-entropy interval later ("never" within
 * --heal-timeout-ms).
 *
 *   npm run build                                 # once: generates src/gen
 *   npx tsx bench/cluster-faults.ts               # 3 runs of each fault, a few minutes
 *   npx tsx bench/cluster-faults.ts --quick       # 1 run of each
 *   npx tsx bench/cluster-faults.ts --fault stop --runs 5 --ops 6000
 *   npx tsx bench/cluster-faults.ts --server-flags '--tombstone-retention-ms 60000'
 *   npx tsx bench/cluster-faults.ts --help
 *
 * Writes bench/results/cluster-faults.json.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import setupBuild from '../test/global-setup.js';
import { runFaultScenario, type FaultKind, type FaultScenarioResult, type FaultScenarioSettings } from '../test/support/fault-scenario.js';
import { worstCounts } from '../test/support/write-history.js';
import { intFlag, numberFlag } from './lib/flags.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import { printHeader, printTable, writeResults } from './lib/report.js';
import { medianOf } from './lib/stats.js';
import { undisturbed } from './lib/undisturbed.js';
import { armWatchdog } from './lib/watchdog.js';

const HELP = `Usage: npx tsx bench/cluster-faults.ts [options]

Three herald nodes; registrations over all three; node C is killed (kill -9, then restarted on the
same port) or frozen (SIGSTOP, then SIGCONT) while registers and cancels go on at A and B; then every
node is compared with the acknowledged history. Prints a table per run and medians over runs, and
writes bench/results/cluster-faults.json.

Options:
  --fault <kill|stop|both>      which fault (default both)
  --runs <n>                    runs per fault (default 3; 1 with --quick)
  --quick                       one short run per fault
  --ops <n>                     register/cancel ops at A and B during the fault, at least (default 4000; 3000 with --quick)
  --fault-ms <ms>               the fault lasts at least this long (default 6000)
  --seed-instances <n>          registrations over all three nodes before the fault (default 1000)
  --services <n>                services the instances spread over (default 20)
  --concurrency <n>             ops in flight (default 16)
  --cancel-share <0..1>         share of fault ops that cancel (default 0.45)
  --fresh-cancel-share <0..1>   of the cancels, the share aimed at instances registered during the fault (default 0.5)
  --reregister-share <0..1>     share of fault ops that register a cancelled id again (default 0.05)
  --task-expiry-ms <ms>         --replication-task-expiry-ms of the nodes (default 3000)
  --verify-interval-ms <ms>     --verify-interval-ms of the nodes (default 1000)
  --retry-max-ms <ms>           --replication-retry-max-ms of the nodes (default 250)
  --eviction-interval-ms <ms>   --eviction-interval-ms of the nodes (default 2000)
  --live-instances <n>          with --fault stop: short-lease instances renewed at A and B throughout (default 20)
  --live-lease-ms <ms>          their lease (default 3000; renewed every third of it)
  --heal-timeout-ms <ms>        how long to wait after the heal for agreement and convergence (default 30000)
  --settle-intervals <n>        verify intervals observed after agreement (default 2)
  --poll-ms <ms>                registry polling period after the heal (default 200)
  --server-flags '<flags>'      more herald serve flags for every node, space-separated
  --seed <n>                    workload random seed (default 1; each run adds its number)
  -h, --help                    this text
`;

type Fault = Exclude<FaultKind, 'none'>;

interface Settings {
  readonly faults: readonly Fault[];
  readonly runs: number;
  readonly ops: number;
  readonly faultMs: number;
  readonly seedInstances: number;
  readonly services: number;
  readonly concurrency: number;
  readonly cancelShare: number;
  readonly freshCancelShare: number;
  readonly reregisterShare: number;
  readonly taskExpiryMs: number;
  readonly verifyIntervalMs: number;
  readonly retryMaxMs: number;
  readonly evictionIntervalMs: number;
  readonly liveInstances: number;
  readonly liveLeaseMs: number;
  readonly healTimeoutMs: number;
  readonly settleIntervals: number;
  readonly pollMs: number;
  readonly serverFlags: readonly string[];
  readonly seed: number;
}

function share(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--${name} must be between 0 and 1 (got ${value})`);
  return n;
}

function readSettings(): Settings | undefined {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      fault: { type: 'string' },
      runs: { type: 'string' },
      ops: { type: 'string' },
      'fault-ms': { type: 'string' },
      'seed-instances': { type: 'string' },
      services: { type: 'string' },
      concurrency: { type: 'string' },
      'cancel-share': { type: 'string' },
      'fresh-cancel-share': { type: 'string' },
      'reregister-share': { type: 'string' },
      'task-expiry-ms': { type: 'string' },
      'verify-interval-ms': { type: 'string' },
      'retry-max-ms': { type: 'string' },
      'eviction-interval-ms': { type: 'string' },
      'live-instances': { type: 'string' },
      'live-lease-ms': { type: 'string' },
      'heal-timeout-ms': { type: 'string' },
      'settle-intervals': { type: 'string' },
      'poll-ms': { type: 'string' },
      'server-flags': { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const quick = values.quick;
  const fault = values.fault ?? 'both';
  if (fault !== 'kill' && fault !== 'stop' && fault !== 'both') throw new Error(`--fault must be kill, stop or both (got ${fault})`);
  const cancelShare = share('cancel-share', values['cancel-share'], 0.45);
  const reregisterShare = share('reregister-share', values['reregister-share'], 0.05);
  if (cancelShare + reregisterShare > 1) throw new Error('--cancel-share plus --reregister-share must be at most 1');
  return {
    faults: fault === 'both' ? ['kill', 'stop'] : [fault],
    runs: intFlag('runs', values.runs, quick ? 1 : 3),
    ops: intFlag('ops', values.ops, quick ? 3_000 : 4_000),
    faultMs: numberFlag('fault-ms', values['fault-ms'], 6_000),
    seedInstances: intFlag('seed-instances', values['seed-instances'], 1_000),
    services: intFlag('services', values.services, 20),
    concurrency: intFlag('concurrency', values.concurrency, 16),
    cancelShare,
    freshCancelShare: share('fresh-cancel-share', values['fresh-cancel-share'], 0.5),
    reregisterShare,
    taskExpiryMs: numberFlag('task-expiry-ms', values['task-expiry-ms'], 3_000),
    verifyIntervalMs: numberFlag('verify-interval-ms', values['verify-interval-ms'], 1_000),
    retryMaxMs: numberFlag('retry-max-ms', values['retry-max-ms'], 250),
    evictionIntervalMs: numberFlag('eviction-interval-ms', values['eviction-interval-ms'], 2_000),
    liveInstances: values['live-instances'] === '0' ? 0 : intFlag('live-instances', values['live-instances'], 20),
    liveLeaseMs: numberFlag('live-lease-ms', values['live-lease-ms'], 3_000),
    healTimeoutMs: numberFlag('heal-timeout-ms', values['heal-timeout-ms'], 30_000),
    settleIntervals: intFlag('settle-intervals', values['settle-intervals'], 2),
    pollMs: numberFlag('poll-ms', values['poll-ms'], 200),
    serverFlags: (values['server-flags'] ?? '').split(/\s+/).filter((f) => f !== ''),
    seed: intFlag('seed', values.seed, 1),
  };
}

interface RunRow {
  readonly fault: Fault;
  readonly run: number;
  readonly faultOps: number;
  readonly acknowledged: number;
  readonly refused: number;
  readonly uncertain: number;
  readonly cancelsAcknowledged: number;
  readonly healOps: number;
  readonly faultS: number;
  readonly droppedForC: number;
  readonly restartMs: number;
  readonly agreeAfterMs: number;
  readonly convergedAfterMs: number;
  readonly everCorrect: boolean;
  readonly lost: number;
  readonly resurrected: number;
  readonly unexpected: number;
  readonly agree: boolean;
  readonly liveEvicted: number;
  readonly repairs: FaultScenarioResult['repairs'];
  /** A few offending keys per node, for the JSON. */
  readonly examples: Record<string, { lost: string[]; resurrected: string[]; unexpected: string[] }>;
  readonly nodeCpuPercent: number;
  readonly otherCpuPercent: number;
  readonly wallS: number;
}

function scenarioSettings(s: Settings, fault: Fault, run: number): FaultScenarioSettings {
  return {
    fault,
    verifyIntervalMs: s.verifyIntervalMs,
    taskExpiryMs: s.taskExpiryMs,
    retryMaxMs: s.retryMaxMs,
    evictionIntervalMs: s.evictionIntervalMs,
    extraFlags: s.serverFlags,
    seedInstances: s.seedInstances,
    services: s.services,
    faultOps: s.ops,
    faultMinMs: s.faultMs,
    concurrency: s.concurrency,
    cancelShare: s.cancelShare,
    freshCancelShare: s.freshCancelShare,
    reregisterShare: s.reregisterShare,
    // Live instances only where the brief's property is about a frozen node; after a restart their
    // renewals queue behind the backlog for C and would blur the kill numbers.
    liveInstances: fault === 'stop' ? s.liveInstances : 0,
    liveLeaseMs: s.liveLeaseMs,
    settleIntervals: s.settleIntervals,
    untilConverged: true,
    healTimeoutMs: s.healTimeoutMs,
    pollEveryMs: s.pollMs,
    seed: s.seed + run - 1,
    log: (line) => {
      console.error(`  [${fault} ${run}] ${line}`);
    },
  };
}

async function oneRun(s: Settings, fault: Fault, run: number): Promise<RunRow> {
  const cores = os.availableParallelism();
  const machineBefore = sampleMachineCpu();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const r = await runFaultScenario(scenarioSettings(s, fault, run));
  const wallMs = performance.now() - started;
  const own = process.cpuUsage(ownBefore);
  const ownPercent = ((own.user + own.system) / 1000 / wallMs) * 100;
  const nodeCpuPercent = (r.nodeCpuMs / wallMs) * 100;
  const counts = worstCounts(r.final);
  return {
    fault,
    run,
    faultOps: r.faultOps,
    acknowledged: r.faultCounts.ok,
    refused: r.faultCounts.refused,
    uncertain: r.faultCounts.uncertain,
    cancelsAcknowledged: r.faultCancels.ok,
    healOps: r.healOps,
    faultS: r.faultDurationMs / 1000,
    droppedForC: r.droppedForC,
    restartMs: r.restartMs,
    agreeAfterMs: r.agreeAfterMs,
    convergedAfterMs: r.convergedAfterMs,
    everCorrect: r.everCorrect,
    ...counts,
    agree: r.final.agree,
    liveEvicted: r.evictedLive.length,
    repairs: r.repairs,
    examples: Object.fromEntries(r.final.nodes.map((n) => [n.node, { lost: n.lost.slice(0, 20), resurrected: n.resurrected.slice(0, 20), unexpected: n.unexpected.slice(0, 20) }])),
    nodeCpuPercent,
    otherCpuPercent: Math.max(0, machineBusyPercent(machineBefore, sampleMachineCpu(), cores) - nodeCpuPercent - ownPercent),
    wallS: wallMs / 1000,
  };
}

const ms = (n: number): number | string => (Number.isNaN(n) ? 'never' : Math.round(n));

function report(s: Settings, rows: readonly RunRow[]): Record<string, Record<string, number>> {
  printTable(
    'Every run (ops during the fault at A and B; lost / resurrected / unexpected: the worst node at the end; times from the heal, ms):',
    ['fault', 'run', 'ops', 'acknowledged', 'refused', 'uncertain', 'cancels ack', 'ops while restarting', 'fault s', 'dropped for C', 'restart ms', 'agree ms', 'converged ms', 'lost', 'resurrected', 'unexpected', 'nodes agree', 'live evicted', 'node CPU %', 'other CPU %'],
    rows.map((r) => [
      r.fault,
      r.run,
      r.faultOps,
      r.acknowledged,
      r.refused,
      r.uncertain,
      r.cancelsAcknowledged,
      r.healOps,
      r.faultS,
      r.droppedForC,
      r.fault === 'kill' ? Math.round(r.restartMs) : Number.NaN,
      ms(r.agreeAfterMs),
      ms(r.convergedAfterMs),
      r.lost,
      r.resurrected,
      r.unexpected,
      r.agree ? 'yes' : 'no',
      r.liveEvicted,
      r.nodeCpuPercent,
      r.otherCpuPercent,
    ]),
  );
  const summary: Record<string, Record<string, number>> = {};
  for (const fault of s.faults) {
    const rs = rows.filter((r) => r.fault === fault);
    if (rs.length === 0) continue;
    summary[fault] = {
      runs: rs.length,
      faultOps: medianOf(rs, (r) => r.faultOps),
      acknowledged: medianOf(rs, (r) => r.acknowledged),
      refused: medianOf(rs, (r) => r.refused),
      uncertain: medianOf(rs, (r) => r.uncertain),
      cancelsAcknowledged: medianOf(rs, (r) => r.cancelsAcknowledged),
      droppedForC: medianOf(rs, (r) => r.droppedForC),
      lost: medianOf(rs, (r) => r.lost),
      resurrected: medianOf(rs, (r) => r.resurrected),
      unexpected: medianOf(rs, (r) => r.unexpected),
      // A run that never converged counts as +Infinity, so the median says "never" when most did not.
      agreeAfterMs: medianOf(rs, (r) => (Number.isNaN(r.agreeAfterMs) ? Infinity : r.agreeAfterMs)),
      convergedAfterMs: medianOf(rs, (r) => (Number.isNaN(r.convergedAfterMs) ? Infinity : r.convergedAfterMs)),
      runsConverged: rs.filter((r) => !Number.isNaN(r.convergedAfterMs)).length,
      liveEvicted: medianOf(rs, (r) => r.liveEvicted),
      otherCpuPercent: medianOf(rs, (r) => r.otherCpuPercent),
    };
  }
  const time = (n: number | undefined): number | string => (n === undefined || !Number.isFinite(n) ? 'never' : Math.round(n));
  printTable(
    `Medians over runs (convergence: every node equals the acknowledged history and still does one ${s.verifyIntervalMs} ms anti-entropy interval later; "never" = not within ${s.healTimeoutMs} ms):`,
    ['fault', 'runs', 'ops', 'acknowledged', 'refused', 'uncertain', 'dropped for C', 'lost', 'resurrected', 'unexpected', 'agree ms', 'converged ms', 'runs converged', 'live evicted', 'other CPU %'],
    Object.entries(summary).map(([fault, m]) => [
      fault,
      m.runs ?? Number.NaN,
      m.faultOps ?? Number.NaN,
      m.acknowledged ?? Number.NaN,
      m.refused ?? Number.NaN,
      m.uncertain ?? Number.NaN,
      m.droppedForC ?? Number.NaN,
      m.lost ?? Number.NaN,
      m.resurrected ?? Number.NaN,
      m.unexpected ?? Number.NaN,
      time(m.agreeAfterMs),
      time(m.convergedAfterMs),
      `${m.runsConverged ?? 0}/${m.runs ?? 0}`,
      m.liveEvicted ?? Number.NaN,
      m.otherCpuPercent ?? Number.NaN,
    ]),
  );
  return summary;
}

async function main(): Promise<void> {
  const settings = readSettings();
  if (settings === undefined) return;
  armWatchdog(60 * 60_000);
  // The nodes run bin/herald.js over dist/: rebuild it when src/ is newer (as the tests do).
  setupBuild();
  const machine = printHeader('herald cluster faults: convergence to the acknowledged history after kill -9 / SIGSTOP of a node', { ...settings });
  const rows: RunRow[] = [];
  for (const fault of settings.faults) {
    for (let run = 1; run <= settings.runs; run++) {
      const row = await undisturbed(`${fault} run ${run}`, () => oneRun(settings, fault, run));
      rows.push(row);
      console.log(
        `${fault} run ${run}: ${row.faultOps} ops during ${row.faultS.toFixed(1)} s (${row.acknowledged} acknowledged, ${row.refused} refused, ${row.uncertain} uncertain), ` +
          `${row.droppedForC} tasks for C dropped; lost ${row.lost}, resurrected ${row.resurrected}, unexpected ${row.unexpected}, nodes ${row.agree ? 'agree' : 'disagree'}; ` +
          `agree after ${String(ms(row.agreeAfterMs))} ms, converged after ${String(ms(row.convergedAfterMs))} ms; live evicted ${row.liveEvicted}; other CPU ${row.otherCpuPercent.toFixed(0)} %`,
      );
    }
  }
  console.log('');
  const summary = report(settings, rows);
  const file = await writeResults('cluster-faults', { machine, settings, summary, runs: rows });
  console.log(`wrote ${file}`);
}

await main();
