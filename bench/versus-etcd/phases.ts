/**
 * The phases a round is made of, from the rows asked for (--rows): each push scenario, the
 * freshness scenario, registrations and renewals (one phase: renewals need the instances
 * registered), memory and GetService. A phase runs on one system at a time, each time on a fresh
 * server, and says in one line what it measured.
 */
import type { Scenario } from '../lib/flags.js';
import { getServiceRow, type GetServiceSettings } from './get-service-row.js';
import { memoryRow, type MemorySettings } from './memory-row.js';
import { pushRow, type PushSettings } from './push-row.js';
import type { System } from './systems.js';
import { unaryRow, type UnarySettings } from './unary-row.js';

export const ROWS = ['push', 'freshness', 'renew', 'register', 'memory', 'get-service'] as const;
export type RowName = (typeof ROWS)[number];

/** The named figures of one phase on one system (each row's figures type). */
export type Figures = Readonly<Record<string, number>> & { readonly otherCpuPercent: number };

export type PhaseKind = 'push' | 'freshness' | 'unary' | 'memory' | 'get-service';

export interface Phase {
  /** `push-1000@10`, `unary`, … */
  readonly id: string;
  readonly kind: PhaseKind;
  /** For push phases: the scenario. */
  readonly scenario?: Scenario<'subscribers'>;
  /** The size of a memory or GetService phase, for the table (`100,000 instances`). */
  readonly detail?: string;
  run(system: System): Promise<Figures>;
  /** What one run measured, for the run's line. */
  line(f: Figures): string;
}

export interface PhaseSettings {
  readonly push: Omit<PushSettings, 'subscribers' | 'ratePerSecond'>;
  readonly pushScenarios: readonly Scenario<'subscribers'>[];
  readonly freshnessScenario: Scenario<'subscribers'>;
  readonly unary: UnarySettings;
  readonly memory: MemorySettings;
  readonly getService: GetServiceSettings;
}

const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));
const f0 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(0));

function pushPhase(kind: 'push' | 'freshness', scenario: Scenario<'subscribers'>, s: PhaseSettings): Phase {
  return {
    id: `${kind}-${scenario.subscribers}@${scenario.ratePerSecond}`,
    kind,
    scenario,
    run: (system) => pushRow(system, { ...s.push, subscribers: scenario.subscribers, ratePerSecond: scenario.ratePerSecond }),
    line: (f) =>
      `p50 ${f1(f.p50Ms)} / p99 ${f1(f.p99Ms)} ms, freshness p99 ${f1(f.freshnessP99Ms)} ms, received ${f1(f.receivedPercent)} %, ` +
      `server CPU ${f0(f.serverCpuPercent)} %, subscribers ${f0(f.subscriberCpuPercent)} % (${f1(f.subscriberCpuPerMessageUs)} µs/msg), ` +
      `server RSS ${f0(f.serverRssBeforeMiB)} → ${f0(f.serverRssAfterMiB)} MiB, errors ${f0((f.streamErrors ?? 0) + (f.driverErrors ?? 0))}`,
  };
}

export function phasesFor(rows: readonly RowName[], s: PhaseSettings): Phase[] {
  const phases: Phase[] = [];
  if (rows.includes('push')) for (const scenario of s.pushScenarios) phases.push(pushPhase('push', scenario, s));
  if (rows.includes('freshness')) phases.push(pushPhase('freshness', s.freshnessScenario, s));
  if (rows.includes('register') || rows.includes('renew')) {
    phases.push({
      id: 'unary',
      kind: 'unary',
      run: (system) => unaryRow(system, s.unary),
      line: (f) =>
        `register ${f0(f.registrationsPerSecond)}/s (client ${f0(f.clientCpuPerRegisterUs)} µs, server ${f0(f.serverCpuPerRegisterUs)} µs each), ` +
        `renew ${f0(f.renewsPerSecond)}/s (client ${f0(f.clientCpuPerRenewUs)} µs, server ${f0(f.serverCpuPerRenewUs)} µs each), errors ${f0(f.errors)}`,
    });
  }
  if (rows.includes('memory')) {
    phases.push({
      id: 'memory',
      kind: 'memory',
      detail: `${s.memory.instances.toLocaleString('en-US')} instances over ${s.memory.services} services`,
      run: (system) => memoryRow(system, s.memory),
      line: (f) =>
        `RSS ${f0(f.rssBeforeMiB)} → ${f0(f.rssAfterMiB)} MiB, ${f0(f.rssPerInstanceBytes)} B per instance (heap ${f0(f.heapUsedPerInstanceBytes)} B, anon ${f0(f.anonPerInstanceBytes)} B, file ${f0(f.filePerInstanceBytes)} B), ` +
        `${f0(f.registrationsPerSecond)} registrations/s, errors ${f0(f.errors)}`,
    });
  }
  if (rows.includes('get-service')) {
    phases.push({
      id: 'get-service',
      kind: 'get-service',
      detail: `${s.getService.instances.toLocaleString('en-US')} instances ×${s.getService.calls}`,
      run: (system) => getServiceRow(system, s.getService),
      line: (f) => `p50 ${f1(f.p50Ms)} / p99 ${f1(f.p99Ms)} ms, client ${f0(f.clientCpuPerCallUs)} µs, server ${f0(f.serverCpuPerCallUs)} µs per call, errors ${f0(f.errors)}`,
    });
  }
  return phases;
}
