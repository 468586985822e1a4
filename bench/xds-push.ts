/**
 * xDS push latency as users see it: from a Register to the first call of a proxyless gRPC client
 * (grpc-js + @grpc/grpc-js-xds dialling xds:///<service>) reaching the new instance, side by side
 * with herald's own grpc-js resolver (registerHeraldResolver, herald:///<service>: the SDK's Watch
 * stream and herald's weighted policy, no xDS client) calling at the same rate at the same time,
 * and Subscribe's push latency (the same Register to an ordinary decoding Subscribe client holding
 * a ServiceInfo with the instance), in the same rounds; and the cancel direction (Cancel to each
 * caller's last call reaching the cancelled instance, and to the Subscribe client's ServiceInfo without it).
 * A bare ADS stream beside the Subscribe client times the EDS push as it leaves herald, so the xDS
 * figure splits into herald's part and the xDS client's (EDS handling, subchannel connect, pick).
 * The real `herald serve` (dist/, its defaults), the echo servers (which time each call's arrival, per caller),
 * each caller and the watchers each run in a process of their own (xds-push/); the driver
 * registers and cancels. One clock: performance.timeOrigin + performance.now() in every process.
 *
 *   npx tsx bench/xds-push.ts --help
 *   npx tsx bench/xds-push.ts --quick
 *   npx tsx bench/xds-push.ts --calls-per-second 500 --server-args '--merge-window-ms 50'
 *   npx tsx bench/xds-push.ts --callers resolver
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelRequest, RegisterRequest } from '../src/gen/herald/v1/registry_service.js';
import { separateTransport } from './lib/bench-client.js';
import { ChildHandle } from './lib/child-handle.js';
import { int, parseFlags, text } from './lib/flags.js';
import { HeraldServeProcess } from './lib/herald-serve-process.js';
import { measurePhase } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import { clockOffsetMs } from './lib/push/change-run.js';
import { printHeader, printRows, writeResults } from './lib/report.js';
import { repeatRuns } from './lib/runs.js';
import { sleep, wallNowMs } from './lib/wall-clock.js';
import { armWatchdog } from './lib/watchdog.js';
import { parseCallers, startCaller } from './xds-push/callers.js';
import type { CallerCommands, CallerKind, CallerStats, EchoCommands, SubscribeCommands } from './xds-push/protocol.js';
import { missedRound, roundColumns, roundLine, roundMedians, summarizeRounds, type RoundSample, type XdsPushRun } from './xds-push/rounds.js';

const SERVICE = 'orders';

const { flags } = parseFlags(
  {
    script: 'bench/xds-push.ts',
    about: `Register → first call reaching the new instance, for each caller (--callers: a grpc-js-xds client dialling
xds:///orders, and a plain grpc-js client dialling herald:///orders through registerHeraldResolver, both at once),
next to Register → Subscribe client holding it and a bare ADS stream's EDS receipt (herald's part of the xDS
figure); and Cancel → each caller's last call reaching it / Subscribe client and ADS stream without it. Over
--rounds rounds per run (each a fresh echo server, registered then cancelled, with --base-instances registered
throughout), on the real herald serve with its defaults. Prints p50/p99/max per run and their medians over
--runs runs, and writes bench/results/xds-push.json.`,
    quick: 'one run of 15 rounds',
  },
  {
    runs: int('runs, each on a fresh server and fresh client processes', 3, 1),
    rounds: int('measured rounds per run (one registration and one cancel each)', 50, 15),
    warmupRounds: int('rounds before the measured ones, not counted', 5, 2, { zero: true }),
    callers: text(
      '<list>',
      'callers in the same rounds, each in a process of its own at --calls-per-second: xds (grpc-js-xds, xds:///orders), resolver (registerHeraldResolver, herald:///orders)',
      'xds,resolver',
      parseCallers,
    ),
    baseInstances: int('instances registered for the whole run (each caller round-robins over them and the new one)', 2),
    callsPerSecond: int('each caller calls at this rate (made every 1 ms timer turn)', 1000),
    maxInFlight: int("each caller's calls in flight beyond which a due call is skipped", 64),
    gapMs: int('pause after each round step, so every registration and cancel is a lone change (never merged with the one before)', 50),
    quietMs: int('after a cancel, calls to the instance count as stopped once none has reached it for this long', 300),
    timeoutMs: int('a round step not seen within this long counts as missed', 5000),
    serverArgs: text('<flags>', "extra `herald serve` flags, e.g. '--merge-window-ms 50' (default: none, herald serve's defaults)", '', (v) =>
      v.split(/\s+/).filter((a) => a !== ''),
    ),
  },
);

const { quick: _quick, ...settings } = flags;

const tsx = (name: string): URL => new URL(`./xds-push/${name}`, import.meta.url);
const callerKinds = settings.callers;
const callerRuns = (kind: CallerKind): boolean => callerKinds.includes(kind);

async function runOnce(machine: MachineInfo): Promise<XdsPushRun> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-xds-push-'));
  const herald = await HeraldServeProcess.start({ args: settings.serverArgs });
  const transport = separateTransport(herald.address);
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(
    bootstrap,
    JSON.stringify({
      xds_servers: [{ server_uri: herald.address, channel_creds: [{ type: 'insecure' }], server_features: [] }],
      node: { id: 'herald-xds-push-bench', locality: {} },
    }),
  );
  const children: { exit(): Promise<void> }[] = [];
  try {
    const echo = await ChildHandle.spawn<EchoCommands>({ name: 'echo servers', script: tsx('echo-main.ts') });
    children.push(echo);
    const rounds = settings.warmupRounds + settings.rounds;
    const names = [...Array.from({ length: settings.baseInstances }, (_, i) => `base-${i}`), ...Array.from({ length: rounds }, (_, i) => `round-${i}`)];
    const ports = new Map((await echo.request('start', { names })).map((s) => [s.name, s.port]));
    const ref = { service: SERVICE };
    const register = (name: string) => transport.register(RegisterRequest.fromPartial({ ...ref, instance: { instanceId: name, ip: '127.0.0.1', port: ports.get(name) ?? 0 } }));
    for (const name of names.slice(0, settings.baseInstances)) await register(name);

    const sub = await ChildHandle.spawn<SubscribeCommands>({ name: 'subscribe client', script: tsx('subscribe-main.ts') });
    children.push(sub);
    await sub.request('start', { address: herald.address, service: SERVICE });
    const setup = { service: SERVICE, address: herald.address, bootstrap, callsPerSecond: settings.callsPerSecond, maxInFlight: settings.maxInFlight };
    const callers = new Map<CallerKind, ChildHandle<CallerCommands>>();
    for (const kind of callerKinds) callers.set(kind, await startCaller(kind, setup, children));
    for (const caller of callerKinds) {
      for (const name of names.slice(0, settings.baseInstances)) {
        if (Number.isNaN((await echo.request('firstCall', { caller, name, timeoutMs: 15_000 })).atMs)) throw new Error(`the ${caller} caller never reached ${name}`);
      }
    }
    const NOT_RUN = { atMs: Number.NaN, callsSince: Number.NaN };

    const timeoutMs = settings.timeoutMs;
    const round = async (name: string): Promise<RoundSample> => {
      const reachedBy = (caller: CallerKind) => (callerRuns(caller) ? echo.request('firstCall', { caller, name, timeoutMs }) : Promise.resolve(NOT_RUN));
      const reached = Promise.all([reachedBy('xds'), reachedBy('resolver')]);
      const present = sub.request('present', { id: name, timeoutMs });
      const port = ports.get(name) ?? 0;
      const assigned = sub.request('edsPresent', { port, timeoutMs });
      const registerSentMs = wallNowMs();
      await register(name);
      const registerAckMs = wallNowMs();
      const [[first, resolverFirst], held, eds] = await Promise.all([reached, present, assigned]);
      await sleep(settings.gapMs);
      const absent = sub.request('absent', { id: name, timeoutMs });
      const unassigned = sub.request('edsAbsent', { port, timeoutMs });
      const cancelSentMs = wallNowMs();
      await transport.cancel(CancelRequest.fromPartial({ ...ref, instanceId: name }));
      const cancelAckMs = wallNowMs();
      const lastBy = (caller: CallerKind) =>
        callerRuns(caller) ? echo.request('lastCall', { caller, name, sinceMs: cancelSentMs, quietMs: settings.quietMs, timeoutMs }) : Promise.resolve(NOT_RUN);
      const [last, resolverLast, gone, edsGone] = await Promise.all([lastBy('xds'), lastBy('resolver'), absent, unassigned]);
      await sleep(settings.gapMs);
      return {
        registerAckMs: registerAckMs - registerSentMs,
        xdsFirstCallMs: first.atMs - registerSentMs,
        subscribeMs: held.atMs - registerSentMs,
        edsMs: eds.atMs - registerSentMs,
        cancelAckMs: cancelAckMs - cancelSentMs,
        xdsLastCallMs: last.atMs - cancelSentMs,
        callsAfterCancel: last.callsSince,
        resolverFirstCallMs: resolverFirst.atMs - registerSentMs,
        resolverLastCallMs: resolverLast.atMs - cancelSentMs,
        resolverCallsAfterCancel: resolverLast.callsSince,
        subscribeGoneMs: gone.atMs - cancelSentMs,
        edsGoneMs: edsGone.atMs - cancelSentMs,
      };
    };
    const roundNames = names.slice(settings.baseInstances);
    for (const name of roundNames.slice(0, settings.warmupRounds)) await round(name);
    for (const caller of callers.values()) await caller.request('reset', undefined);
    const callerList = callerKinds.map((kind) => callers.get(kind)).filter((c) => c !== undefined);
    const phase = await measurePhase([herald, echo, sub, ...callerList], machine.cores, async () => {
      const samples: RoundSample[] = [];
      for (const name of roundNames.slice(settings.warmupRounds)) samples.push(await round(name));
      return samples;
    });
    const callerStats: { [K in CallerKind]?: CallerStats } = {};
    const baseCalls: { [K in CallerKind]?: number[] } = {};
    for (const [kind, caller] of callers) {
      callerStats[kind] = await caller.request('stats', undefined);
      const counts = await echo.request('counts', { caller: kind });
      baseCalls[kind] = names.slice(0, settings.baseInstances).map((n) => counts[n] ?? 0);
    }
    const subStats = await sub.request('stats', undefined);
    const maxClockOffsetMs = Math.max(await clockOffsetMs(echo), await clockOffsetMs(sub));
    const [server, echoUsage, subUsage, ...callerUsages] = phase.usage;
    const usageOf = (kind: CallerKind) => callerUsages[callerKinds.indexOf(kind)];
    return {
      samples: phase.result,
      summary: summarizeRounds(phase.result),
      missed: phase.result.filter((s) => missedRound(s, callerKinds)).length,
      callers: callerStats,
      subscribeErrors: subStats.errors + subStats.adsErrors,
      baseCalls,
      cpuPercent: {
        server: server.cpuPercent,
        echo: echoUsage.cpuPercent,
        xdsClient: usageOf('xds')?.cpuPercent ?? Number.NaN,
        resolverClient: usageOf('resolver')?.cpuPercent ?? Number.NaN,
        subscribeClient: subUsage.cpuPercent,
        driver: phase.self.cpuPercent,
      },
      serverLoopStallMaxMs: server.loopDelayMaxMs,
      callerLoopStallMaxMs: usageOf('xds')?.loopDelayMaxMs ?? Number.NaN,
      resolverLoopStallMaxMs: usageOf('resolver')?.loopDelayMaxMs ?? Number.NaN,
      otherCpuPercent: phase.otherCpuPercent,
      maxClockOffsetMs,
    };
  } finally {
    transport.close();
    for (const c of children.reverse()) await c.exit();
    await herald.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each run may be attempted 3 times, each after up to a minute's wait for a quiet machine.
armWatchdog((settings.runs * 6 + 2) * 60_000);
const machine = printHeader('herald xDS push (Register → first xDS call reaching the instance) next to herald:/// and Subscribe', {
  runs: settings.runs,
  callers: `${callerKinds.join(', ')} (each in a process of its own, each at callsPerSecond, at the same time)`,
  rounds: settings.rounds,
  warmupRounds: settings.warmupRounds,
  baseInstances: settings.baseInstances,
  callsPerSecond: settings.callsPerSecond,
  maxInFlight: settings.maxInFlight,
  gapMs: settings.gapMs,
  quietMs: settings.quietMs,
  server: `herald serve ${['--data-dir', 'none', ...settings.serverArgs].join(' ')} (merge window and every other setting: herald serve's defaults unless given here)`,
  timedFrom: 'the Register or Cancel call being sent (driver clock; every process uses performance.timeOrigin + performance.now())',
});
const runs = await repeatRuns({ scenarios: [''], runs: settings.runs, label: () => '', once: () => runOnce(machine), line: roundLine });

printRows('Every run (ms from the Register or Cancel being sent; CPU in % of one core over the measured rounds):', runs, roundColumns);
const summary = roundMedians(runs);
printRows(
  `Medians of ${settings.runs} run(s) (ms):`,
  [summary],
  [
    ['xDS first call p50', (s) => s.xdsFirstCallP50Ms],
    ['xDS first call p99', (s) => s.xdsFirstCallP99Ms],
    ['herald:/// first call p50', (s) => s.resolverFirstCallP50Ms],
    ['herald:/// first call p99', (s) => s.resolverFirstCallP99Ms],
    ['Subscribe p50', (s) => s.subscribeP50Ms],
    ['Subscribe p99', (s) => s.subscribeP99Ms],
    ['bare ADS p50', (s) => s.edsP50Ms],
    ['bare ADS p99', (s) => s.edsP99Ms],
    ['xDS last call p50', (s) => s.xdsLastCallP50Ms],
    ['xDS last call p99', (s) => s.xdsLastCallP99Ms],
    ['xDS last call max', (s) => s.xdsLastCallMaxMs],
    ['herald:/// last call p50', (s) => s.resolverLastCallP50Ms],
    ['herald:/// last call p99', (s) => s.resolverLastCallP99Ms],
    ['herald:/// last call max', (s) => s.resolverLastCallMaxMs],
    ['Subscribe gone p50', (s) => s.subscribeGoneP50Ms],
    ['Subscribe gone p99', (s) => s.subscribeGoneP99Ms],
    ['bare ADS gone p50', (s) => s.edsGoneP50Ms],
    ['Register ack p50', (s) => s.registerAckP50Ms],
    ['server CPU %', (s) => s.serverCpuPercent],
    ['xDS client CPU %', (s) => s.xdsClientCpuPercent],
    ['herald:/// client CPU %', (s) => s.resolverClientCpuPercent],
    ['other CPU %', (s) => s.otherCpuPercent],
  ],
);
const anomalies = runs.filter((r) => r.missed > 0 || r.subscribeErrors > 0 || Object.values(r.callers).some((c) => c.errors > 0 || c.skipped > 0));
if (anomalies.length > 0) console.log(`WARNING: ${anomalies.length} run(s) had missed rounds, failed or skipped calls or Subscribe errors (see JSON)`);
console.log(`wrote ${await writeResults('xds-push', { machine, settings, summary, runs })}`);
