/**
 * CPU of the processes of one phase and of the rest of the machine: the machine is shared, so every
 * phase reports how busy it was and how much of that was not ours (bench/lib/machine-load.ts).
 */
import os from 'node:os';
import { machineBusyPercent, sampleMachineCpu, type MachineCpu } from '../lib/machine-load.js';
import { sampleUsage, usageDelta, type ProcessUsage } from '../lib/process-usage.js';

/** Samples one process's usage (the server, a load process). */
export type Sampled = () => Promise<ProcessUsage>;

export interface PhaseLoad {
  readonly wallS: number;
  /** Whole machine busy, % of one core (200 = both cores). */
  readonly machinePercent: number;
  readonly serverCpuPercent: number;
  readonly serverEventLoopUtilization: number;
  readonly serverGcMaxPauseMs: number;
  /** NaN when a load process was killed or frozen during the phase. */
  readonly loadCpuPercent: number;
  /** This (driver) process. */
  readonly benchCpuPercent: number;
  /** Machine minus server, load processes and this one: other engineers' work. */
  readonly otherCpuPercent: number;
  readonly loadAverage1m: number;
}

/** A load process that was SIGKILLed or is SIGSTOPped never answers: give up after this long. */
const USAGE_TIMEOUT_MS = 2_000;

function orNothing<T>(p: Promise<T>): Promise<T | undefined> {
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((resolve) => setTimeout(() => { resolve(undefined); }, USAGE_TIMEOUT_MS).unref())]);
}

export class PhaseMeter {
  private constructor(
    private readonly server: Sampled,
    private readonly loads: readonly Sampled[],
    private readonly machine: MachineCpu | undefined,
    private readonly serverUsage: ProcessUsage,
    private readonly loadUsages: readonly (ProcessUsage | undefined)[],
    private readonly self: ProcessUsage,
  ) {}

  static async start(server: Sampled, loads: readonly Sampled[]): Promise<PhaseMeter> {
    const [serverUsage, ...loadUsages] = await Promise.all([server(), ...loads.map((l) => orNothing(l()))]);
    return new PhaseMeter(server, loads, sampleMachineCpu(), serverUsage, loadUsages, sampleUsage());
  }

  async end(): Promise<PhaseLoad> {
    const [serverUsage, ...loadUsages] = await Promise.all([this.server(), ...this.loads.map((l) => orNothing(l()))]);
    const machine = machineBusyPercent(this.machine, sampleMachineCpu(), os.availableParallelism());
    const server = usageDelta(this.serverUsage, serverUsage);
    // NaN when a load process could not say (killed or frozen meanwhile).
    let load = 0;
    for (let i = 0; i < this.loads.length; i++) {
      const a = this.loadUsages[i];
      const b = loadUsages[i];
      load += a !== undefined && b !== undefined ? usageDelta(a, b).cpuPercent : Number.NaN;
    }
    const self = usageDelta(this.self, sampleUsage());
    return {
      wallS: server.wallMs / 1000,
      machinePercent: machine,
      serverCpuPercent: server.cpuPercent,
      serverEventLoopUtilization: server.eventLoopUtilization,
      serverGcMaxPauseMs: server.gcMaxPauseMs,
      loadCpuPercent: load,
      benchCpuPercent: self.cpuPercent,
      otherCpuPercent: Math.max(0, machine - server.cpuPercent - (Number.isNaN(load) ? 0 : load) - self.cpuPercent),
      loadAverage1m: os.loadavg()[0] ?? Number.NaN,
    };
  }
}
