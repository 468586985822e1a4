import { describe, expect, it } from 'vitest';
import { RecentChanges, type ChangedService } from '../../src/core/recent-changes.js';
import type { InstanceRecord } from '../../src/core/model.js';

const svc: ChangedService = { namespace: 'public', group: 'G', name: 'orders' };
const other: ChangedService = { namespace: 'public', group: 'G', name: 'payments' };

/** Only the identity of a record matters to the queue. */
function rec(id: string): InstanceRecord {
  return { instanceId: id } as InstanceRecord;
}

describe('RecentChanges', () => {
  it('returns changes oldest first, with their service, action, record, time and revision', () => {
    const q = new RecentChanges(1000);
    const a = rec('a');
    const b = rec('b');
    q.add(svc, 'ADDED', a, 10, 10_000);
    q.add(other, 'DELETED', b, 11, 11_000);
    expect(q.since(11)).toEqual([
      { action: 'ADDED', namespace: 'public', group: 'G', service: 'orders', record: a, changedAt: 10, revision: 10_000 },
      { action: 'DELETED', namespace: 'public', group: 'G', service: 'payments', record: b, changedAt: 11, revision: 11_000 },
    ]);
    expect(q.since(11)[0]?.record).toBe(a);
  });

  it('drops changes older than the retention window, across chunk boundaries', () => {
    const q = new RecentChanges(100);
    for (let t = 0; t < 10_000; t++) q.add(svc, 'MODIFIED', rec(String(t)), t, t);
    expect(q.size).toBe(101);
    const kept = q.since(9_999);
    expect(kept.map((c) => c.changedAt)).toEqual(Array.from({ length: 101 }, (_, i) => 9_899 + i));
    expect(q.since(20_000)).toEqual([]);
    expect(q.size).toBe(0);
    q.add(svc, 'ADDED', rec('late'), 20_000, 20_000);
    expect(q.since(20_000).map((c) => c.record.instanceId)).toEqual(['late']);
  });

  it('keeps a change made now with a retention of 0 until time moves on', () => {
    const q = new RecentChanges(0);
    q.add(svc, 'ADDED', rec('a'), 5, 5);
    expect(q.since(5)).toHaveLength(1);
    expect(q.since(6)).toHaveLength(0);
  });
});
