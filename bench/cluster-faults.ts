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
 *   npx tsx bench/cluster-faults.ts --help
 *   npx tsx bench/cluster-faults.ts --fault stop --runs 5 --ops 6000
 *   npx tsx bench/cluster-faults.ts --server-flags '--tombstone-retention-ms 60000'
 */
import os from 'node:os';
import setupBuild from '../test/global-setup.js';
import { runFaultScenario, type FaultKind, type FaultScenarioResult, type FaultScenarioSettings } from '../test/support/fault-scenario.js';
import { worstCounts } from '../test/support/write-history.js';
import { choice, int, num, parseFlags, share, text } from './lib/flags.js';
import { machineBusyPercent, sampleMachineCpu } from './lib/machine-load.js';
import { printHeader, printRows, writeResults } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { armWatchdog } from './lib/watchdog.js';

const { flags } = parseFlags(
  {
    script: 'bench/cluster-faults.ts',
    about: `Three herald nodes; registrations over all three; node C is killed (kill -9, then restarted on the
same port) or frozen (SIGSTOP, then SIGCONT) while registers and cancels go on at A and B; then every
node is compared with the acknowledged history. Prints a table per run and medians over runs, and
writes bench/results/cluster-faults.json.`,
    quick: 'one short run per fault',
  },
  {
    fault: choice('which fault', ['kill', 'stop', 'both'], 'both'),
    runs: int('runs per fault', 3, 1),
    ops: int('register/cancel ops at A and B during the fault, at least', 4_000, 3_000),
    faultMs: num('the fault lasts at least this long, ms', 6_000),
    seedInstances: int('registrations over all three nodes before the fault', 1_000),
    services: int('services the instances spread over', 20),
    concurrency: int('ops in flight', 16),
    cancelShare: share('share of fault ops that cancel', 0.45),
    freshCancelShare: share('of the cancels, the share aimed at instances registered during the fault', 0.5),
    reregisterShare: share('share of fault ops that register a cancelled id again', 0.05),
    taskExpiryMs: num('--replication-task-expiry-ms of the nodes', 3_000),
    verifyIntervalMs: num('--verify-interval-ms of the nodes', 1_000),
    retryMaxMs: num('--replication-retry-max-ms of the nodes', 250),
    evictionIntervalMs: num('--eviction-interval-ms of the nodes', 2_000),
    liveInstances: int('with --fault stop: short-lease instances renewed at A and B throughout', 20, undefined, { zero: true }),
    liveLeaseMs: num('their lease, ms (renewed every third of it)', 3_000),
    healTimeoutMs: num('how long to wait after the heal for agreement and convergence, ms', 30_000),
    settleIntervals: int('verify intervals observed after agreement', 2),
    pollMs: num('registry polling period after the heal, ms', 200),
    serverFlags: text("'<flags>'", 'more herald serve flags for every node, space-separated', '', (v) => v.split(/\s+/).filter((f) => f !== '')),
    seed: int('workload random seed (each run adds its number)', 1),
  },
);
if (flags.cancelShare + flags.reregisterShare > 1) {
  console.error('bench/cluster-faults.ts: --cancel-share plus --reregister-share must be at most 1');
  process.exit(2);
}

type Fault = Exclude<FaultKind, 'none'>;

const { fault, quick: _quick, ...rest } = flags;
const faults: readonly Fault[] = fault === 'both' ? ['kill', 'stop'] : [fault];
const settings = { faults, ...rest };
type Settings = typeof settings;

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

async function oneRun(fault: Fault, run: number): Promise<RunRow> {
  const cores = os.availableParallelism();
  const machineBefore = sampleMachineCpu();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const r = await runFaultScenario(scenarioSettings(settings, fault, run));
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
/** A median that is +Infinity (more runs never got there than did) reads "never". */
const time = (n: number | undefined): number | string => (n === undefined || !Number.isFinite(n) ? 'never' : Math.round(n));

function runLine(row: RunRow): string {
  return (
    `${row.faultOps} ops during ${row.faultS.toFixed(1)} s (${row.acknowledged} acknowledged, ${row.refused} refused, ${row.uncertain} uncertain), ` +
    `${row.droppedForC} tasks for C dropped; lost ${row.lost}, resurrected ${row.resurrected}, unexpected ${row.unexpected}, nodes ${row.agree ? 'agree' : 'disagree'}; ` +
    `agree after ${String(ms(row.agreeAfterMs))} ms, converged after ${String(ms(row.convergedAfterMs))} ms; live evicted ${row.liveEvicted}; other CPU ${row.otherCpuPercent.toFixed(0)} %`
  );
}

function report(rows: readonly RunRow[]): Record<string, Record<string, number>> {
  printRows('Every run (ops during the fault at A and B; lost / resurrected / unexpected: the worst node at the end; times from the heal, ms):', rows, [
    ['fault', (r) => r.fault],
    ['run', (r) => r.run],
    ['ops', (r) => r.faultOps],
    ['acknowledged', (r) => r.acknowledged],
    ['refused', (r) => r.refused],
    ['uncertain', (r) => r.uncertain],
    ['cancels ack', (r) => r.cancelsAcknowledged],
    ['ops while restarting', (r) => r.healOps],
    ['fault s', (r) => r.faultS],
    ['dropped for C', (r) => r.droppedForC],
    ['restart ms', (r) => (r.fault === 'kill' ? Math.round(r.restartMs) : Number.NaN)],
    ['agree ms', (r) => ms(r.agreeAfterMs)],
    ['converged ms', (r) => ms(r.convergedAfterMs)],
    ['lost', (r) => r.lost],
    ['resurrected', (r) => r.resurrected],
    ['unexpected', (r) => r.unexpected],
    ['nodes agree', (r) => (r.agree ? 'yes' : 'no')],
    ['live evicted', (r) => r.liveEvicted],
    ['node CPU %', (r) => r.nodeCpuPercent],
    ['other CPU %', (r) => r.otherCpuPercent],
  ]);
  const summary: Record<string, Record<string, number>> = {};
  for (const fault of settings.faults) {
    const rs = rows.filter((r) => r.fault === fault);
    if (rs.length === 0) continue;
    summary[fault] = {
      runs: rs.length,
      ...medians(rs, {
        faultOps: (r) => r.faultOps,
        acknowledged: (r) => r.acknowledged,
        refused: (r) => r.refused,
        uncertain: (r) => r.uncertain,
        cancelsAcknowledged: (r) => r.cancelsAcknowledged,
        droppedForC: (r) => r.droppedForC,
        lost: (r) => r.lost,
        resurrected: (r) => r.resurrected,
        unexpected: (r) => r.unexpected,
        // A run that never converged counts as +Infinity, so the median says "never" when most did not.
        agreeAfterMs: (r) => (Number.isNaN(r.agreeAfterMs) ? Infinity : r.agreeAfterMs),
        convergedAfterMs: (r) => (Number.isNaN(r.convergedAfterMs) ? Infinity : r.convergedAfterMs),
      }),
      runsConverged: rs.filter((r) => !Number.isNaN(r.convergedAfterMs)).length,
      ...medians(rs, { liveEvicted: (r) => r.liveEvicted, otherCpuPercent: (r) => r.otherCpuPercent }),
    };
  }
  const get = (k: string) => ([, m]: readonly [string, Record<string, number>]): number => m[k] ?? Number.NaN;
  printRows(
    `Medians over runs (convergence: every node equals the acknowledged history and still does one ${settings.verifyIntervalMs} ms anti-entropy interval later; "never" = not within ${settings.healTimeoutMs} ms):`,
    Object.entries(summary),
    [
      ['fault', ([f]) => f],
      ['runs', get('runs')],
      ['ops', get('faultOps')],
      ['acknowledged', get('acknowledged')],
      ['refused', get('refused')],
      ['uncertain', get('uncertain')],
      ['dropped for C', get('droppedForC')],
      ['lost', get('lost')],
      ['resurrected', get('resurrected')],
      ['unexpected', get('unexpected')],
      ['agree ms', ([, m]) => time(m.agreeAfterMs)],
      ['converged ms', ([, m]) => time(m.convergedAfterMs)],
      ['runs converged', ([, m]) => `${m.runsConverged ?? 0}/${m.runs ?? 0}`],
      ['live evicted', get('liveEvicted')],
      ['other CPU %', get('otherCpuPercent')],
    ],
  );
  return summary;
}

armWatchdog(60 * 60_000);
// The nodes run bin/herald.js over dist/: rebuild it when src/ is newer (as the tests do).
setupBuild();
const machine = printHeader('herald cluster faults: convergence to the acknowledged history after kill -9 / SIGSTOP of a node', { ...settings });
const rows = await repeatRuns({ scenarios: settings.faults, runs: settings.runs, label: (f) => f, once: (f, run) => oneRun(f, run), line: runLine });
const summary = report(rows);
console.log(`wrote ${await writeResults('cluster-faults', { machine, settings, summary, runs: rows })}`);
