/**
 * Scenario "slow": N subscribers (several per connection, several connections, in several load
 * processes) subscribe to one service and stop reading after the first snapshot, while the driver
 * changes the service at a fixed rate for the whole run. The server's memory is sampled every few
 * seconds without forcing a collection; the run is flat when, after the warm-up, neither RSS nor the
 * heap's floor keeps rising. At the end the subscribers cancel and the memory after release is
 * sampled (as it is, and after forced collections: diagnosis only).
 */
import { join } from 'node:path';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { GetServiceRequest, GetServiceResponse } from '../../src/gen/herald/v1/registry_service.js';
import { HeraldServeProcess, type Http2Sample, type ServeMemorySample } from '../lib/herald-serve-process.js';
import { printTable } from '../lib/report.js';
import { sleep } from '../lib/wall-clock.js';
import { registration } from '../lib/workload.js';
import { ChangeDriver, seedService, type DriveResult } from './change-driver.js';
import { openAll, spawnLoads, usageOf, waitForSubscribers } from './load-procs.js';
import { PhaseMeter, type PhaseLoad } from './phase-load.js';
import { flatness, MiB, perMinute, Sampler, takeSample, type Flatness, type MinuteSummary, type Sample } from './series.js';

const SERVICE = 'slow-subscribers';
const GC_ROUNDS = 4;

export interface SlowSettings {
  readonly subscribers: number;
  readonly loadProcs: number;
  readonly connectionsPerProc: number;
  readonly ratePerSecond: number;
  readonly hosts: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly sampleEveryS: number;
  readonly serverArgs: readonly string[];
  /** Write heap snapshots at the end of the run and after release into this directory. */
  readonly heapSnapshotDir: string | undefined;
  /**
   * > 0: after release, wait this long (past the 3-minute change queue), make one more change (the
   * queue drops aged-out changes on the next one) and sample again.
   */
  readonly lingerS: number;
  /** What-if (diagnosis only): the server's grpc-js writes header and message apart instead of copying. */
  readonly noFrameCopy: boolean;
}

export interface SlowResult {
  readonly settings: SlowSettings;
  readonly snapshotBytes: number;
  readonly empty: ServeMemorySample;
  readonly subscribed: Sample;
  readonly openMs: number;
  readonly samples: readonly Sample[];
  readonly minutes: readonly MinuteSummary[];
  readonly flatness: Flatness;
  readonly drive: DriveResult;
  /** At the end, subscribers still paused: as it is, and after forced collections (diagnosis). */
  readonly end: ServeMemorySample;
  readonly endGc: ServeMemorySample;
  readonly endHttp2: Http2Sample;
  /** After every subscriber cancelled: as it is, and after forced collections (diagnosis). */
  readonly releaseMs: number;
  readonly released: ServeMemorySample;
  readonly releasedGc: ServeMemorySample;
  readonly releasedHttp2: Http2Sample;
  /**
   * Messages the paused streams held in their client-side buffers when they cancelled: beyond the
   * first snapshot, each took pushes until its own HTTP/2 window was full (the connection's window
   * did not stop the server, as Node's client consumes it on receipt).
   */
  readonly bufferedMessages: number;
  /** After lingerS and one more change (undefined without lingerS): as it is and after forced collections. */
  readonly lingered: ServeMemorySample | undefined;
  readonly lingeredGc: ServeMemorySample | undefined;
  readonly load: PhaseLoad;
}

export async function runSlow(settings: SlowSettings): Promise<SlowResult> {
  const server = await HeraldServeProcess.start({ args: settings.serverArgs, exposeGc: true, noFrameCopy: settings.noFrameCopy });
  const transport = new RegistryTransport(server.address, { deadlineMs: 30_000 });
  const perProc = Math.ceil(settings.subscribers / settings.loadProcs);
  const loads = await spawnLoads(settings.loadProcs, 'slow subscribers');
  try {
    await seedService(transport, SERVICE, settings.hosts);
    const snapshot = await transport.getService(GetServiceRequest.fromPartial({ service: SERVICE }));
    const snapshotBytes = GetServiceResponse.encode(snapshot).finish().length;
    await sleep(1000);
    const empty = await server.memory(0);
    const opened = await openAll(loads, {
      address: server.address,
      services: [SERVICE],
      streams: perProc,
      connections: settings.connectionsPerProc,
      pause: true,
      openBatch: 100,
      timeoutMs: 120_000,
    });
    console.log(`slow: ${perProc * settings.loadProcs} subscribers paused after their first snapshot (${(opened.openMs / 1000).toFixed(1)} s); changes at ${settings.ratePerSecond}/s for ${settings.durationS} s`);
    const t0 = performance.now();
    const subscribed = await takeSample(server, t0);
    const meter = await PhaseMeter.start(...usageOf(server, loads));
    const sampler = new Sampler(server, t0, settings.sampleEveryS * 1000, (s) => {
      if (Math.floor(s.tS) % 60 < settings.sampleEveryS) {
        console.log(
          `  t=${s.tS.toFixed(0)} s  RSS ${(s.memory.rssBytes / MiB).toFixed(1)} MiB  heapUsed ${(s.memory.heapUsedBytes / MiB).toFixed(1)}  ` +
            `external ${(s.memory.externalBytes / MiB).toFixed(1)}  unflushed ${(s.http2.unflushedBytes / MiB).toFixed(1)} MiB on ${s.http2.blockedStreams} streams  ` +
            `machine ${s.machinePercent.toFixed(0)} % busy, load ${s.loadAverage1m.toFixed(1)}`,
        );
      }
    });
    const driver = new ChangeDriver(transport, SERVICE, settings.ratePerSecond, settings.hosts);
    driver.start();
    sampler.start();
    await sleep(settings.durationS * 1000);
    const drive = await driver.stop();
    await sampler.stop();
    const load = await meter.end();
    const end = await server.memory(0);
    const endHttp2 = await server.http2();
    const endGc = await server.memory(GC_ROUNDS);
    if (settings.heapSnapshotDir !== undefined) await server.heapSnapshot(join(settings.heapSnapshotDir, `slow-end-${Date.now()}.heapsnapshot`));
    const cancelStarted = performance.now();
    const cancelled = await Promise.all(loads.map((l) => l.request('cancel', { timeoutMs: 60_000 })));
    const bufferedMessages = cancelled.reduce((n, c) => n + c.bufferedMessages, 0);
    const { ms } = await waitForSubscribers(server, 0, 60_000);
    const releaseMs = performance.now() - cancelStarted;
    if (Number.isNaN(ms)) console.error('slow: the server still counts subscribers 60 s after every stream was cancelled');
    await sleep(5_000);
    const released = await server.memory(0);
    const releasedHttp2 = await server.http2();
    const releasedGc = await server.memory(GC_ROUNDS);
    if (settings.heapSnapshotDir !== undefined) await server.heapSnapshot(join(settings.heapSnapshotDir, `slow-released-${Date.now()}.heapsnapshot`));
    let lingered: ServeMemorySample | undefined;
    let lingeredGc: ServeMemorySample | undefined;
    if (settings.lingerS > 0) {
      await sleep(settings.lingerS * 1000);
      await transport.register(registration(SERVICE, 0));
      await sleep(1000);
      lingered = await server.memory(0);
      lingeredGc = await server.memory(GC_ROUNDS);
    }
    const minutes = perMinute(sampler.samples);
    return {
      settings,
      snapshotBytes,
      empty,
      subscribed,
      openMs: opened.openMs,
      samples: sampler.samples,
      minutes,
      flatness: flatness(minutes, settings.warmupS),
      drive,
      end,
      endGc,
      endHttp2,
      releaseMs,
      released,
      releasedGc,
      releasedHttp2,
      bufferedMessages,
      lingered,
      lingeredGc,
      load,
    };
  } finally {
    transport.close();
    await Promise.all(loads.map((l) => l.exit()));
    await server.stop();
  }
}

function mib(bytes: number): number {
  return bytes / MiB;
}

function rangeText(r: { min: number; median: number; max: number }): string {
  return `${r.min.toFixed(1)} / ${r.median.toFixed(1)} / ${r.max.toFixed(1)}`;
}

export function printSlow(r: SlowResult): void {
  const s = r.settings;
  printTable(
    `${s.noFrameCopy ? 'WHAT-IF (grpc-js patched not to copy messages; diagnosis only): ' : ''}Slow subscribers: ${s.subscribers} paused streams (${s.loadProcs} processes × ${s.connectionsPerProc} connections), ${s.ratePerSecond} changes/s, ` +
      `${s.hosts} hosts (${r.snapshotBytes} B snapshot), ${s.durationS} s; server memory per minute, min / median / max, MiB, never a forced GC:`,
    ['minute', 'samples', 'RSS', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'unflushed HTTP/2', 'blocked streams', 'machine busy %'],
    r.minutes.map((m) => [
      m.minute,
      m.samples,
      rangeText(m.rssMiB),
      rangeText(m.heapUsedMiB),
      rangeText(m.heapTotalMiB),
      rangeText(m.externalMiB),
      rangeText(m.arrayBuffersMiB),
      rangeText(m.unflushedMiB),
      `${m.blockedStreams.min} / ${m.blockedStreams.median} / ${m.blockedStreams.max}`,
      `${m.machinePercent.min.toFixed(0)} / ${m.machinePercent.median.toFixed(0)} / ${m.machinePercent.max.toFixed(0)}`,
    ]),
  );
  const f = r.flatness;
  console.log(
    `After the ${s.warmupS} s warm-up (${f.minutes} minutes): RSS slope ${f.rssSlopeMiBPerMin.toFixed(2)} MiB/min (change ${f.rssChangeMiB.toFixed(1)} MiB), ` +
      `heapUsed floor slope ${f.heapFloorSlopeMiBPerMin.toFixed(2)} MiB/min (change ${f.heapFloorChangeMiB.toFixed(1)} MiB), ` +
      `external slope ${f.externalSlopeMiBPerMin.toFixed(2)} MiB/min: ${f.flat ? 'FLAT' : 'NOT FLAT'}\n`,
  );
  printTable(
    'Slow subscribers: checkpoints (MiB; "GC" = after forced collections, diagnosis only' +
      (s.heapSnapshotDir === undefined ? '):' : '; a heap snapshot was written after "end of run, GC", so RSS after it is inflated):'),
    ['checkpoint', 'RSS', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'HTTP/2 streams', 'unflushed MiB'],
    [
      ['empty (service seeded)', mib(r.empty.rssBytes), mib(r.empty.heapUsedBytes), mib(r.empty.heapTotalBytes), mib(r.empty.externalBytes), mib(r.empty.arrayBuffersBytes), '-', '-'],
      row('subscribed, before changes', r.subscribed.memory, r.subscribed.http2),
      row('end of run', r.end, r.endHttp2),
      row('end of run, GC', r.endGc, r.endHttp2),
      row('all cancelled +5 s', r.released, r.releasedHttp2),
      row('all cancelled, GC', r.releasedGc, r.releasedHttp2),
      ...(r.lingered === undefined || r.lingeredGc === undefined
        ? []
        : [row(`+${s.lingerS} s and one change`, r.lingered, r.releasedHttp2), row(`+${s.lingerS} s and one change, GC`, r.lingeredGc, r.releasedHttp2)]),
    ],
  );
  console.log(
    `driver: ${r.drive.issued} changes (${r.drive.achievedRate.toFixed(1)}/s), ${r.drive.errors} errors, ${r.drive.dropped} dropped; ` +
      `release of every stream after cancel: ${(r.releaseMs / 1000).toFixed(1)} s; streams collected after release: ${r.releasedHttp2.streamsCollected} of ${r.releasedHttp2.streamsCreated}; ` +
      `messages buffered unread in the paused clients: ${r.bufferedMessages} (${(r.bufferedMessages / Math.max(1, r.settings.subscribers)).toFixed(1)} per stream)\n`,
  );
}

function row(label: string, m: ServeMemorySample, h: Http2Sample): (string | number)[] {
  return [label, mib(m.rssBytes), mib(m.heapUsedBytes), mib(m.heapTotalBytes), mib(m.externalBytes), mib(m.arrayBuffersBytes), h.subscribeStreams, mib(h.unflushedBytes)];
}
