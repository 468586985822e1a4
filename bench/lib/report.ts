/**
 * What every benchmark prints and saves: the machine, the settings, a results table with targets,
 * and bench/results/<name>.json with the same data plus the raw per-run numbers.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { codeRevision, revisionText } from './code-revision.js';
import { machineInfo, machineLine, type MachineInfo } from './machine.js';
import { formatNumber, formatTable, type Cell } from './table.js';

/** One target of a benchmark and how the measured value compares with it. */
export interface TargetCheck {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The bound; `value` passes when it is at most (`max`) or at least (`min`) this. */
  readonly bound: number;
  readonly kind: 'max' | 'min';
}

export function passes(check: TargetCheck): boolean {
  return check.kind === 'max' ? check.value <= check.bound : check.value >= check.bound;
}

/** `p99 ≤ 25 ms` style text for a check's target. */
export function targetText(check: TargetCheck): string {
  return `${check.kind === 'max' ? '≤' : '≥'} ${formatNumber(check.bound)} ${check.unit}`;
}

export function verdict(check: TargetCheck): string {
  if (passes(check)) return 'pass';
  const ratio = check.kind === 'max' ? check.value / check.bound : check.bound / check.value;
  return `MISS (${ratio.toFixed(1)}x)`;
}

/** Prints the machine, the code revision and the settings; returns the machine for the JSON. */
export function printHeader(title: string, settings: Readonly<Record<string, unknown>>): MachineInfo {
  const machine = machineInfo();
  console.log(`\n# ${title}\n`);
  console.log(`machine:  ${machineLine(machine)}`);
  console.log(`code:     ${revisionText(codeRevision())}`);
  console.log(`settings: ${Object.entries(settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`);
  return machine;
}

export function printTable(caption: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  console.log(`${caption}\n\n${formatTable(headers, rows)}\n`);
}

export function printChecks(checks: readonly TargetCheck[]): void {
  printTable(
    'Targets (medians across runs):',
    ['metric', 'measured', 'target', 'result'],
    checks.map((c) => [c.metric, `${formatNumber(c.value)} ${c.unit}`, targetText(c), verdict(c)]),
  );
}

/** Writes bench/results/<name>.json and returns its path. */
export async function writeResults(name: string, data: Readonly<Record<string, unknown>>): Promise<string> {
  const dir = new URL('../results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  await writeFile(file, `${JSON.stringify({ benchmark: name, finishedAt: new Date().toISOString(), code: codeRevision(), ...data }, null, 2)}\n`);
  return file.pathname;
}
