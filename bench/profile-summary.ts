/**
 * Summarises a V8 CPU profile of the server (written by a benchmark's --profile flag, which runs
 * the server with node --cpu-prof): busy time per area, the top functions by self time, and
 * herald's own functions by inclusive time.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/CPU.<...>.0.001.cpuprofile [--top 25]
 *
 * The main thread's profile is the one whose name has thread number 0 (`.0.`); the other is
 * tsx's module-loader thread.
 */
import { int, parseFlags } from './lib/flags.js';
import { formatTable } from './lib/report.js';
import { summarizeProfile } from './profile-summary/cpu-profile.js';

const { flags, positionals } = parseFlags(
  {
    script: 'bench/profile-summary.ts',
    about: `Summarises V8 CPU profiles (a benchmark's --profile): busy time per area (herald, grpc-js,
Node core, GC, native), the top functions by self time, and herald's functions by inclusive time.
The main thread's profile is the one with thread number 0 in its name (\`CPU.*.0.001.cpuprofile\`).`,
    positionals: '<file.cpuprofile>...',
  },
  { top: int('functions listed per table', 25) },
);
const { top } = flags;
if (positionals.length === 0) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile>... [--top N] (--help for more)');
  process.exit(1);
}
for (const file of positionals) {
  const s = await summarizeProfile(file);
  const pctBusy = (ms: number): number => (s.busyMs > 0 ? (ms / s.busyMs) * 100 : Number.NaN);
  console.log(`\n## ${file}\n\nsampled ${s.sampledMs.toFixed(0)} ms, busy (not idle) ${s.busyMs.toFixed(0)} ms\n`);
  console.log(
    `Self time by area:\n\n${formatTable(
      ['area', 'self ms', '% of busy'],
      s.areas.filter((a) => a.area !== 'idle').map((a) => [a.area, a.selfMs, pctBusy(a.selfMs)]),
    )}\n`,
  );
  const bySelf = [...s.functions].sort((a, b) => b.selfMs - a.selfMs).filter((f) => f.area !== 'idle').slice(0, top);
  console.log(`Top ${top} functions by self time:\n\n${formatTable(['function', 'area', 'self ms', '% of busy'], bySelf.map((f) => [f.where, f.area, f.selfMs, pctBusy(f.selfMs)]))}\n`);
  const herald = [...s.functions].filter((f) => f.area === 'herald (src)').sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  console.log(
    `herald functions by inclusive time:\n\n${formatTable(['function', 'total ms', '% of busy', 'self ms'], herald.map((f) => [f.where, f.totalMs, pctBusy(f.totalMs), f.selfMs]))}\n`,
  );
}
