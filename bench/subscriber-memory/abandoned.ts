/**
 * Scenario "abandoned": two load processes hold reading subscribers while the driver keeps changing
 * the service; one is SIGKILLed (its sockets are closed by the kernel), then the other is SIGSTOPped
 * (frozen: its connections stay open, nothing is read or acknowledged, so only the server's HTTP/2
 * keepalive can find it). The server's open Subscribe streams and memory are sampled every
 * SAMPLE_MS, without forcing a collection, until each group is released and for a while after.
 */
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { HeraldServeProcess, type ServeMemorySample } from '../lib/herald-serve-process.js';
import { printTable } from '../lib/report.js';
import { sleep } from '../lib/wall-clock.js';
import { ChangeDriver, seedService, type DriveResult } from './change-driver.js';
import { openAll, spawnLoads, usageOf, waitForSubscribers } from './load-procs.js';
import { PhaseMeter, type PhaseLoad } from './phase-load.js';
import { MiB, Sampler, type Sample } from './series.js';

const SERVICE = 'abandoned-subscribers';
const SAMPLE_MS = 2_000;
const GC_ROUNDS = 4;

export interface AbandonedSettings {
  /** Subscribers in each of the two load processes. */
  readonly subscribersPerProc: number;
  readonly connectionsPerProc: number;
  readonly ratePerSecond: number;
  readonly hosts: number;
  /** How long to wait for the frozen process's streams to be released. */
  readonly timeoutS: number;
  /** Sampling goes on this long after each release. */
  readonly afterS: number;
  readonly serverArgs: readonly string[];
}

export interface Release {
  readonly signal: 'SIGKILL' | 'SIGSTOP';
  /** From the signal until the server's subscriber count dropped by the process's streams (NaN: not within the timeout). */
  readonly releaseMs: number;
  readonly before: Sample;
  /** Largest RSS and heapUsed sampled between the signal and the release. */
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  /** Sampled `afterS` after the release. */
  readonly after: Sample;
}

export interface AbandonedResult {
  readonly settings: AbandonedSettings;
  readonly keepalive: string;
  readonly baseline: Sample;
  readonly killed: Release;
  readonly frozen: Release;
  readonly finalGc: ServeMemorySample;
  readonly samples: readonly Sample[];
  readonly drive: DriveResult;
  readonly load: PhaseLoad;
}

function between(samples: readonly Sample[], fromS: number, toS: number): Sample[] {
  return samples.filter((s) => s.tS >= fromS && s.tS <= toS);
}

export async function runAbandoned(settings: AbandonedSettings): Promise<AbandonedResult> {
  const server = await HeraldServeProcess.start({ args: settings.serverArgs, exposeGc: true });
  const transport = new RegistryTransport(server.address, { deadlineMs: 30_000 });
  const [victimKilled, victimFrozen] = await spawnLoads(2, 'abandoned subscribers');
  if (victimKilled === undefined || victimFrozen === undefined) throw new Error('no load processes');
  const loads = [victimKilled, victimFrozen];
  const t0 = performance.now();
  const sampler = new Sampler(server, t0, SAMPLE_MS);
  const driver = new ChangeDriver(transport, SERVICE, settings.ratePerSecond, settings.hosts);
  try {
    await seedService(transport, SERVICE, settings.hosts);
    driver.start();
    sampler.start();
    await sleep(10_000);
    const baseline = sampler.samples.at(-1);
    if (baseline === undefined) throw new Error('no sample');
    const n = settings.subscribersPerProc;
    await openAll(loads, { address: server.address, services: [SERVICE], streams: n, connections: settings.connectionsPerProc, pause: false, openBatch: 100, timeoutMs: 120_000 });
    const meter = await PhaseMeter.start(...usageOf(server, loads));
    await sleep(15_000);
    const nowS = (): number => (performance.now() - t0) / 1000;

    const release = async (victim: typeof victimKilled, signal: 'SIGKILL' | 'SIGSTOP', remaining: number): Promise<Release> => {
      const before = sampler.samples.at(-1);
      if (before === undefined) throw new Error('no sample');
      const fromS = nowS();
      victim.signal(signal);
      console.log(`abandoned: ${signal} to a process holding ${n} streams at t=${fromS.toFixed(0)} s`);
      const { ms } = await waitForSubscribers(server, remaining, settings.timeoutS * 1000, 100);
      const toS = nowS();
      console.log(`abandoned: ${Number.isNaN(ms) ? `NOT released within ${settings.timeoutS} s` : `released after ${(ms / 1000).toFixed(1)} s`}`);
      await sleep(settings.afterS * 1000);
      const after = sampler.samples.at(-1);
      if (after === undefined) throw new Error('no sample');
      const during = between(sampler.samples, fromS, toS);
      return {
        signal,
        releaseMs: ms,
        before,
        peakRssBytes: Math.max(before.memory.rssBytes, ...during.map((s) => s.memory.rssBytes)),
        peakHeapUsedBytes: Math.max(before.memory.heapUsedBytes, ...during.map((s) => s.memory.heapUsedBytes)),
        after,
      };
    };

    const killed = await release(victimKilled, 'SIGKILL', n);
    const frozen = await release(victimFrozen, 'SIGSTOP', 0);
    const load = await meter.end();
    const drive = await driver.stop();
    await sampler.stop();
    const finalGc = await server.memory(GC_ROUNDS);
    const keepalive = settings.serverArgs.join(' ').match(/--keepalive-[a-z-]+ \d+/g)?.join(' ') ?? 'defaults (--keepalive-time-ms 30000 --keepalive-timeout-ms 10000)';
    return { settings, keepalive, baseline, killed, frozen, finalGc, samples: sampler.samples, drive, load };
  } finally {
    await driver.stop();
    await sampler.stop();
    transport.close();
    // SIGKILL ends a stopped process too.
    victimFrozen.signal('SIGKILL');
    victimKilled.signal('SIGKILL');
    await server.stop();
  }
}

export function printAbandoned(r: AbandonedResult): void {
  const s = r.settings;
  const m = (x: number): number => x / MiB;
  const row = (label: string, x: Sample): (string | number)[] => [
    label,
    x.tS,
    x.http2.subscribeStreams,
    x.http2.sessions,
    m(x.memory.rssBytes),
    m(x.memory.heapUsedBytes),
    m(x.memory.externalBytes),
    m(x.http2.unflushedBytes),
  ];
  printTable(
    `Abandoned subscribers: 2 processes × ${s.subscribersPerProc} reading streams (${s.connectionsPerProc} connections each), ${s.ratePerSecond} changes/s, ${s.hosts} hosts; ` +
      `keepalive ${r.keepalive}; MiB, never a forced GC except the last row:`,
    ['checkpoint', 't s', 'Subscribe streams', 'HTTP/2 sessions', 'RSS', 'heapUsed', 'external', 'unflushed'],
    [
      row('before subscribers', r.baseline),
      row('held, before SIGKILL', r.killed.before),
      ['SIGKILL → released', '-', `${(r.killed.releaseMs / 1000).toFixed(1)} s`, '-', `peak ${m(r.killed.peakRssBytes).toFixed(1)}`, `peak ${m(r.killed.peakHeapUsedBytes).toFixed(1)}`, '-', '-'],
      row(`released +${s.afterS} s`, r.killed.after),
      row('before SIGSTOP', r.frozen.before),
      ['SIGSTOP → released', '-', Number.isNaN(r.frozen.releaseMs) ? 'NOT RELEASED' : `${(r.frozen.releaseMs / 1000).toFixed(1)} s`, '-', `peak ${m(r.frozen.peakRssBytes).toFixed(1)}`, `peak ${m(r.frozen.peakHeapUsedBytes).toFixed(1)}`, '-', '-'],
      row(`released +${s.afterS} s`, r.frozen.after),
      ['end, forced GC (diagnosis)', '-', '-', '-', m(r.finalGc.rssBytes), m(r.finalGc.heapUsedBytes), m(r.finalGc.externalBytes), '-'],
    ],
  );
}
