/**
 * One run of a push benchmark (push-latency, udp-push-latency, cluster's cross-node part,
 * versus-etcd): the server nodes of the run, a driver (a RegistryTransport on its own connection,
 * or the ChangeWriter given) that changes one service on one node, and load processes that time
 * the pushes. In order:
 *
 *   const run = await ChangeRun.start({ nodes, writeTo, service, hosts, ratePerSecond, window });
 *   const loads = await run.openLoads({ ... });   // spawn, split the subscribers, open
 *   await run.warmUp();                            // the warm-up changes
 *   const m = await run.measure(cores);            // the measured changes, with everyone's CPU
 *   const results = await run.collect(loads, 3_000);
 *   await run.close();                             // loads, driver, then the nodes
 *
 * Cross-process latencies use `performance.timeOrigin + performance.now()` on both sides; the run
 * measures each load process's clock offset instead of assuming it is ~0.
 */
import type { SecurityOptions } from '../../../src/client/connection-security.js';
import { separateTransport } from '../bench-client.js';
import { ChildHandle } from '../child-handle.js';
import { measurePhase, type UsageSource } from '../machine-load.js';
import type { ProcessUsage, UsageDelta } from '../process-usage.js';
import { summarize } from '../stats.js';
import { wallNowMs } from '../wall-clock.js';
import { derivedInstanceId } from '../workload.js';
import { driveChanges, TAGGED_INDEX, transportWriter, type ChangeWindow, type ChangeWriter, type DriveResult } from './changes.js';
import type { PushLoadCommands, PushLoadConfig } from './load-protocol.js';
import type { TallyResult } from './subscriber-tally.js';

export const SUBSCRIBER_MAIN = new URL('./subscriber-main.ts', import.meta.url);

/** A server process of a run (a ServerProcess, a HeraldServeProcess, another registry): where clients connect, its CPU, its stop. */
export interface RunNode extends UsageSource {
  /** `host:port` of its gRPC API. */
  readonly address: string;
  stop(): Promise<void>;
}

export interface ChangeRunOptions {
  /** Every server process of the run; the run stops them on close. */
  readonly nodes: readonly RunNode[];
  /** The node the driver changes the service on. */
  readonly writeTo: RunNode;
  /** The driver's client; default a RegistryTransport to `writeTo` on its own connection (closed by the run either way). */
  readonly writer?: ChangeWriter;
  readonly service: string;
  readonly hosts: number;
  readonly ratePerSecond: number;
  readonly window: ChangeWindow;
  /** TLS and a token of the driver, as the nodes require them; none by default. */
  readonly security?: SecurityOptions;
}

/** Load processes opened together: `subscribers` split over `procs` processes of `script`. */
export interface LoadGroup<Config extends PushLoadConfig> {
  readonly procs: number;
  readonly subscribers: number;
  readonly script: URL;
  /** Process `p`'s name in errors. */
  readonly name: (p: number) => string;
  /** Extra Node flags of every process (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** The node they subscribe at. */
  readonly at: RunNode;
  /** Process `p`'s address to subscribe at, when not `at`'s (push-latency's `--push-workers`). */
  readonly addressOf?: (p: number) => string;
  /** The rest of each process's configuration (client kind, …). */
  readonly extra: Omit<Config, keyof PushLoadConfig>;
  readonly openBatch: number;
}

export interface MeasuredChanges {
  readonly measured: DriveResult;
  /** Over the measured changes: each node, each load process (in opening order), this process. */
  readonly nodes: readonly UsageDelta[];
  readonly loads: readonly UsageDelta[];
  readonly driver: UsageDelta;
  readonly otherCpuPercent: number;
}

/** |Clock offset| between this process and one load process, ms, from the probe with the shortest round trip. */
export async function clockOffsetMs(load: { usage(): Promise<{ atMs: number }> }, probes = 15): Promise<number> {
  // That probe's midpoint is closest to the moment the other side read its clock.
  let best = { offsetMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < probes; i++) {
    const sent = wallNowMs();
    const theirs = (await load.usage()).atMs;
    const back = wallNowMs();
    if (back - sent < best.rttMs) best = { offsetMs: theirs - (sent + back) / 2, rttMs: back - sent };
  }
  return Math.abs(best.offsetMs);
}

export class ChangeRun {
  private readonly loads: { exit(): Promise<void>; usage(): Promise<ProcessUsage> }[] = [];
  private warm: DriveResult | undefined;
  private measured: DriveResult | undefined;

  private constructor(
    private readonly o: ChangeRunOptions,
    readonly driver: ChangeWriter,
  ) {}

  /** Opens the driver and registers the service on `writeTo`; on failure stops the nodes. */
  static async start(o: ChangeRunOptions): Promise<ChangeRun> {
    const run = new ChangeRun(o, o.writer ?? transportWriter(separateTransport(o.writeTo.address, undefined, o.security)));
    try {
      await run.driver.prepare(o.service, o.hosts);
      return run;
    } catch (e) {
      await run.close();
      throw e;
    }
  }

  get window(): ChangeWindow {
    return this.o.window;
  }

  /** Spawns a group of load processes and opens their subscribers; resolves with the handles and the slowest opening time. */
  async openLoads<Config extends PushLoadConfig, Result extends TallyResult>(
    g: LoadGroup<Config>,
  ): Promise<{ handles: ChildHandle<PushLoadCommands<Config, Result>>[]; openMs: number }> {
    const handles = await Promise.all(
      Array.from({ length: g.procs }, (_, p) =>
        ChildHandle.spawn<PushLoadCommands<Config, Result>>({ name: g.name(p), script: g.script, ...(g.nodeArgs === undefined ? {} : { nodeArgs: g.nodeArgs }) }),
      ),
    );
    this.loads.push(...handles);
    const { window } = this.o;
    const opened = await Promise.all(
      handles.map((h, p) => {
        // The one unchecked step: the common fields plus the group's own make its Config.
        const config = {
          address: g.addressOf?.(p) ?? g.at.address,
          service: this.o.service,
          subscribers: Math.floor(g.subscribers / g.procs) + (p < g.subscribers % g.procs ? 1 : 0),
          taggedInstanceId: derivedInstanceId(this.o.service, TAGGED_INDEX),
          firstMeasured: window.firstMeasured,
          lastMeasured: window.lastMeasured,
          openBatch: g.openBatch,
          ...g.extra,
        } as Config;
        return h.request('open', config);
      }),
    );
    return { handles, openMs: Math.max(...opened.map((o) => o.openMs)) };
  }

  /** Largest |clock offset| between this process and any load process, ms (± half a probe's round trip). */
  async maxClockOffsetMs(): Promise<number> {
    const offsets: number[] = [];
    for (const load of this.loads) offsets.push(await clockOffsetMs(load));
    return Math.max(...offsets);
  }

  async warmUp(): Promise<DriveResult> {
    this.warm = await this.drive(1, this.o.window.warmupChanges);
    return this.warm;
  }

  /** Drives the measured changes, measuring the CPU of every node, load process and this one. */
  async measure(cores: number): Promise<MeasuredChanges> {
    const { firstMeasured, lastMeasured } = this.o.window;
    const phase = await measurePhase([...this.o.nodes, ...this.loads], cores, () => this.drive(firstMeasured, lastMeasured));
    this.measured = phase.result;
    const n = this.o.nodes.length;
    return { measured: phase.result, nodes: phase.usage.slice(0, n), loads: phase.usage.slice(n), driver: phase.self, otherCpuPercent: phase.otherCpuPercent };
  }

  /** Each load's tally once it has seen the last measured change (or after `timeoutMs`). */
  collect<Config extends PushLoadConfig, Result extends TallyResult>(loads: readonly ChildHandle<PushLoadCommands<Config, Result>>[], timeoutMs: number): Promise<Result[]> {
    return Promise.all(loads.map((l) => l.request('collect', { untilSeq: this.o.window.lastMeasured, timeoutMs })));
  }

  /** The driver's figures over the run (and its first error on stderr). */
  driverFigures(): { driverLatenessP99Ms: number; driverAckP99Ms: number; driverErrors: number } {
    const measured = this.measured;
    if (measured === undefined) throw new Error('nothing measured');
    const warmErrors = this.warm?.errors ?? 0;
    const firstError = this.warm?.firstError ?? measured.firstError;
    if (firstError !== undefined) console.error(`driver error: ${firstError}`);
    return { driverLatenessP99Ms: summarize(measured.latenessMs).p99, driverAckP99Ms: summarize(measured.ackMs).p99, driverErrors: warmErrors + measured.errors };
  }

  /** Issue time of measured change `seq` (NaN outside the measured changes). */
  issuedAtMs(seq: number): number {
    return this.measured?.issuedAtMs[seq - this.o.window.firstMeasured] ?? Number.NaN;
  }

  /** Ends the load processes, closes the driver, stops every node. */
  async close(): Promise<void> {
    await Promise.all(this.loads.map((l) => l.exit()));
    this.driver.close();
    await Promise.all(this.o.nodes.map((n) => n.stop()));
  }

  private drive(fromSeq: number, toSeq: number): Promise<DriveResult> {
    return driveChanges({ writer: this.driver, service: this.o.service, ratePerSecond: this.o.ratePerSecond, fromSeq, toSeq });
  }
}
