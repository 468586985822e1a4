/**
 * The cost of authentication and TLS: the same workload under four server configurations in one
 * benchmark — plain (auth off, no TLS), auth (a static token, plain text), tls (no auth) and
 * auth+tls — with ordinary RegistryTransport clients that decode every answer and set the token
 * and TLS as an application does (auth-cost/phases.ts). For each: registrations per second, server
 * CPU per renew and push p99, and each figure's ratio to plain measured in the same round. Rounds
 * are interleaved (each starts one configuration further on), so machine drift falls on all alike.
 *
 *   npx tsx bench/auth-cost.ts --help
 *   npx tsx bench/auth-cost.ts --runs 1 --profile   # server CPU profiles (the pids are printed)
 */
import os from 'node:os';
import { CREDENTIALS, parseConfigs, securityFiles, type SecurityConfig } from './auth-cost/security.js';
import { pushPart, unaryPart, type PushResult, type UnaryResult } from './auth-cost/phases.js';
import { bool, choice, int, num, parseFlags, text } from './lib/flags.js';
import { printHeader, printRows, profileDir, writeResults, type Column } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { BACKGROUND_INTERVAL_MS } from './lib/server-process.js';
import { median } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';

const { flags } = parseFlags(
  {
    script: 'bench/auth-cost.ts',
    about: `The cost of authentication and TLS. Under each server configuration (plain: auth off, no TLS;
auth: a token, plain text; tls: no auth; auth+tls), each on fresh servers: registrations per second
and server CPU per renew (--in-flight calls from RegistryTransport clients in this process), and
push latency at --subscribers RegistryTransport subscribers in --load-procs processes; every client
decodes every answer and sets the token and TLS as an application does. Prints each run, the medians
and each figure's ratio to plain in the same round (median of the per-round ratios), and writes
bench/results/auth-cost.json (auth-cost-access.json with --credential access). Rounds are
interleaved: round n starts n-1 configurations further on.`,
    quick: 'one short run of each configuration',
  },
  {
    configs: text('<list>', 'server configurations, comma-separated (plain is required: the ratios are against it)', 'plain,auth,tls,auth+tls', parseConfigs),
    credential: choice('what the clients send: static (a token from the auth file) or access (log in once per client, then an access token)', CREDENTIALS, 'static'),
    runs: int('rounds (each runs every configuration once)', 3, 1),
    inFlight: int('unary calls in flight', 64),
    connections: int('client connections the unary calls spread over', 4),
    services: int('services the registered instances spread over', 100),
    warmupS: num('seconds of warm-up before each unary phase', 2, 1),
    registerS: num('seconds of registering new instances', 5, 2),
    renewS: num('seconds of renewing them', 5, 2),
    subscribers: int('subscribers of the pushed service', 500, 100),
    rate: num('changes per second to the pushed service', 10),
    pushWarmupS: num('seconds of changes before the measured ones', 2, 1),
    pushMeasureS: num('seconds of measured changes', 6, 3),
    loadProcs: int('subscriber processes', 2),
    hosts: int('instances in the pushed service', 10),
    profile: bool('CPU-profile every server (node --cpu-prof into bench/results/profiles/; the pids are printed)'),
  },
);

const { quick: _quick, profile, ...chosen } = flags;
const settings = { ...chosen, profileDir: await profileDir(profile) };

interface RunResult extends UnaryResult {
  readonly config: SecurityConfig;
  readonly run: number;
  readonly push: PushResult;
  readonly otherCpuPercent: number;
}

const files = await securityFiles(settings.credential);
const cores = os.availableParallelism();

async function runOnce(config: SecurityConfig, run: number): Promise<RunResult> {
  const setup = { server: files.server(config), security: files.client(config), cores, profileDir: settings.profileDir };
  const unary = await unaryPart(setup, settings);
  const push = await pushPart(setup, { ...settings, ratePerSecond: settings.rate });
  return { config, run, ...unary, push, otherCpuPercent: Math.max(unary.register.otherCpuPercent, unary.renew.otherCpuPercent, push.otherCpuPercent) };
}

const label = (c: SecurityConfig): string => c;

armWatchdog(60 * 60_000);
const machine = printHeader('herald: the cost of authentication and TLS', {
  configs: settings.configs,
  credential: settings.credential,
  runs: settings.runs,
  order: 'interleaved',
  client: 'transport',
  inFlight: settings.inFlight,
  connections: settings.connections,
  services: settings.services,
  warmupS: settings.warmupS,
  registerS: settings.registerS,
  renewS: settings.renewS,
  subscribers: settings.subscribers,
  changesPerSecond: settings.rate,
  pushWarmupS: settings.pushWarmupS,
  pushMeasureS: settings.pushMeasureS,
  loadProcs: settings.loadProcs,
  hostsInService: settings.hosts,
  selfPreservation: false,
  evictionAndHeartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
  tls: 'ECDSA P-256 server certificate, SAN IP:127.0.0.1, no client certificates',
});

const runs = await repeatRuns({
  scenarios: settings.configs,
  runs: settings.runs,
  interleave: true,
  label,
  once: runOnce,
  line: (r) => [
    `register ${r.register.perSecond.toFixed(0)}/s (server ${r.register.serverCpuPerCallUs.toFixed(1)} µs, clients ${r.register.loadCpuPerCallUs.toFixed(0)} µs each)`,
    `renew ${r.renew.perSecond.toFixed(0)}/s (server ${r.renew.serverCpuPerCallUs.toFixed(1)} µs, clients ${r.renew.loadCpuPerCallUs.toFixed(0)} µs each)`,
    `push p50 ${r.push.latencyMs.p50.toFixed(1)} / p99 ${r.push.latencyMs.p99.toFixed(1)} ms, received ${r.push.receivedPercent.toFixed(1)} %, ` +
      `server ${r.push.serverCpuPerPushUs.toFixed(1)} µs/push (CPU ${r.push.server.cpuPercent.toFixed(0)} %), subscribers ${r.push.loadCpuPerPushUs.toFixed(0)} µs/push (CPU ${r.push.loadCpuPercent.toFixed(0)} %), ` +
      `opened in ${(r.push.openMs / 1000).toFixed(1)} s, errors ${r.register.errors + r.renew.errors + r.push.streamErrors + r.push.driverErrors}` +
      `${settings.profileDir === undefined ? '' : `, server pids ${String(r.serverPid)} (unary) ${String(r.push.serverPid)} (push)`}, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
  ],
});

printRows(
  'Every run (CPU per call in µs; other CPU in % of one core, the most of any phase):',
  runs,
  [
    ['config', (r) => label(r.config)],
    ['run', (r) => r.run],
    ['registrations/s', (r) => r.register.perSecond],
    ['server µs/register', (r) => r.register.serverCpuPerCallUs],
    ['renews/s', (r) => r.renew.perSecond],
    ['server µs/renew', (r) => r.renew.serverCpuPerCallUs],
    ['client µs/renew', (r) => r.renew.loadCpuPerCallUs],
    ['push p50 ms', (r) => r.push.latencyMs.p50],
    ['push p99 ms', (r) => r.push.latencyMs.p99],
    ['received %', (r) => r.push.receivedPercent],
    ['server µs/push', (r) => r.push.serverCpuPerPushUs],
    ['other CPU %', (r) => r.otherCpuPercent],
  ],
);

/** The figures compared; `higherIsBetter` only says how a reader should read the ratio. */
const FIGURES = {
  registrationsPerSecond: (r: RunResult) => r.register.perSecond,
  serverCpuPerRegisterUs: (r: RunResult) => r.register.serverCpuPerCallUs,
  clientCpuPerRegisterUs: (r: RunResult) => r.register.loadCpuPerCallUs,
  renewsPerSecond: (r: RunResult) => r.renew.perSecond,
  serverCpuPerRenewUs: (r: RunResult) => r.renew.serverCpuPerCallUs,
  clientCpuPerRenewUs: (r: RunResult) => r.renew.loadCpuPerCallUs,
  renewP99Ms: (r: RunResult) => r.renew.latencyMs.p99,
  serverCpuPercentRenew: (r: RunResult) => r.renew.server.cpuPercent,
  clientCpuPercentRenew: (r: RunResult) => r.renew.load.cpuPercent,
  pushP50Ms: (r: RunResult) => r.push.latencyMs.p50,
  pushP99Ms: (r: RunResult) => r.push.latencyMs.p99,
  pushReceivedPercent: (r: RunResult) => r.push.receivedPercent,
  serverCpuPerPushUs: (r: RunResult) => r.push.serverCpuPerPushUs,
  subscriberCpuPerPushUs: (r: RunResult) => r.push.loadCpuPerPushUs,
  subscriberCpuPercent: (r: RunResult) => r.push.loadCpuPercent,
  subscribersOpenMs: (r: RunResult) => r.push.openMs,
  otherCpuPercent: (r: RunResult) => r.otherCpuPercent,
};
type Figure = keyof typeof FIGURES;

/** Each figure of `r` divided by plain's in the same round. */
function ratiosToPlain(r: RunResult): Record<Figure, number> {
  const plain = runs.find((p) => p.config === 'plain' && p.run === r.run);
  const out = {} as Record<Figure, number>;
  for (const key of Object.keys(FIGURES) as Figure[]) out[key] = plain === undefined ? Number.NaN : FIGURES[key](r) / FIGURES[key](plain);
  return out;
}

const summary = settings.configs.map((config) => {
  const rs = runs.filter((r) => r.config === config);
  const ratios = rs.map(ratiosToPlain);
  const ratio = {} as Record<Figure, number>;
  for (const key of Object.keys(FIGURES) as Figure[]) ratio[key] = median(ratios.map((x) => x[key]));
  return { config, label: label(config), runs: rs.length, ...medians(rs, FIGURES), ratio };
});
type Summary = (typeof summary)[number];

const x = (n: number): string => (Number.isNaN(n) ? '-' : `${n.toFixed(2)}×`);
const headline: Column<Summary>[] = [
  ['config', (s) => s.label],
  ['registrations/s', (s) => s.registrationsPerSecond],
  ['× plain', (s) => x(s.ratio.registrationsPerSecond)],
  ['server CPU per renew µs', (s) => s.serverCpuPerRenewUs],
  ['× plain', (s) => x(s.ratio.serverCpuPerRenewUs)],
  ['push p99 ms', (s) => s.pushP99Ms],
  ['× plain', (s) => x(s.ratio.pushP99Ms)],
  ['other CPU %', (s) => s.otherCpuPercent],
];
printRows(
  `Medians of ${settings.runs} round(s); "× plain" is the median over rounds of the figure divided by plain's in the same round (${settings.inFlight} calls in flight; ${settings.subscribers} subscribers, ${settings.rate} changes/s):`,
  summary,
  headline,
);
printRows('Where the time goes (medians; CPU per call or per push in µs, CPU in % of one core):', summary, [
  ['config', (s) => s.label],
  ['server µs/register', (s) => s.serverCpuPerRegisterUs],
  ['× plain', (s) => x(s.ratio.serverCpuPerRegisterUs)],
  ['client µs/register', (s) => s.clientCpuPerRegisterUs],
  ['renews/s', (s) => s.renewsPerSecond],
  ['client µs/renew', (s) => s.clientCpuPerRenewUs],
  ['× plain', (s) => x(s.ratio.clientCpuPerRenewUs)],
  ['server / client CPU % (renew)', (s) => `${s.serverCpuPercentRenew.toFixed(0)} / ${s.clientCpuPercentRenew.toFixed(0)}`],
  ['push p50 ms', (s) => s.pushP50Ms],
  ['received %', (s) => s.pushReceivedPercent],
  ['server µs/push', (s) => s.serverCpuPerPushUs],
  ['× plain', (s) => x(s.ratio.serverCpuPerPushUs)],
  ['subscriber µs/push', (s) => s.subscriberCpuPerPushUs],
  ['subscribers opened s', (s) => s.subscribersOpenMs / 1000],
]);

const errors = runs.reduce((n, r) => n + r.register.errors + r.renew.errors + r.push.streamErrors + r.push.driverErrors, 0);
if (errors > 0) console.log(`WARNING: ${errors} failed call(s) or stream error(s) (see JSON)`);
const name = settings.credential === 'static' ? 'auth-cost' : `auth-cost-${settings.credential}`;
console.log(`wrote ${await writeResults(name, { machine, settings, summary, runs })}`);
if (settings.profileDir !== undefined) console.log(`server CPU profiles in ${settings.profileDir}`);
