/**
 * Interning of what many records repeat: cluster names, registrants, metadata values, and whole
 * metadata maps (the instances of a service usually carry the same few entries). A registration
 * decoded from the wire brings its own copy of every string; interned, 100,000 instances with the
 * same three metadata entries share one frozen map instead of holding 100,000 maps and 300,000
 * strings. Interning never changes a value, only which copy is kept, so it is invisible to callers.
 *
 * Memory is bounded: each table holds at most INTERN_TABLE_SIZE entries; when one is full it is
 * emptied and starts again (the values records hold stay valid, later registrations build up the
 * table anew). Strings longer than MAX_INTERNED_LENGTH are kept as they are. Pure, one per registry.
 */

/** Entries per table (strings, metadata maps) before it is emptied and starts again. */
export const INTERN_TABLE_SIZE = 4096;

/** Longer strings are not interned: unlikely to repeat, and costly to keep in the table. */
export const MAX_INTERNED_LENGTH = 128;

/** The frozen empty metadata map every record without metadata shares. */
export const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

export class Interner {
  private strings = new Map<string, string>();
  private maps = new Map<string, Readonly<Record<string, string>>>();

  /** The table's copy of `s` (the first seen), or `s` itself when it is too long to intern. */
  string(s: string): string {
    if (s.length > MAX_INTERNED_LENGTH) return s;
    const held = this.strings.get(s);
    if (held !== undefined) return held;
    if (this.strings.size >= INTERN_TABLE_SIZE) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }

  /**
   * A frozen map with the same entries as `m`, in the same order: the one already held for them,
   * or a new one whose values are interned. `m` is not changed.
   */
  metadata(m: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    const keys = Object.keys(m);
    if (keys.length === 0) return EMPTY_METADATA;
    // Length-prefixed, so no two different maps have the same key whatever their characters.
    let key = '';
    for (const k of keys) {
      const v = m[k] ?? '';
      key += `${k.length}:${k}${v.length}:${v}`;
    }
    if (key.length > MAX_INTERNED_LENGTH * 4) return m;
    const held = this.maps.get(key);
    if (held !== undefined) return held;
    const copy: Record<string, string> = {};
    for (const k of keys) copy[k] = this.string(m[k] ?? '');
    const frozen = Object.freeze(copy);
    if (this.maps.size >= INTERN_TABLE_SIZE) this.maps = new Map();
    this.maps.set(key, frozen);
    return frozen;
  }
}
