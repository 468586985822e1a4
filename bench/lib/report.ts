/**
 * What every benchmark prints and saves: the machine, the code revision and the settings; tables
 * (Markdown pipe tables, numbers right-aligned) with targets where there are any; and
 * bench/results/<name>.json with the same data plus the raw per-run numbers. CPU profiles go to
 * bench/results/profiles/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { codeRevision, machineInfo, machineLine, revisionText, type MachineInfo } from './machine.js';

export type Cell = string | number;

/** Three significant digits below 100, integers with thousands separators above; "-" for NaN. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return '-';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const abs = Math.abs(n);
  if (abs >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** `n.toFixed(digits)`, or "-" for NaN (a number nobody recorded). */
export function fixed(n: number, digits: number): string {
  return Number.isNaN(n) ? '-' : n.toFixed(digits);
}

/** A Markdown pipe table, columns padded so it also reads well as plain text. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = headers.map((h, c) => Math.max(h.length, ...cells.map((r) => (r[c] ?? '').length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((v, c) => (numeric[c] === true ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (numeric[c] === true ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}

export function printTable(caption: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  console.log(`${caption}\n\n${formatTable(headers, rows)}\n`);
}

/** A table column: its header and how a row fills it. */
export type Column<R> = readonly [header: string, value: (row: R) => Cell];

/** A table of `rows`, one row each, with `columns`. */
export function printRows<R>(caption: string, rows: readonly R[], columns: readonly Column<R>[]): void {
  printTable(
    caption,
    columns.map(([h]) => h),
    rows.map((r) => columns.map(([, value]) => value(r))),
  );
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

/** `≤ 25 ms` style text for a check's target. */
export function targetText(check: TargetCheck): string {
  return `${check.kind === 'max' ? '≤' : '≥'} ${formatNumber(check.bound)} ${check.unit}`;
}

export function verdict(check: TargetCheck): string {
  if (passes(check)) return 'pass';
  const ratio = check.kind === 'max' ? check.value / check.bound : check.bound / check.value;
  return `MISS (${ratio.toFixed(1)}x)`;
}

export function printChecks(checks: readonly TargetCheck[]): void {
  printRows('Targets (medians across runs):', checks, [
    ['metric', (c) => c.metric],
    ['measured', (c) => `${formatNumber(c.value)} ${c.unit}`],
    ['target', targetText],
    ['result', verdict],
  ]);
}

const RESULTS = new URL('../results/', import.meta.url);

/** Writes bench/results/<name>.json and returns its path. */
export async function writeResults(name: string, data: Readonly<Record<string, unknown>>): Promise<string> {
  await mkdir(RESULTS, { recursive: true });
  const file = new URL(`${name}.json`, RESULTS);
  await writeFile(file, `${JSON.stringify({ benchmark: name, finishedAt: new Date().toISOString(), code: codeRevision(), ...data }, null, 2)}\n`);
  return file.pathname;
}

/** bench/results/profiles/ (created) when `on`, for `node --cpu-prof-dir`; else undefined. */
export async function profileDir(on: boolean): Promise<string | undefined> {
  if (!on) return undefined;
  const dir = fileURLToPath(new URL('profiles/', RESULTS));
  await mkdir(dir, { recursive: true });
  return dir;
}
