/**
 * Write versions: the order of client-originated changes to one instance across the cluster.
 *
 * A version is a hybrid logical clock value in the same units as service revisions: milliseconds
 * since the epoch × 1000 plus a counter, so `max(last + 1, now × 1000)`. A node's clock moves past
 * every version it has seen (its own and its peers'), so a change made on a node that already holds
 * version v of an instance always gets a version above v, whatever the nodes' wall clocks say; two
 * changes made on different nodes without either seeing the other are ordered by their wall
 * clocks. Values stay below 2^53 (until the year 2255), so they travel as JSON numbers and int64s.
 */
export class VersionClock {
  private last = 0;

  /** A new version, above every version issued or observed so far. */
  next(nowMs: number): number {
    const v = Math.max(this.last + 1, Math.floor(nowMs) * 1000);
    this.last = v;
    return v;
  }

  /** Moves the clock past a version seen from elsewhere (a peer's write). */
  observe(version: number): void {
    if (version > this.last) this.last = version;
  }

  /** The highest version issued or observed. */
  get current(): number {
    return this.last;
  }
}

/** The wall-clock time (ms) a version was issued at, give or take the counter. */
export function versionTimeMs(version: number): number {
  return Math.floor(version / 1000);
}

/** True when a version claims a time more than `maxSkewMs` ahead of `nowMs` (a peer's broken clock). */
export function isVersionAhead(version: number, nowMs: number, maxSkewMs: number): boolean {
  return versionTimeMs(version) > nowMs + maxSkewMs;
}
