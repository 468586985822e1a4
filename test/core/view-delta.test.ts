import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../src/core/model.js';
import { viewDelta } from '../../src/core/view-delta.js';

/** Stand-in records: only the id and the identity matter to the diff. */
const rec = (instanceId: string): InstanceRecord => ({ instanceId }) as InstanceRecord;
const view = (...hosts: InstanceRecord[]) => ({ hosts });

/** What a client does with a delta: drop the removed, replace or add the upserted, keep the order. */
function apply(held: readonly InstanceRecord[], d: ReturnType<typeof viewDelta>): InstanceRecord[] {
  const byId = new Map(held.map((h) => [h.instanceId, h]));
  for (const id of d.removed) byId.delete(id);
  for (const h of d.upserted) byId.set(h.instanceId, h);
  return [...byId.values()].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
}

describe('viewDelta', () => {
  it('names the added, the changed (a new record object) and the removed; nothing for unchanged records', () => {
    const a = rec('a');
    const b1 = rec('b');
    const b2 = rec('b');
    const c = rec('c');
    const d = rec('d');
    const delta = viewDelta(view(a, b1, c), view(a, b2, d));
    expect(delta.upserted).toEqual([b2, d]);
    expect(delta.upserted[0]).toBe(b2);
    expect(delta.removed).toEqual(['c']);
    expect(viewDelta(view(a, c), view(a, c))).toEqual({ upserted: [], removed: [] });
    expect(viewDelta(view(), view(a))).toEqual({ upserted: [a], removed: [] });
    expect(viewDelta(view(a), view())).toEqual({ upserted: [], removed: ['a'] });
  });

  it('applied to the source, always gives the target (every pair of subsets of 6 ids, each id in two versions)', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const v1 = ids.map(rec);
    const v2 = ids.map(rec);
    const subset = (mask: number, versions: number): InstanceRecord[] => ids.flatMap((_, i) => ((mask >> i) & 1 ? [((versions >> i) & 1 ? v2 : v1)[i] as InstanceRecord] : []));
    let checked = 0;
    for (let from = 0; from < 64; from++) {
      for (let to = 0; to < 64; to++) {
        for (const versions of [0, 0b101010, 0b111111]) {
          const source = subset(from, 0);
          const target = subset(to, versions);
          const d = viewDelta(view(...source), view(...target));
          const result = apply(source, d);
          expect(result).toHaveLength(target.length);
          result.forEach((h, i) => {
            expect(h).toBe(target[i]);
          });
          checked++;
        }
      }
    }
    expect(checked).toBe(64 * 64 * 3);
  });
});
