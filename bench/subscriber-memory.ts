/**
 * Server memory under slow, abandoned and numerous subscribers. The server is the real
 * `herald serve` (compiled, its own defaults, flags from --server-args) in its own process, with a
 * probe preloaded that answers memory and HTTP/2 questions over IPC (lib/serve-probe.mjs). Load
 * runs in child processes with the generated grpc-js client (subscriber-memory/load-main.ts).
 *
 *   slow        N subscribers stop reading after their first snapshot while the service changes at
 *               --rate for --duration-s; RSS and V8 heap sampled every --sample-every-s, per minute,
 *               flat or not after --warmup-s; then released.
 *   abandoned   subscribers whose process is SIGKILLed, then others whose process is SIGSTOPped,
 *               while changes go on: how long until the server lets go of their streams (keepalive
 *               finds the frozen one) and whether memory returns.
 *   many        one process opens --streams streams over one connection, holds, cancels, for
 *               --cycles cycles: bytes per stream held and left after release, with and without
 *               forced collections (those are diagnosis only).
 *
 *   npm run build                                     # once: the server runs dist/
 *   npx tsx bench/subscriber-memory.ts --help
 *   npx tsx bench/subscriber-memory.ts --quick        # every scenario, short (~5 min)
 *   npx tsx bench/subscriber-memory.ts                # full: slow for 10 minutes, ~17 min in all
 *   npx tsx bench/subscriber-memory.ts --scenarios many --streams 10000 --heap-snapshots
 *   npx tsx bench/subscriber-memory.ts --server-args="--max-pushes-in-flight 1" --label x
 *
 * Writes bench/results/subscriber-memory[-<label>].json (every sample included).
 */
import os from 'node:os';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { intFlag, numberFlag } from './lib/flags.js';
import { waitForQuiet } from './lib/machine-load.js';
import { printHeader, printTable, writeResults } from './lib/report.js';
import { armWatchdog } from './lib/watchdog.js';
import { printAbandoned, runAbandoned, type AbandonedResult } from './subscriber-memory/abandoned.js';
import { printMany, runMany, type ManyResult } from './subscriber-memory/many.js';
import type { PhaseLoad } from './subscriber-memory/phase-load.js';
import { printSlow, runSlow, type SlowResult } from './subscriber-memory/slow.js';

type Scenario = 'slow' | 'abandoned' | 'many';
const SCENARIOS: readonly Scenario[] = ['slow', 'abandoned', 'many'];

const HELP = `Usage: npx tsx bench/subscriber-memory.ts [options]

Server memory under slow, abandoned and numerous Subscribe streams (herald serve in its own
process; run \`npm run build\` first). Full defaults in brackets; --quick uses the second value.

  --scenarios <list>           slow,abandoned,many                          [all]
  --quick                      short smoke run of every scenario (~5 min)
  --server-args="<flags>"      extra \`herald serve\` flags (note the =), e.g.
                               --server-args="--keepalive-time-ms 10000"
  --label <name>               results go to bench/results/subscriber-memory-<name>.json

slow:
  --subscribers <n>            paused subscribers in all (0: a control)    [2000 | 400]
  --load-procs <n>             load processes                              [2]
  --connections <n>            connections per load process                [10 | 4]
  --rate <n>                   changes per second                          [100]
  --hosts <n>                  instances in the service (snapshot size)    [30]
  --duration-s <s>             how long changes go on                      [600 | 60]
  --warmup-s <s>               minutes starting before this are not judged [240 | 20]
                               (the server keeps 3 minutes of changes for FetchDelta, so memory
                               rises for the first 3 minutes of changes whatever the subscribers)
  --sample-every-s <s>         sampling interval                           [5 | 2]
  --heap-snapshots             (also) heap snapshots at the end and after release
  --what-if-no-frame-copy      diagnosis only: patch the server's grpc-js to write each message's
                               5-byte header and the shared snapshot bytes as two chunks instead of
                               copying them into one buffer per subscriber (what a grpc-js change
                               would save); results are labelled WHAT-IF
  --linger-s <s>               after release, wait this long, make one change, sample again:
                               what is left once the 3-minute change queue has aged out [0: skip]

abandoned:
  --abandoned-subscribers <n>  reading subscribers in each of 2 processes  [500 | 200]
  --abandoned-rate <n>         changes per second meanwhile                [10]
  --abandoned-timeout-s <s>    wait this long for the frozen one's release [120]
  --after-s <s>                keep sampling this long after each release  [30 | 10]
  (also --connections, --hosts)

many:
  --streams <n>                streams from one process, one connection    [10000 | 2000]
  --many-services <n>          spread over this many services              [1]
  --cycles <n>                 open / hold / cancel cycles                 [3 | 1]
  --heap-snapshots             write heap snapshots (before, held, released; first cycle) into
                               bench/results/heap/ (blocks the server; summarise them with
                               bench/heap-summary.ts)
`;

interface Settings {
  readonly scenarios: readonly Scenario[];
  readonly quick: boolean;
  readonly serverArgs: readonly string[];
  readonly label: string | undefined;
  readonly subscribers: number;
  readonly loadProcs: number;
  readonly connections: number;
  readonly rate: number;
  readonly hosts: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly sampleEveryS: number;
  readonly abandonedSubscribers: number;
  readonly abandonedRate: number;
  readonly abandonedTimeoutS: number;
  readonly afterS: number;
  readonly streams: number;
  readonly manyServices: number;
  readonly cycles: number;
  readonly heapSnapshots: boolean;
  readonly lingerS: number;
  readonly noFrameCopy: boolean;
}

function readSettings(): Settings | undefined {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      'server-args': { type: 'string' },
      label: { type: 'string' },
      subscribers: { type: 'string' },
      'load-procs': { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      hosts: { type: 'string' },
      'duration-s': { type: 'string' },
      'warmup-s': { type: 'string' },
      'sample-every-s': { type: 'string' },
      'abandoned-subscribers': { type: 'string' },
      'abandoned-rate': { type: 'string' },
      'abandoned-timeout-s': { type: 'string' },
      'after-s': { type: 'string' },
      streams: { type: 'string' },
      'many-services': { type: 'string' },
      cycles: { type: 'string' },
      'heap-snapshots': { type: 'boolean', default: false },
      'linger-s': { type: 'string' },
      'what-if-no-frame-copy': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const q = values.quick;
  const scenarios = (values.scenarios ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) if (!SCENARIOS.includes(s as Scenario)) throw new Error(`--scenarios: unknown scenario ${s} (slow, abandoned, many)`);
  return {
    scenarios: scenarios as Scenario[],
    quick: q,
    serverArgs: (values['server-args'] ?? '').split(/\s+/).filter((a) => a !== ''),
    label: values.label,
    // 0 is allowed: the same run without subscribers, as a control.
    subscribers: values.subscribers === '0' ? 0 : intFlag('subscribers', values.subscribers, q ? 400 : 2000),
    loadProcs: intFlag('load-procs', values['load-procs'], 2),
    connections: intFlag('connections', values.connections, q ? 4 : 10),
    rate: numberFlag('rate', values.rate, 100),
    hosts: intFlag('hosts', values.hosts, 30),
    durationS: numberFlag('duration-s', values['duration-s'], q ? 60 : 600),
    warmupS: numberFlag('warmup-s', values['warmup-s'], q ? 20 : 240),
    sampleEveryS: numberFlag('sample-every-s', values['sample-every-s'], q ? 2 : 5),
    abandonedSubscribers: intFlag('abandoned-subscribers', values['abandoned-subscribers'], q ? 200 : 500),
    abandonedRate: numberFlag('abandoned-rate', values['abandoned-rate'], 10),
    abandonedTimeoutS: numberFlag('abandoned-timeout-s', values['abandoned-timeout-s'], 120),
    afterS: numberFlag('after-s', values['after-s'], q ? 10 : 30),
    streams: intFlag('streams', values.streams, q ? 2000 : 10_000),
    manyServices: intFlag('many-services', values['many-services'], 1),
    cycles: intFlag('cycles', values.cycles, q ? 1 : 3),
    heapSnapshots: values['heap-snapshots'],
    lingerS: values['linger-s'] === undefined ? 0 : numberFlag('linger-s', values['linger-s'], 0),
    noFrameCopy: values['what-if-no-frame-copy'],
  };
}

function loadRows(phases: readonly (readonly [string, PhaseLoad])[]): (string | number)[][] {
  return phases.map(([name, l]) => [
    name,
    l.wallS,
    l.machinePercent,
    l.otherCpuPercent,
    l.serverCpuPercent,
    l.serverEventLoopUtilization * 100,
    l.serverGcMaxPauseMs,
    l.loadCpuPercent,
    l.benchCpuPercent,
    l.loadAverage1m,
  ]);
}

async function main(): Promise<void> {
  const settings = readSettings();
  if (settings === undefined) return;
  const estimateS =
    (settings.scenarios.includes('slow') ? settings.durationS + 120 : 0) +
    (settings.scenarios.includes('abandoned') ? settings.abandonedTimeoutS + 2 * settings.afterS + 120 : 0) +
    (settings.scenarios.includes('many') ? settings.cycles * 120 + 120 : 0);
  armWatchdog(Math.max(15 * 60, estimateS * 2) * 1000);
  const machine = printHeader('herald server memory under slow, abandoned and numerous subscribers', {
    ...settings,
    server: 'herald serve (bin/herald.js over dist/) --host 127.0.0.1 --port 0 --http-port 0, node --expose-gc, probe preloaded',
  });
  const quiet = await waitForQuiet(os.availableParallelism());
  console.log(`machine before the run: ${quiet.busyPercent.toFixed(0)} % of a core busy (waited ${(quiet.waitedMs / 1000).toFixed(0)} s for quiet)\n`);
  let slow: SlowResult | undefined;
  let abandoned: AbandonedResult | undefined;
  let many: ManyResult | undefined;
  const phases: [string, PhaseLoad][] = [];
  let heapSnapshotDir: string | undefined;
  if (settings.heapSnapshots) {
    heapSnapshotDir = fileURLToPath(new URL('./results/heap/', import.meta.url));
    await mkdir(heapSnapshotDir, { recursive: true });
  }
  if (settings.scenarios.includes('slow')) {
    slow = await runSlow({
      heapSnapshotDir,
      lingerS: settings.lingerS,
      noFrameCopy: settings.noFrameCopy,
      subscribers: settings.subscribers,
      loadProcs: settings.loadProcs,
      connectionsPerProc: settings.connections,
      ratePerSecond: settings.rate,
      hosts: settings.hosts,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      sampleEveryS: settings.sampleEveryS,
      serverArgs: settings.serverArgs,
    });
    printSlow(slow);
    phases.push(['slow (changes running)', slow.load]);
  }
  if (settings.scenarios.includes('abandoned')) {
    abandoned = await runAbandoned({
      subscribersPerProc: settings.abandonedSubscribers,
      connectionsPerProc: settings.connections,
      ratePerSecond: settings.abandonedRate,
      hosts: settings.hosts,
      timeoutS: settings.abandonedTimeoutS,
      afterS: settings.afterS,
      serverArgs: settings.serverArgs,
    });
    printAbandoned(abandoned);
    phases.push(['abandoned (held → released)', abandoned.load]);
  }
  if (settings.scenarios.includes('many')) {
    many = await runMany({
      streams: settings.streams,
      services: settings.manyServices,
      cycles: settings.cycles,
      hosts: settings.hosts,
      heapSnapshotDir,
      serverArgs: settings.serverArgs,
    });
    printMany(many);
    phases.push(['many-from-one (all cycles)', many.load]);
  }
  printTable(
    'Machine load per phase (% of one core; 2 cores = 200; "other" = machine minus server, load processes and this driver):',
    ['phase', 'wall s', 'machine %', 'other %', 'server CPU %', 'server ELU %', 'server max GC pause ms', 'load CPU %', 'driver CPU %', 'loadavg 1m'],
    loadRows(phases),
  );
  const file = await writeResults(settings.label === undefined ? 'subscriber-memory' : `subscriber-memory-${settings.label}`, { machine, settings, slow, abandoned, many });
  console.log(`wrote ${file}`);
}

await main();
