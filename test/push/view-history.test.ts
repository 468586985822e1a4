import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { ServiceView } from '../../src/core/model.js';
import { ViewHistory } from '../../src/push/view-history.js';

const view = (name: string, revision: number, checksum = `c${revision}`, clusters: string[] = []): ServiceView =>
  ({ namespace: 'public', group: 'DEFAULT_GROUP', name, clusters, healthyOnly: false, revision, checksum, hosts: [] }) as unknown as ServiceView;

describe('ViewHistory', () => {
  it('finds a remembered view by service, filter, revision and checksum', () => {
    const h = new ViewHistory(new ManualClock(0));
    const v1 = view('a', 1);
    const east = view('a', 1, 'c1', ['east']);
    h.remember(v1);
    h.remember(east);
    expect(h.find(v1, 1, 'c1')).toBe(v1);
    expect(h.find(east, 1, 'c1')).toBe(east);
    expect(h.find(v1, 1, 'other')).toBeUndefined();
    expect(h.find(view('b', 1), 1, 'c1')).toBeUndefined();
  });

  it('keeps at most perKey views per key, for at most retentionMs, and at most maxKeys keys (least recently used go)', () => {
    const clock = new ManualClock(0);
    const h = new ViewHistory(clock, { perKey: 2, retentionMs: 1_000, maxKeys: 2 });
    for (const r of [1, 2, 3]) h.remember(view('a', r));
    expect(h.find(view('a', 0), 1, 'c1')).toBeUndefined();
    expect(h.find(view('a', 0), 2, 'c2')).toBeDefined();
    clock.set(1_001);
    expect(h.find(view('a', 0), 3, 'c3')).toBeUndefined();
    h.remember(view('b', 1));
    h.remember(view('a', 4));
    h.remember(view('c', 1)); // b is the least recently used
    expect(h.find(view('b', 0), 1, 'c1')).toBeUndefined();
    expect(h.find(view('a', 0), 4, 'c4')).toBeDefined();
    expect(h.stats().keys).toBe(2);
  });

  it('remembering the newest view again is a no-op', () => {
    const h = new ViewHistory(new ManualClock(0));
    const v = view('a', 1);
    h.remember(v);
    h.remember(v);
    expect(h.stats()).toEqual({ keys: 1, views: 1 });
  });
});
