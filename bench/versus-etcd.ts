/**
 * herald against etcd 3.4, side by side in one run, with ordinary full-decoding grpc-js clients
 * (@grpc/proto-loader, .proto files loaded at run time) on both sides, each subscriber on its own
 * connection (issue #13): push latency, freshness, subscriber CPU, renewals, registrations, memory
 * per instance and reading a 1,000-instance service. etcd is used as a hand-rolled registry uses it
 * (bench/versus-etcd/etcd-registry.ts). Each phase runs herald and etcd back to back on fresh
 * servers, alternating which goes first (ABAB); rounds are interleaved; every ratio is the median
 * over rounds of herald's figure divided by etcd's in the same round.
 *
 *   npx tsx bench/versus-etcd.ts --help
 *   npx tsx bench/versus-etcd.ts --quick --rows push,renew
 *   npx tsx bench/versus-etcd.ts --herald-push snapshot --herald-renew unary   # today's Subscribe and Renew
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bool, choice, int, num, parseFlags, scenarios, text } from './lib/flags.js';
import { printHeader, printRows, printTable, profileDir, writeResults } from './lib/report.js';
import { range, repeatRuns } from './lib/runs.js';
import { median } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';
import { Comparison, comparisonTable, met, type PairRun } from './versus-etcd/comparison.js';
import { etcdVersion, ETCD_BIN, requireEtcd } from './versus-etcd/etcd-process.js';
import { LEASE_TTL_S } from './versus-etcd/instances.js';
import { phasesFor, ROWS, type Figures, type Phase, type RowName } from './versus-etcd/phases.js';
import { HERALD_PUSH } from './versus-etcd/subscribers.js';
import { HERALD_VIEWS } from './versus-etcd/herald-client.js';
import { etcdSystem, heraldSystem, type System } from './versus-etcd/systems.js';
import { heraldVariantProblems } from './versus-etcd/variants.js';

function parseRows(value: string, name: string): RowName[] {
  return value.split(',').map((r) => {
    const row = ROWS.find((x) => x === r.trim());
    if (row === undefined) throw new Error(`--${name}: "${r}" is not one of ${ROWS.join(', ')}`);
    return row;
  });
}

const { flags } = parseFlags(
  {
    script: 'bench/versus-etcd.ts',
    about: `herald against etcd 3.4 (${ETCD_BIN}; \`apt-get install etcd-server\` provides it) in one run, with
ordinary grpc-js clients that load the .proto files at run time and decode every message, each
subscriber on its own connection; etcd is used as a hand-rolled registry uses it (an instance is a
key with its JSON on a lease of its own; followers Range then Watch the service's prefix). Each
phase runs herald then etcd (etcd first in even rounds) on fresh servers; rounds are interleaved.
Prints each run, the table of issue #13 with herald/etcd ratios (medians over rounds of the
per-round ratio) and its targets, and writes bench/results/versus-etcd.json. herald runs as
\`bin/herald.js serve\` over dist/: run \`npm run build\` after changing src/.`,
    quick: 'one short run of each row (memory: 20,000 instances)',
  },
  {
    rows: text('<list>', `rows, comma-separated, of ${ROWS.join(', ')}`, ROWS.join(','), parseRows),
    runs: int('rounds (each runs every phase on herald and on etcd)', 3, 1),
    heraldPush: choice('how herald subscribers follow a service: snapshot (Subscribe), delta (Subscribe with deltas), watch (Watch stream)', HERALD_PUSH, 'delta'),
    heraldRenew: choice('how herald clients renew: unary (Renew) or stream (KeepAlive)', ['unary', 'stream'] as const, 'stream'),
    heraldView: choice(
      "how much of each instance herald's followers and GetService receive: basic (InstanceView BASIC: no lease; the fields the etcd side's JSON holds) or full (with the lease)",
      HERALD_VIEWS,
      'basic',
    ),
    pushScenarios: scenarios('push rows: SUBSCRIBERS@CHANGES-PER-SECOND, comma-separated', '100@10,1000@10', 'subscribers'),
    freshnessScenario: scenarios('freshness row: SUBSCRIBERS@CHANGES-PER-SECOND', '1000@100', 'subscribers'),
    warmupS: num('seconds of changes before the measured ones', 2, 1),
    measureS: num('seconds of measured changes', 6, 3),
    loadProcs: int('subscriber processes', 2),
    hosts: int('instances in the pushed service', 10),
    inFlight: int('registrations and renewals in flight', 64),
    connections: int('client connections (and KeepAlive streams) they spread over', 4),
    services: int('services the registered instances spread over', 100),
    unaryWarmupS: num('seconds of registrations (and of renewals) before each measured phase', 2, 1),
    registerS: num('seconds of measured registrations', 5, 2),
    renewS: num('seconds of measured renewals', 5, 2),
    instances: int('instances registered in the memory row', 100_000, 20_000),
    memoryServices: int('services they spread over', 100),
    settleMaxS: int("memory row: longest wait for a server's memory to settle by itself, before and after the load, s", 180, 60),
    getInstances: int('instances of the service GetService reads', 1000),
    getCalls: int('measured GetService calls, one after another', 200),
    getWarmupCalls: int('GetService calls before them', 20),
    profile: bool('CPU-profile the herald servers (node --cpu-prof into bench/results/profiles/)'),
  },
);

const cores = os.availableParallelism();
const { quick: _quick, profile, ...settings } = flags;
const [freshnessScenario] = settings.freshnessScenario;
if (freshnessScenario === undefined || settings.freshnessScenario.length !== 1) {
  console.error('bench/versus-etcd.ts: --freshness-scenario takes one SUBSCRIBERS@RATE');
  process.exit(2);
}
requireEtcd();

/** herald serve flags: background passes (eviction, heartbeat check, self-preservation) out of the measurements. */
const SERVE_ARGS = ['--self-preservation', 'off', '--eviction-interval-ms', '3600000', '--heartbeat-check-interval-ms', '3600000'];

const herald = heraldSystem({ push: settings.heraldPush, renew: settings.heraldRenew, view: settings.heraldView, serveArgs: SERVE_ARGS, profileDir: await profileDir(profile) });
const etcd = etcdSystem;

const phases = phasesFor(settings.rows, {
  push: {
    warmupS: settings.warmupS,
    measureS: settings.measureS,
    loadProcs: settings.loadProcs,
    hosts: settings.hosts,
    heraldPush: settings.heraldPush,
    heraldView: settings.heraldView,
    cores,
  },
  pushScenarios: settings.pushScenarios,
  freshnessScenario,
  unary: {
    inFlight: settings.inFlight,
    connections: settings.connections,
    services: settings.services,
    warmupS: settings.unaryWarmupS,
    registerS: settings.registerS,
    renewS: settings.renewS,
    cores,
  },
  memory: {
    instances: settings.instances,
    services: settings.memoryServices,
    inFlight: settings.inFlight,
    connections: settings.connections,
    settleMaxMs: settings.settleMaxS * 1000,
    cores,
  },
  getService: { instances: settings.getInstances, calls: settings.getCalls, warmupCalls: settings.getWarmupCalls, cores },
});

/** The newest modification time of the files under `dir` (0 when it does not exist). */
function newestMtimeMs(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

const root = fileURLToPath(new URL('../', import.meta.url));
if (newestMtimeMs(join(root, 'src')) > newestMtimeMs(join(root, 'dist'))) {
  console.error('warning: src/ has files newer than dist/; herald serve runs dist/, so run `npm run build` to measure them');
}

armWatchdog((flags.quick ? 30 : 150) * 60_000);
const version = await etcdVersion();
const machine = printHeader('herald against etcd (ordinary clients, same run)', {
  rows: settings.rows,
  runs: settings.runs,
  order: 'each phase herald then etcd (etcd first in even rounds); rounds interleaved',
  heraldPush: settings.heraldPush,
  heraldRenew: settings.heraldRenew,
  heraldView: settings.heraldView,
  heraldServe: `bin/herald.js serve ${SERVE_ARGS.join(' ')}`,
  etcd: `${ETCD_BIN} ${version}, one member, default settings, data dir in ${os.tmpdir()}`,
  clients: '@grpc/grpc-js + @grpc/proto-loader {longs: String, enums: String, defaults: true, oneofs: true}, each subscriber on its own connection',
  latency: 'write call start (stamped into the change) → decoded at the subscriber',
  etcdRegistration: 'LeaseGrant + Put (a lease per instance)',
  leaseTtlS: LEASE_TTL_S,
  pushScenarios: settings.pushScenarios.map((s) => `${s.subscribers}@${s.ratePerSecond}`),
  freshnessScenario: `${freshnessScenario.subscribers}@${freshnessScenario.ratePerSecond}`,
  warmupS: settings.warmupS,
  measureS: settings.measureS,
  loadProcs: settings.loadProcs,
  hostsInPushedService: settings.hosts,
  inFlight: settings.inFlight,
  connections: settings.connections,
  memoryInstances: settings.instances,
  getService: `${settings.getInstances} instances, ${settings.getCalls} calls`,
});

const problems = await heraldVariantProblems(herald, settings.heraldPush, settings.heraldRenew);
if (problems.length > 0) {
  for (const p of problems) console.error(`bench/versus-etcd.ts: ${p}`);
  process.exit(1);
}

async function runPair(phase: Phase, run: number): Promise<PairRun> {
  const order: System[] = run % 2 === 1 ? [herald, etcd] : [etcd, herald];
  const figures = new Map<string, Figures>();
  for (const system of order) figures.set(system.name, await phase.run(system));
  const h = figures.get('herald');
  const e = figures.get('etcd');
  if (h === undefined || e === undefined) throw new Error('a system did not run');
  return { phase: phase.id, run, first: order[0]?.name ?? 'herald', herald: h, etcd: e, otherCpuPercent: Math.max(h.otherCpuPercent, e.otherCpuPercent) };
}

const runs = await repeatRuns({
  scenarios: phases,
  runs: settings.runs,
  interleave: true,
  label: (p) => p.id,
  once: runPair,
  line: (r) => {
    const phase = phases.find((p) => p.id === r.phase);
    return [`herald: ${phase?.line(r.herald) ?? ''}`, `etcd: ${phase?.line(r.etcd) ?? ''}`, `${r.first} ran first; other CPU ${r.otherCpuPercent.toFixed(0)} % of a core`];
  },
});

const comparison = new Comparison(runs);
const { lines, targets } = comparisonTable(comparison, phases, settings.inFlight);
const load = range(runs, (r) => r.otherCpuPercent);
const loadText = `other processes used ${median(runs.map((r) => r.otherCpuPercent)).toFixed(0)} % of a core (median; ${load[0].toFixed(0)}–${load[1].toFixed(0)} %) during the measured phases`;

printTable(
  `Medians of ${settings.runs} round(s); herald/etcd = median over rounds of the ratio in the same round (herald: --herald-push ${settings.heraldPush} --herald-renew ${settings.heraldRenew} --herald-view ${settings.heraldView}; ${loadText}):`,
  ['', 'herald', 'etcd', 'herald/etcd'],
  lines.map((l) => [l.label, l.herald, l.etcd, l.ratio]),
);
printRows('Targets (issue #13):', targets, [
  ['metric', (t) => t.metric],
  ['measured', (t) => t.text],
  ['target', (t) => t.boundText],
  ['result', (t) => (Number.isNaN(t.value) ? '-' : met(t) ? 'met' : 'miss')],
]);

const where = (system: 'herald' | 'etcd'): (readonly [string, string])[] =>
  phases.map((p) => {
    const v = (figure: string): string => {
      const x = comparison.value(p.id, system, figure);
      return Number.isNaN(x) ? '-' : x.toFixed(0);
    };
    if (p.kind === 'push' || p.kind === 'freshness') return [p.id, `server ${v('serverCpuPercent')} %, subscribers ${v('subscriberCpuPercent')} %`] as const;
    if (p.kind === 'unary')
      return [
        p.id,
        `renew: server ${v('serverCpuPercentRenew')} %, clients ${v('clientCpuPercentRenew')} %; server µs per register / renew ${v('serverCpuPerRegisterUs')} / ${v('serverCpuPerRenewUs')}`,
      ] as const;
    if (p.kind === 'get-service') return [p.id, `server ${v('serverCpuPerCallUs')} µs per call`] as const;
    return [p.id, `${v('registrationsPerSecond')} registrations/s`] as const;
  });
const heraldWhere = where('herald');
const etcdWhere = where('etcd');
printTable(
  'Where the CPU went (medians; % of one core; both share the 2 cores with the load):',
  ['phase', 'herald', 'etcd'],
  heraldWhere.map(([id, h], i) => [id, h, etcdWhere[i]?.[1] ?? '-']),
);

const errors = runs.reduce((n, r) => n + (r.herald.errors ?? 0) + (r.etcd.errors ?? 0) + (r.herald.streamErrors ?? 0) + (r.etcd.streamErrors ?? 0), 0);
if (errors > 0) console.log(`WARNING: ${errors} failed call(s) or stream error(s) (see the run lines and the JSON)`);
console.log(
  `wrote ${await writeResults('versus-etcd', { machine, settings: { ...settings, serveArgs: SERVE_ARGS, leaseTtlS: LEASE_TTL_S }, etcdVersion: version, load: loadText, table: lines, targets: targets.map((t) => ({ ...t, met: met(t) })), summary: comparison.summary(phases), runs })}`,
);
