/**
 * Health probes of persistent instances on schedule (issue #14): the server, in its own process with
 * the store on, holds --instances persistent instances and TCP-probes each every --interval-ms. The
 * targets are a few TCP listeners in this process, bound to 0.0.0.0 and closing at once any
 * connection that does not come from a loopback address; instances spread over the loopback
 * addresses 127.1.x.y, so each (address, port) is one instance and the listener can tell them apart.
 *
 * Measured over a window of steady probing: probes per second achieved against scheduled
 * (instances / interval), the lateness of each probe (the gap between two probes of one instance
 * minus the interval: the prober schedules the next probe one interval after the start of the
 * previous one), and the server's event-loop delay p99, ELU and CPU. Then one listener is closed
 * and a subscriber to its service times how long until every instance of it is pushed unhealthy
 * (the unhealthy threshold is 2, so about two intervals plus lateness are expected).
 *
 *   npx tsx bench/probes.ts --help
 *   npx tsx bench/probes.ts --quick
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RegistryTransport } from '../src/client/registry-transport.js';
import type { ServiceInfo } from '../src/gen/herald/v1/model.js';
import { RegisterRequest, SubscribeRequest } from '../src/gen/herald/v1/registry_service.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { int, parseFlags } from './lib/flags.js';
import { measurePhase } from './lib/machine-load.js';
import type { MachineInfo } from './lib/machine.js';
import type { UsageDelta } from './lib/process-usage.js';
import { printChecks, printHeader, printRows, writeResults, type TargetCheck } from './lib/report.js';
import { medians, repeatRuns } from './lib/runs.js';
import { quietServerConfig, ServerProcess } from './lib/server-process.js';
import { summarize, type LatencySummary } from './lib/stats.js';
import { armWatchdog } from './lib/watchdog.js';

const { flags: settings } = parseFlags(
  {
    script: 'bench/probes.ts',
    about: `Health probes of persistent instances on schedule: --instances persistent instances (store on)
TCP-probed every --interval-ms against --listeners listeners in this process (0.0.0.0, loopback
clients only; instances on 127.1.x.y addresses). Prints probes/s achieved vs scheduled, probe
lateness p50/p99, the server's event-loop delay p99 and ELU while probing, and the time until one
stopped listener's instances are pushed unhealthy; writes bench/results/probes.json.`,
    quick: 'one short run with 2,000 instances',
  },
  {
    runs: int('runs', 3, 1),
    instances: int('persistent instances', 10_000, 2_000),
    listeners: int('TCP listeners (one service each)', 4, 4),
    intervalMs: int('probe interval, ms', 5_000, 2_000),
    measureS: int('seconds of steady probing measured', 20, 6),
    concurrency: int('probes in flight at most (the server setting)', 64),
    inFlight: int('registrations in flight while filling the registry', 64),
  },
);

interface RunResult {
  readonly run: number;
  readonly scheduledPerSecond: number;
  readonly probesPerSecond: number;
  readonly latenessMs: LatencySummary;
  /** Instances probed at least twice in the window (so with a gap measured), of all. */
  readonly instancesSeen: number;
  readonly server: UsageDelta;
  /** Listener closed → every one of its instances pushed unhealthy, ms. */
  readonly flipMs: number;
  readonly flipped: number;
  readonly otherCpuPercent: number;
}

/** Instance i: its listener and its loopback address (unique per listener). */
function target(i: number): { listener: number; ip: string } {
  const listener = i % settings.listeners;
  const k = Math.floor(i / settings.listeners) + 1;
  return { listener, ip: `127.1.${k >> 8}.${k & 255}` };
}

/** One listener: counts probes (accepted connections) by the address they were made to. */
class ProbeTarget {
  readonly server: Server;
  /** Per instance key: last probe time (ms, this process's clock). */
  private readonly last = new Map<string, number>();
  gapsMs: number[] = [];
  count = 0;
  recording = false;

  constructor() {
    this.server = createServer((socket: Socket) => {
      socket.on('error', () => undefined);
      const remote = socket.remoteAddress ?? '';
      if (!remote.startsWith('127.') && !remote.startsWith('::ffff:127.')) {
        socket.destroy();
        return;
      }
      const now = performance.now();
      const key = `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`;
      const prev = this.last.get(key);
      this.last.set(key, now);
      if (this.recording) {
        this.count++;
        if (prev !== undefined) this.gapsMs.push(now - prev);
      }
      socket.destroy();
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '0.0.0.0', resolve));
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  }

  keysSeenTwice(): number {
    return this.last.size;
  }

  close(): Promise<void> {
    return new Promise((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}

async function runOnce(machine: MachineInfo, run: number): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-probes-'));
  const targets = Array.from({ length: settings.listeners }, () => new ProbeTarget());
  const ports = await Promise.all(targets.map((t) => t.listen()));
  const server = await ServerProcess.start({
    config: quietServerConfig({
      dataDir,
      probeDefault: 'tcp',
      probeIntervalMs: settings.intervalMs,
      probeTimeoutMs: Math.min(2_000, Math.floor(settings.intervalMs / 2)),
      probeUnhealthyThreshold: 2,
      probeHealthyThreshold: 1,
      probeConcurrency: settings.concurrency,
    }),
  });
  const client = new RegistryTransport(server.address);
  try {
    const fill = await runClosedLoop({
      inFlight: settings.inFlight,
      total: settings.instances,
      op: async (i) => {
        const t = target(i);
        await client.register(
          RegisterRequest.fromPartial({ service: `probed-${t.listener}`, instance: { instanceId: `p-${i}`, ip: t.ip, port: ports[t.listener] ?? 0, ephemeral: false } }),
        );
      },
    });
    if (fill.errors > 0) throw new Error(`${fill.errors} registration(s) failed, first: ${fill.firstError ?? '?'}`);
    // First probes are spread over one interval; let every instance be probed once before measuring.
    await new Promise((r) => setTimeout(r, settings.intervalMs * 1.5));
    for (const t of targets) t.recording = true;
    const windowStart = performance.now();
    const phase = await measurePhase([server], machine.cores, () => new Promise((r) => setTimeout(r, settings.measureS * 1000)));
    const windowMs = performance.now() - windowStart;
    for (const t of targets) t.recording = false;
    const probes = targets.reduce((n, t) => n + t.count, 0);
    const lateness = targets.flatMap((t) => t.gapsMs.map((g) => Math.max(0, g - settings.intervalMs)));

    // Stop listener 0 and wait for its service to be pushed all unhealthy.
    const stopped = targets[0];
    if (stopped === undefined) throw new Error('no listener');
    const expected = Math.ceil(settings.instances / settings.listeners);
    const allDown = (s: ServiceInfo): boolean => s.hosts.length === expected && s.hosts.every((h) => !h.healthy);
    let subscription: { unsubscribe(): void } | undefined;
    let firstAt = 0;
    const flipped = new Promise<number>((resolve, reject) => {
      subscription = client.subscribe(SubscribeRequest.fromPartial({ service: 'probed-0' })).subscribe({
        next: (s) => {
          if (firstAt > 0 && allDown(s)) resolve(performance.now() - firstAt);
        },
        error: (e: unknown) => {
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      });
    });
    firstAt = performance.now();
    await stopped.close();
    const flipMs = await Promise.race([
      flipped,
      new Promise<number>((_, reject) =>
        setTimeout(() => {
          reject(new Error('instances not pushed unhealthy within 10 intervals'));
        }, settings.intervalMs * 10),
      ),
    ]);
    subscription?.unsubscribe();
    return {
      run,
      scheduledPerSecond: settings.instances / (settings.intervalMs / 1000),
      probesPerSecond: (probes / windowMs) * 1000,
      latenessMs: summarize(lateness),
      instancesSeen: targets.reduce((n, t) => n + t.keysSeenTwice(), 0),
      server: phase.usage[0],
      flipMs,
      flipped: expected,
      otherCpuPercent: phase.otherCpuPercent,
    };
  } finally {
    client.close();
    await server.stop();
    await Promise.all(targets.slice(1).map((t) => t.close()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

armWatchdog(15 * 60_000);
const machine = printHeader('herald health probes of persistent instances', { ...settings, store: 'on (WAL, synchronous=FULL)', probe: 'tcp connect' });
const runs = await repeatRuns({
  scenarios: [''],
  runs: settings.runs,
  label: () => '',
  once: (_s, run) => runOnce(machine, run),
  line: (r) =>
    `${r.probesPerSecond.toFixed(0)} probes/s of ${r.scheduledPerSecond.toFixed(0)} scheduled, lateness p50 ${r.latenessMs.p50.toFixed(1)} ms p99 ${r.latenessMs.p99.toFixed(1)} ms, ` +
    `server loop delay p99 ${r.server.loopDelayP99Ms.toFixed(1)} ms, ELU ${r.server.eventLoopUtilization.toFixed(2)}, CPU ${r.server.cpuPercent.toFixed(0)} %, ` +
    `${r.flipped} instances pushed unhealthy ${r.flipMs.toFixed(0)} ms after their listener closed, other CPU ${r.otherCpuPercent.toFixed(0)} %`,
});

printRows('Every run (CPU in % of one core):', runs, [
  ['run', (r) => r.run],
  ['scheduled/s', (r) => r.scheduledPerSecond],
  ['probes/s', (r) => r.probesPerSecond],
  ['late p50 ms', (r) => r.latenessMs.p50],
  ['late p99 ms', (r) => r.latenessMs.p99],
  ['late max ms', (r) => r.latenessMs.max],
  ['loop delay p99 ms', (r) => r.server.loopDelayP99Ms],
  ['server ELU', (r) => r.server.eventLoopUtilization],
  ['server CPU %', (r) => r.server.cpuPercent],
  ['flip ms', (r) => r.flipMs],
  ['other CPU %', (r) => r.otherCpuPercent],
]);
const summary = medians(runs, {
  scheduledPerSecond: (r) => r.scheduledPerSecond,
  probesPerSecond: (r) => r.probesPerSecond,
  latenessP50Ms: (r) => r.latenessMs.p50,
  latenessP99Ms: (r) => r.latenessMs.p99,
  loopDelayP99Ms: (r) => r.server.loopDelayP99Ms,
  serverEventLoopUtilization: (r) => r.server.eventLoopUtilization,
  serverCpuPercent: (r) => r.server.cpuPercent,
  flipMs: (r) => r.flipMs,
  otherCpuPercent: (r) => r.otherCpuPercent,
});
printRows(
  `Medians of ${settings.runs} run(s):`,
  [summary],
  [
    ['probes/s', (s) => s.probesPerSecond],
    ['of scheduled %', (s) => (s.probesPerSecond / s.scheduledPerSecond) * 100],
    ['late p50 ms', (s) => s.latenessP50Ms],
    ['late p99 ms', (s) => s.latenessP99Ms],
    ['loop delay p99 ms', (s) => s.loopDelayP99Ms],
    ['server ELU', (s) => s.serverEventLoopUtilization],
    ['server CPU %', (s) => s.serverCpuPercent],
    ['flip ms', (s) => s.flipMs],
  ],
);
const checks: TargetCheck[] = [
  { metric: 'probes achieved, % of scheduled', value: (summary.probesPerSecond / summary.scheduledPerSecond) * 100, unit: '%', bound: 95, kind: 'min' },
  { metric: 'listener down → instances pushed unhealthy', value: summary.flipMs, unit: 'ms', bound: settings.intervalMs * 3, kind: 'max' },
];
printChecks(checks);
const file = await writeResults('probes', { machine, settings, summary, checks, runs });
console.log(`wrote ${file}`);
