/** Number-valued command-line flags (the benchmarks parse flags with node:util parseArgs, strict). */

/** A positive number flag, or `fallback` when absent. */
export function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${value})`);
  return n;
}

/** A positive integer flag, or `fallback` when absent. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  const n = numberFlag(name, value, fallback);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer (got ${String(value)})`);
  return n;
}
