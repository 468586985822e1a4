import { describe, expect, it } from 'vitest';
import { inst, makeRegistry } from './helpers.js';
import { EMPTY_METADATA, INTERN_TABLE_SIZE, Interner, MAX_INTERNED_LENGTH } from '../../src/core/interner.js';

/** A string equal to `s` but not the same copy (as a decoder would produce). */
function copy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

describe('Interner', () => {
  it('gives equal strings one copy, and long ones back as they are', () => {
    const i = new Interner();
    const first = i.string(copy('zone-a'));
    expect(i.string(copy('zone-a'))).toBe(first);
    const long = 'x'.repeat(MAX_INTERNED_LENGTH + 1);
    expect(i.string(long)).toBe(long);
  });

  it('gives equal metadata one frozen map with the same entries in the same order', () => {
    const i = new Interner();
    const a = i.metadata({ version: copy('1.4.2'), zone: copy('a') });
    const b = i.metadata({ version: copy('1.4.2'), zone: copy('a') });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.entries(a)).toEqual([
      ['version', '1.4.2'],
      ['zone', 'a'],
    ]);
    expect(i.metadata({ version: '1.4.3', zone: 'a' })).not.toBe(a);
    expect(i.metadata({})).toBe(EMPTY_METADATA);
  });

  it('never merges different maps, whatever characters keys and values hold', () => {
    const i = new Interner();
    const a = i.metadata({ 'a\u0000b': '', c: 'd' });
    const b = i.metadata({ a: 'b\u0000', c: 'd' });
    const c = i.metadata({ a1: ':b' });
    const d = i.metadata({ a: '1:b' });
    expect(Object.entries(a)).toEqual([
      ['a\u0000b', ''],
      ['c', 'd'],
    ]);
    expect(Object.entries(b)).toEqual([
      ['a', 'b\u0000'],
      ['c', 'd'],
    ]);
    expect(Object.entries(c)).toEqual([['a1', ':b']]);
    expect(Object.entries(d)).toEqual([['a', '1:b']]);
  });

  it('stays bounded: a full table starts again, and what it handed out stays valid', () => {
    const i = new Interner();
    const first = i.metadata({ k: 'v0' });
    for (let n = 1; n <= INTERN_TABLE_SIZE; n++) i.metadata({ k: `v${n}` });
    const again = i.metadata({ k: 'v0' });
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(first).toEqual({ k: 'v0' });
  });
});

describe('a registry interns what its records repeat', () => {
  it('shares one metadata map and one cluster name among instances that register the same', () => {
    const { registry } = makeRegistry();
    registry.register({ service: 'orders', instance: inst({ ip: '10.0.0.1', cluster: copy('east'), metadata: { version: copy('1.4.2') } }) }, {});
    registry.register({ service: 'orders', instance: inst({ ip: '10.0.0.2', cluster: copy('east'), metadata: { version: copy('1.4.2') } }) }, {});
    const [a, b] = registry.query({ service: 'orders' }).hosts;
    expect(a?.metadata).toEqual({ version: '1.4.2' });
    expect(b?.metadata).toBe(a?.metadata);
    expect(Object.isFrozen(a?.metadata)).toBe(true);
    expect(b?.cluster).toBe('east');
  });
});
