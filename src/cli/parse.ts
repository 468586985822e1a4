/** Parsers for command-line values; each throws commander's InvalidArgumentError with the reason. */
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    return n;
  };
}

export function onOff(value: string): boolean {
  const v = value.toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  throw new InvalidArgumentError('must be on or off');
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

function isAddress(value: string): boolean {
  const m = /^(\[[^\]]+\]|[^:\s,]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  return m !== null && port >= 1 && port <= 65_535;
}

/** One or more `host:port` (or `[v6]:port`), comma-separated. */
export function addresses(value: string): string[] {
  const list = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (list.length === 0 || !list.every(isAddress)) throw new InvalidArgumentError('must be host:port, or several separated by commas');
  return list;
}

/** Accumulates repeated `--metadata k=v` into a record. */
export function metadataEntry(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('must be key=value');
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}

/** Accumulates a repeatable option into a list. */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}
