/**
 * What counting adds to the hot paths, measured in isolation in one process (CPU time, so other
 * processes on the machine inflate it less than wall time): a renew through a transport's counting
 * view of the registry against the registry itself, the request timing of a unary gRPC call (two
 * clock reads and one histogram observation), and one push latency observation (once per push, not
 * per subscriber). Alternates bare and counted blocks (ABAB…) and prints medians. The end-to-end
 * figures (server CPU per renew and per push with and without metrics) come from
 * bench/registrations.ts and bench/push-latency.ts run against both builds; see docs/benchmarks.md.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { systemClock } from '../src/core/clock.js';
import { Registry } from '../src/core/registry.js';
import { NodeMetrics } from '../src/server/metrics/node-metrics.js';
import { WriteCounts } from '../src/server/metrics/write-counts.js';
import { int, parseFlags } from './lib/flags.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { fixed, printTable } from './lib/report.js';

const { flags } = parseFlags(
  {
    script: 'bench/metrics-cost.ts',
    about: `CPU time the metrics add per renew (the counting view of the registry), per timed unary call
(two clock reads and a histogram observation) and per push (one histogram observation), measured
in one process in alternating blocks (bare, counted, bare, …); prints medians and writes
bench/results/metrics-cost.json.`,
    quick: 'fewer and shorter blocks',
  },
  {
    blocks: int('alternating blocks of each kind', 9, 3),
    ops: int('operations per block', 200_000, 50_000),
    instances: int('instances in the registry', 10_000, 1_000),
  },
);

const registry = new Registry({ clock: systemClock, random: Math.random, options: { selfPreservation: false } });
for (let i = 0; i < flags.instances; i++) registry.register({ service: `s-${i % 100}`, instance: { instanceId: `i-${i}`, ip: '10.0.0.1', port: 1 + (i % 60_000) } });
const writes = new WriteCounts();
const counted = writes.counted(registry, 'grpc');
const metrics = new NodeMetrics(
  {
    registry,
    writes: () => writes.snapshot(),
    evictions: () => ({ leaseExpired: 0, heartbeatTimeout: 0 }),
    push: () => ({ deliveries: 0, merged: 0, skipped: 0, streams: 0, slowStreams: 0, targets: 0, watchedServices: 0, refused: 0 }),
    udp: () => undefined,
    peers: () => [],
    readiness: () => ({ ready: true, state: 'serving' }),
    xds: () => undefined,
  },
  { perService: false },
);
const refs = Array.from({ length: flags.instances }, (_, i) => ({ service: `s-${i % 100}`, instanceId: `i-${i}` }));

/** CPU ns per operation of `fn(i)` over one block. */
function block(fn: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < flags.ops; i++) fn(i);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / flags.ops;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

const kinds = {
  'renew, registry itself': (i: number) => registry.renew(refs[i % refs.length] ?? { service: 's-0', instanceId: 'i-0' }),
  'renew, counting view (grpc)': (i: number) => counted.renew(refs[i % refs.length] ?? { service: 's-0', instanceId: 'i-0' }),
  'two clock reads (nothing else)': () => {
    performance.now();
    performance.now();
  },
  'timed call: two clock reads + histogram': () => {
    const t = performance.now();
    metrics.observeRequest('grpc', 'herald.v1.RegistryService/Renew', 'OK', (performance.now() - t) / 1000);
  },
  'push latency observation': (i: number) => {
    metrics.observePush(i % 50);
  },
} satisfies Record<string, (i: number) => void>;

const samples = new Map<string, number[]>(Object.keys(kinds).map((k) => [k, []]));
for (const fn of Object.values(kinds)) block(fn); // warm-up: let V8 optimise each
for (let b = 0; b < flags.blocks; b++) for (const [name, fn] of Object.entries(kinds)) samples.get(name)?.push(block(fn));

const ns = (name: keyof typeof kinds): number => median(samples.get(name) ?? []);
const added = ns('renew, counting view (grpc)') - ns('renew, registry itself');
const timed = ns('timed call: two clock reads + histogram');
console.log(
  `\n# Cost of metrics on the hot paths (in isolation)\n\nmachine:  ${machineLine(machineInfo())}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`settings: blocks=${flags.blocks} ops=${flags.ops} instances=${flags.instances}\n`);
printTable(
  'CPU per operation, medians of the blocks',
  ['operation', 'ns'],
  Object.keys(kinds).map((k) => [k, fixed(ns(k as keyof typeof kinds), 1)]),
);
console.log(`\nAdded to a gRPC renew: ${fixed(added, 1)} ns (counting) + ${fixed(timed, 1)} ns (request timing) = ${fixed(added + timed, 1)} ns.`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/metrics-cost.json',
  JSON.stringify({ flags, loadavg: loadavg(), nsPerOp: Object.fromEntries([...samples].map(([k, v]) => [k, median(v)])), addedPerRenewNs: added + timed }, null, 2),
);
console.log('wrote bench/results/metrics-cost.json');
