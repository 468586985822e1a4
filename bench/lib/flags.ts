/**
 * A benchmark's command line: each flag is declared once, with its meaning and its defaults (full
 * run and --quick), and that one declaration parses the flag (node:util parseArgs, strict) and
 * writes the `--help` text. Keys are camelCase; the flag is their kebab-case (`warmupS` is
 * `--warmup-s`). `--help` (and `-h`) is always there, `--quick` wherever the command declares it.
 */
import { parseArgs } from 'node:util';

/** One flag: how it reads its value (`raw` is undefined when absent) and how --help shows it. */
export interface Flag<T> {
  readonly kind: 'string' | 'boolean';
  /** What --help shows after the flag's name, e.g. `<n>`; nothing for a boolean. */
  readonly arg: string;
  readonly help: string;
  /** The default as --help states it ("" for none). */
  readonly defaultText: string;
  read(raw: string | boolean | undefined, quick: boolean, name: string): T;
}

export type FlagSpec = Readonly<Record<string, Flag<unknown>>>;

export type FlagValues<S extends FlagSpec> = { readonly [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

export interface Command {
  /** `bench/push-latency.ts`. */
  readonly script: string;
  /** What it measures and writes, a paragraph (wrapped as written). */
  readonly about: string;
  /** --help text of --quick; without it the command takes no --quick. */
  readonly quick?: string;
  /** Positional arguments, e.g. `<file.cpuprofile>...`; without it none are allowed. */
  readonly positionals?: string;
}

export interface Parsed<S extends FlagSpec> {
  readonly flags: FlagValues<S> & { readonly quick: boolean };
  readonly positionals: readonly string[];
}

interface Bounds {
  /** Allow 0 (default: the value must be positive). */
  readonly zero?: boolean;
}

function defaults(full: number, quick: number | undefined): string {
  return quick === undefined || quick === full ? String(full) : `${full}; ${quick} with --quick`;
}

function toNumber(name: string, raw: string, bounds: Bounds): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && bounds.zero !== true)) {
    throw new Error(`--${name} must be a ${bounds.zero === true ? 'non-negative' : 'positive'} number (got ${raw})`);
  }
  return n;
}

function toInt(name: string, raw: string, bounds: Bounds): number {
  const n = toNumber(name, raw, bounds);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer (got ${raw})`);
  return n;
}

function stringFlag<T>(arg: string, help: string, defaultText: string, read: (raw: string | undefined, quick: boolean, name: string) => T): Flag<T> {
  return {
    kind: 'string',
    arg,
    help,
    defaultText,
    read: (raw, quick, name) => read(typeof raw === 'string' ? raw : undefined, quick, name),
  };
}

/** A number, `full` by default (`quick` with --quick). */
export function num(help: string, full: number, quick?: number, bounds: Bounds = {}): Flag<number> {
  return stringFlag('<n>', help, defaults(full, quick), (raw, q, name) => (raw === undefined ? (q ? (quick ?? full) : full) : toNumber(name, raw, bounds)));
}

/** An integer, `full` by default (`quick` with --quick). */
export function int(help: string, full: number, quick?: number, bounds: Bounds = {}): Flag<number> {
  return stringFlag('<n>', help, defaults(full, quick), (raw, q, name) => (raw === undefined ? (q ? (quick ?? full) : full) : toInt(name, raw, bounds)));
}

/** An integer with no default (undefined when absent). */
export function optionalInt(help: string, defaultText: string): Flag<number | undefined> {
  return stringFlag('<n>', help, defaultText, (raw, _q, name) => (raw === undefined ? undefined : toInt(name, raw, {})));
}

/** A share between 0 and 1. */
export function share(help: string, full: number): Flag<number> {
  return stringFlag('<0..1>', help, String(full), (raw, _q, name) => {
    if (raw === undefined) return full;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--${name} must be between 0 and 1 (got ${raw})`);
    return n;
  });
}

/** One of `choices`. */
export function choice<const C extends string>(help: string, choices: readonly C[], full: C): Flag<C> {
  return stringFlag(`<${choices.join('|')}>`, help, full, (raw, _q, name) => {
    const v = raw ?? full;
    const found = choices.find((c) => c === v);
    if (found === undefined) throw new Error(`--${name} must be one of ${choices.join(', ')} (got ${v})`);
    return found;
  });
}

/** A list of numbers, comma-separated. */
export function numberList(help: string, full: readonly number[]): Flag<number[]> {
  return stringFlag('<list>', help, full.join(','), (raw, _q, name) => (raw === undefined ? [...full] : raw.split(',').map((r) => toNumber(name, r.trim(), {}))));
}

/** A scenario: `count` members (subscribers, targets) and a change rate, written `COUNT@RATE`. */
export type Scenario<K extends string> = { readonly [P in K]: number } & { readonly ratePerSecond: number };

/** A comma-separated list of scenarios, e.g. `100@10,1000@10` (`member` names the count: subscribers, targets). */
export function scenarios<K extends string>(help: string, full: string, member: K): Flag<Scenario<K>[]> {
  return stringFlag('<list>', help, full, (raw, _q, name) =>
    (raw ?? full).split(',').map((part) => {
      const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(part.trim());
      if (m === null) throw new Error(`--${name}: "${part}" is not ${member.toUpperCase()}@RATE (e.g. 1000@10)`);
      // One key named by the caller, so the object's type is asserted rather than built.
      return { [member]: Number(m[1]), ratePerSecond: Number(m[2]) } as Scenario<K>;
    }),
  );
}

/** Free text read by `parse` (given `full` when absent). */
export function text<T>(arg: string, help: string, full: string, parse: (value: string, name: string) => T): Flag<T> {
  return stringFlag(arg, help, full, (raw, _q, name) => parse(raw ?? full, name));
}

/** On when given. */
export function bool(help: string): Flag<boolean> {
  return { kind: 'boolean', arg: '', help, defaultText: '', read: (raw) => raw === true };
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The --help text of a command. */
export function helpText(command: Command, spec: FlagSpec): string {
  const lines: [string, string][] = Object.entries(spec).map(([key, f]) => [
    `--${kebab(key)}${f.arg === '' ? '' : ` ${f.arg}`}`,
    f.defaultText === '' ? f.help : `${f.help} (default ${f.defaultText})`,
  ]);
  if (command.quick !== undefined) lines.push(['--quick', command.quick]);
  lines.push(['-h, --help', 'this text']);
  const width = Math.max(...lines.map(([l]) => l.length)) + 2;
  const usage = `Usage: npx tsx ${command.script}${command.positionals === undefined ? '' : ` ${command.positionals}`} [options]`;
  return `${usage}\n\n${command.about.trim()}\n\nOptions:\n${lines.map(([l, h]) => `  ${l.padEnd(width)}${h}`).join('\n')}\n`;
}

/**
 * Parses the command line. On --help prints the help and exits 0; on an unknown or bad flag prints
 * what is wrong and exits 2.
 */
export function parseFlags<S extends FlagSpec>(command: Command, spec: S, args: readonly string[] = process.argv.slice(2)): Parsed<S> {
  try {
    return parse(command, spec, args);
  } catch (e) {
    console.error(`${command.script}: ${e instanceof Error ? e.message : String(e)} (--help lists the options)`);
    process.exit(2);
  }
}

function parse<S extends FlagSpec>(command: Command, spec: S, args: readonly string[]): Parsed<S> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  if (command.quick !== undefined) options.quick = { type: 'boolean' };
  for (const [key, f] of Object.entries(spec)) options[kebab(key)] = { type: f.kind };
  const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: command.positionals !== undefined });
  if (values.help === true) {
    process.stdout.write(helpText(command, spec));
    process.exit(0);
  }
  const quick = values.quick === true;
  const flags: Record<string, unknown> = { quick };
  for (const [key, f] of Object.entries(spec)) flags[key] = f.read(values[kebab(key)], quick, kebab(key));
  // The one unchecked step: each key was read by its own flag, whose type FlagValues states.
  return { flags: flags as FlagValues<S> & { readonly quick: boolean }, positionals };
}

/** A positive number flag, or `fallback` when absent (for benchmarks that parse flags themselves). */
export function numberFlag(name: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : toNumber(name, value, {});
}

/** A positive integer flag, or `fallback` when absent (for benchmarks that parse flags themselves). */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : toInt(name, value, {});
}
