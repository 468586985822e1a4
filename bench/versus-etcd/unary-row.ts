/**
 * The registration and renewal rows on one system, on a fresh server: `inFlight` operations in a
 * closed loop over `connections` clients in this process (each client its own connection), first
 * registering new instances (herald: Register; etcd: LeaseGrant then Put, each instance on a lease
 * of its own), then renewing the instances registered (herald: Renew, or KeepAlive requests on one
 * stream per client; etcd: LeaseKeepAlive requests on one stream per client). Client CPU is this
 * process's CPU over the phase; it runs nothing else meanwhile.
 */
import { runClosedLoop, type ClosedLoopResult } from '../lib/closed-loop.js';
import { measurePhase } from '../lib/machine-load.js';
import { summarize } from '../lib/stats.js';
import { spread } from '../lib/workload.js';
import { at, type Lease, type RegistryClient, type System, type SystemServer } from './systems.js';

export interface UnarySettings {
  readonly inFlight: number;
  readonly connections: number;
  readonly services: number;
  readonly warmupS: number;
  readonly registerS: number;
  readonly renewS: number;
  readonly cores: number;
}

export type UnaryFigures = {
  readonly registrationsPerSecond: number;
  readonly registerP99Ms: number;
  readonly clientCpuPerRegisterUs: number;
  readonly serverCpuPerRegisterUs: number;
  readonly renewsPerSecond: number;
  readonly renewP99Ms: number;
  readonly clientCpuPerRenewUs: number;
  readonly serverCpuPerRenewUs: number;
  readonly clientCpuPercentRenew: number;
  readonly serverCpuPercentRenew: number;
  readonly errors: number;
  readonly otherCpuPercent: number;
};

interface Phase {
  readonly perSecond: number;
  readonly p99Ms: number;
  readonly clientCpuPerCallUs: number;
  readonly serverCpuPerCallUs: number;
  readonly clientCpuPercent: number;
  readonly serverCpuPercent: number;
  readonly errors: number;
  readonly otherCpuPercent: number;
}

async function measure(server: SystemServer, cores: number, what: string, loop: () => Promise<ClosedLoopResult>): Promise<Phase> {
  const {
    result: r,
    usage: [serverUsage],
    self,
    otherCpuPercent,
  } = await measurePhase([server], cores, loop);
  if (r.firstError !== undefined) console.error(`${what}: ${r.errors} call(s) failed, first: ${r.firstError}`);
  if (r.completed === 0) throw new Error(`${what}: no call succeeded (${r.firstError ?? 'no error'})`);
  return {
    perSecond: (r.completed / r.elapsedMs) * 1000,
    p99Ms: summarize(r.latenciesMs).p99,
    clientCpuPerCallUs: self.cpuUs / r.completed,
    serverCpuPerCallUs: serverUsage.cpuUs / r.completed,
    clientCpuPercent: self.cpuPercent,
    serverCpuPercent: serverUsage.cpuPercent,
    errors: r.errors,
    otherCpuPercent,
  };
}

export async function unaryRow(system: System, s: UnarySettings): Promise<UnaryFigures> {
  const server = await system.start();
  const clients: RegistryClient[] = Array.from({ length: s.connections }, () => system.client(server.address));
  const on = (i: number): RegistryClient => at(clients, i);
  const leases: Lease[] = [];
  const register = (durationMs: number): Promise<ClosedLoopResult> => {
    const base = leases.length;
    return runClosedLoop({
      inFlight: s.inFlight,
      durationMs,
      op: async (i) => {
        const { service, index } = spread(base + i, s.services);
        leases.push(await on(i).register(service, index));
      },
    });
  };
  const renew = (durationMs: number): Promise<ClosedLoopResult> => {
    const population = leases.length;
    return runClosedLoop({ inFlight: s.inFlight, durationMs, op: (i) => on(i).renew(at(leases, i % population)) });
  };
  try {
    await register(s.warmupS * 1000);
    const reg = await measure(server, s.cores, `${system.name} register`, () => register(s.registerS * 1000));
    await renew(s.warmupS * 1000);
    const ren = await measure(server, s.cores, `${system.name} renew`, () => renew(s.renewS * 1000));
    return {
      registrationsPerSecond: reg.perSecond,
      registerP99Ms: reg.p99Ms,
      clientCpuPerRegisterUs: reg.clientCpuPerCallUs,
      serverCpuPerRegisterUs: reg.serverCpuPerCallUs,
      renewsPerSecond: ren.perSecond,
      renewP99Ms: ren.p99Ms,
      clientCpuPerRenewUs: ren.clientCpuPerCallUs,
      serverCpuPerRenewUs: ren.serverCpuPerCallUs,
      clientCpuPercentRenew: ren.clientCpuPercent,
      serverCpuPercentRenew: ren.serverCpuPercent,
      errors: reg.errors + ren.errors,
      otherCpuPercent: Math.max(reg.otherCpuPercent, ren.otherCpuPercent),
    };
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}
