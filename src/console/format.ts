/** How numbers, times and shares read on the page. */

/** A duration in ms as "42s", "5m 3s", "2h 10m", "3d 4h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** "n ago" for a server time, given the server's clock now. */
export function ago(at: number, now: number): string {
  return at <= 0 ? 'never' : `${duration(now - at)} ago`;
}

/** A share as a whole percentage ("–" for nothing out of nothing). */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${Math.round((part / whole) * 100)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Metadata as `k=v, k=v`. */
export function metadata(m: Readonly<Record<string, string>>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
