import { describe, expect, it } from 'vitest';
import { EMPTY_METADATA, INTERN_TABLE_SIZE, Interner, MAX_INTERNED_LENGTH, MetadataShelf, SHELVED_METADATA_PER_SERVICE, sameEntries } from '../../src/core/interner.js';
import { inst, makeRegistry } from './helpers.js';

/** A string equal to `s` but not the same copy (as a decoder would produce). */
function copy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

function frozen(m: Record<string, string>): Readonly<Record<string, string>> {
  return Object.freeze({ ...m });
}

describe('Interner (strings with few distinct values)', () => {
  it('gives equal strings one copy, and long ones back as they are', () => {
    const i = new Interner();
    const first = i.string(copy('zone-a'));
    expect(i.string(copy('zone-a'))).toBe(first);
    const long = 'x'.repeat(MAX_INTERNED_LENGTH + 1);
    expect(i.string(long)).toBe(long);
  });

  it('stays bounded: a full table starts again, and equal strings stay equal', () => {
    const i = new Interner();
    const first = i.string(copy('c-0'));
    for (let n = 1; n <= INTERN_TABLE_SIZE; n++) i.string(`c-${n}`);
    const again = i.string(copy('c-0'));
    expect(again).toBe('c-0');
    expect(first).toBe('c-0');
  });
});

describe('sameEntries', () => {
  it('compares entries in any order, whatever characters keys and values hold', () => {
    expect(sameEntries({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameEntries({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(sameEntries({ a: '1', b: '2' }, { a: '1' })).toBe(false);
    expect(sameEntries({ 'a\u0000b': '' }, { a: 'b\u0000' })).toBe(false);
    expect(sameEntries({ a: '' }, { b: '' })).toBe(false);
    expect(sameEntries({}, {})).toBe(true);
  });
});

describe('MetadataShelf (metadata shared within a service)', () => {
  it('gives a registration an equal map already shelved, frozen, with its entries', () => {
    const shelf = new MetadataShelf();
    const a = shelf.share(frozen({ version: copy('1.4.2'), zone: copy('a') }));
    const b = shelf.share(frozen({ zone: copy('a'), version: copy('1.4.2') }));
    expect(b).toBe(a);
    expect(Object.isFrozen(b)).toBe(true);
    expect(b).toEqual({ version: '1.4.2', zone: 'a' });
    expect(shelf.share(frozen({ version: '1.4.3', zone: 'a' }))).not.toBe(a);
    expect(shelf.share(frozen({}))).toBe(EMPTY_METADATA);
  });

  it('keeps the most recent maps only: unique metadata never grows it', () => {
    const shelf = new MetadataShelf();
    const first = shelf.share(frozen({ seq: '0' }));
    for (let n = 1; n <= SHELVED_METADATA_PER_SERVICE; n++) shelf.share(frozen({ seq: String(n) }));
    const again = frozen({ seq: '0' });
    expect(shelf.share(again)).toBe(again);
    expect(shelf.share(frozen({ seq: '0' }))).toBe(again);
    expect(first).toEqual({ seq: '0' });
  });
});

describe('a registry shares what its records repeat', () => {
  it('shares one metadata map and one cluster name among instances of a service that register the same', () => {
    const { registry } = makeRegistry();
    for (let n = 1; n <= 3; n++) {
      registry.register({ service: 'orders', instance: inst({ ip: `10.0.0.${n}`, cluster: copy('east'), metadata: { version: copy('1.4.2') } }) }, {});
    }
    const [a, b, c] = registry.query({ service: 'orders' }).hosts;
    expect(a?.metadata).toEqual({ version: '1.4.2' });
    expect(c?.metadata).toBe(b?.metadata);
    expect(Object.isFrozen(c?.metadata)).toBe(true);
    expect(c?.cluster).toBe('east');
  });
});
