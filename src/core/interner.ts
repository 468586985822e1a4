/**
 * Sharing what many records repeat. A registration decoded from the wire brings its own copy of
 * every string and map; shared, 100,000 instances of 100 services with the same three metadata
 * entries hold 100 frozen maps instead of 100,000 maps and 300,000 strings. Sharing never changes
 * a value, only which equal copy is kept, so it is invisible to callers. Pure.
 *
 * - Strings with few distinct values across the registry (cluster names) go through one bounded
 *   table (`Interner`): at most INTERN_TABLE_SIZE entries; a full table is emptied and starts
 *   again (the strings records hold stay valid).
 * - Metadata maps are shared within a service (`MetadataShelf`, one per service): a registration
 *   takes an equal map among the last few registered there, or leaves its own. Nothing global
 *   grows, and metadata unique to each registration (a per-instance value, a sequence number)
 *   costs one comparison per shelved map, not a table that fills up and is thrown away.
 */
import type { InstanceRecord } from './model.js';

type Metadata = InstanceRecord['metadata'];

/** Entries in the string table before it is emptied and starts again. */
export const INTERN_TABLE_SIZE = 4096;

/** Longer strings are not interned: unlikely to repeat, and costly to keep in the table. */
export const MAX_INTERNED_LENGTH = 128;

/** Metadata maps a service keeps for later registrations to share (the most recent ones). */
export const SHELVED_METADATA_PER_SERVICE = 4;

/** The frozen empty metadata map every record without metadata shares. */
export const EMPTY_METADATA: Metadata = Object.freeze({});

/** One registry's table of strings with few distinct values. */
export class Interner {
  private strings = new Map<string, string>();

  /** The table's copy of `s` (the first seen), or `s` itself when it is too long to intern. */
  string(s: string): string {
    if (s.length > MAX_INTERNED_LENGTH) return s;
    const held = this.strings.get(s);
    if (held !== undefined) return held;
    if (this.strings.size >= INTERN_TABLE_SIZE) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }
}

/** True when two metadata maps have the same entries, in any order. Allocates nothing. */
export function sameEntries(a: Metadata, b: Metadata): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || a[k] !== b[k]) return false;
    n++;
  }
  for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k)) n--;
  return n === 0;
}

/** The metadata maps recently registered in one service, for later registrations to share. */
export class MetadataShelf {
  private readonly maps: Metadata[] = [];

  /**
   * A frozen map with the same entries as `m` (a frozen map itself): one already on the shelf
   * (its entries in the order they were first registered), or `m`, which then takes the place
   * of the least recently shelved.
   */
  share(m: Metadata): Metadata {
    let empty = true;
    for (const _ in m) {
      empty = false;
      break;
    }
    if (empty) return EMPTY_METADATA;
    for (const held of this.maps) if (sameEntries(held, m)) return held;
    if (this.maps.length >= SHELVED_METADATA_PER_SERVICE) this.maps.pop();
    this.maps.unshift(m);
    return m;
  }
}
