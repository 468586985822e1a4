import { describe, expect, it } from 'vitest';
import type { ServiceView } from '../../src/core/model.js';
import { SnapshotTarget } from '../../src/push/snapshot-target.js';

/** A view with no hosts: SnapshotTarget looks only at revision, checksum and the protection fields. */
function view(revision: number, overrides: Partial<ServiceView> = {}): ServiceView {
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    name: 'orders',
    revision,
    lastRefTime: revision,
    protectThreshold: 0,
    cacheMillis: 10_000,
    clusters: [],
    healthyOnly: false,
    hosts: [],
    checksum: 'c1',
    reachProtectionThreshold: false,
    ...overrides,
  };
}

function target(): { t: SnapshotTarget; sent: ServiceView[] } {
  const sent: ServiceView[] = [];
  const t = new SnapshotTarget({ clusters: ['east'], healthyOnly: true }, (v) => sent.push(v));
  return { t, sent };
}

describe('SnapshotTarget', () => {
  it('exposes the filter it was built with', () => {
    expect(target().t.filter).toEqual({ clusters: ['east'], healthyOnly: true });
  });

  it('always forwards the first view, whatever its revision', () => {
    const { t, sent } = target();
    const first = view(0);
    t.deliver(first);
    expect(sent).toEqual([first]);
    expect(sent[0]).toBe(first);
  });

  it('never forwards an older or equal revision, even with other hosts', () => {
    const { t, sent } = target();
    t.deliver(view(5));
    t.deliver(view(5, { checksum: 'c2' }));
    t.deliver(view(4, { checksum: 'c3', reachProtectionThreshold: true, protectThreshold: 0.5 }));
    expect(sent.map((v) => v.revision)).toEqual([5]);
  });

  it('does not forward a newer revision with the same checksum and protection, but remembers it', () => {
    const { t, sent } = target();
    t.deliver(view(5));
    t.deliver(view(7)); // e.g. a change in a cluster outside the filter
    expect(sent.map((v) => v.revision)).toEqual([5]);
    // Revision 6 is older than what the target has now seen, so it is dropped though its hosts differ.
    t.deliver(view(6, { checksum: 'c2' }));
    expect(sent.map((v) => v.revision)).toEqual([5]);
    t.deliver(view(8, { checksum: 'c2' }));
    expect(sent.map((v) => v.revision)).toEqual([5, 8]);
  });

  it('forwards a newer revision when the checksum changes', () => {
    const { t, sent } = target();
    t.deliver(view(1));
    t.deliver(view(2, { checksum: 'c2' }));
    t.deliver(view(3, { checksum: 'c1' })); // back to the first hosts: still news to the subscriber
    expect(sent.map((v) => [v.revision, v.checksum])).toEqual([
      [1, 'c1'],
      [2, 'c2'],
      [3, 'c1'],
    ]);
  });

  it('forwards a newer revision when only the protection flag changes', () => {
    const { t, sent } = target();
    t.deliver(view(1));
    t.deliver(view(2, { reachProtectionThreshold: true }));
    t.deliver(view(3, { reachProtectionThreshold: false }));
    expect(sent.map((v) => [v.revision, v.reachProtectionThreshold])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
  });

  it('forwards a newer revision when only the protect threshold changes', () => {
    const { t, sent } = target();
    t.deliver(view(1));
    t.deliver(view(2, { protectThreshold: 0.6 }));
    t.deliver(view(3, { protectThreshold: 0.6 }));
    expect(sent.map((v) => [v.revision, v.protectThreshold])).toEqual([
      [1, 0],
      [2, 0.6],
    ]);
  });
});
