import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PushHub, type PushTarget } from '../../src/push/push-hub.js';
import { nodeTimers } from '../../src/push/timers.js';
import type { ServiceFilter, ServiceView } from '../../src/core/model.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { eventually, onCleanup } from '../support/server.js';

class Recorder implements PushTarget {
  readonly views: ServiceView[] = [];
  constructor(readonly filter: ServiceFilter = {}) {}
  deliver(view: ServiceView): void {
    this.views.push(view);
  }
}

function hub(mergeWindowMs: number, fanOutSliceSize = 1_000) {
  const { registry } = makeRegistry();
  const h = new PushHub({ registry, timers: nodeTimers, mergeWindowMs, fanOutSliceSize, logger: silentLogger });
  onCleanup(() => {
    h.close();
  });
  return { registry, hub: h };
}

describe('PushHub', () => {
  it('delivers the current view on subscription, then one view per merge window', async () => {
    const { registry, hub: h } = hub(30);
    const t = new Recorder();
    h.subscribe({ service: 'a' }, t);
    expect(t.views.map((v) => v.hosts.length)).toEqual([0]);
    for (let i = 0; i < 5; i++) registry.register({ service: 'a', instance: inst({ instanceId: `i-${i}` }) });
    await eventually(() => t.views.length === 2, 'one merged push');
    expect(t.views[1]?.hosts).toHaveLength(5);
  });

  it('views each distinct filter once and shares the object', async () => {
    const { registry, hub: h } = hub(0);
    const east1 = new Recorder({ clusters: ['east'] });
    const east2 = new Recorder({ clusters: ['east'] });
    const all = new Recorder();
    for (const t of [east1, east2, all]) h.subscribe({ service: 'a' }, t);
    registry.register({ service: 'a', instance: inst({ instanceId: 'e', cluster: 'east' }) });
    await eventually(() => all.views.length === 2 && east2.views.length === 2, 'pushes');
    expect(east1.views[1]).toBe(east2.views[1]);
    expect(east1.views[1]).not.toBe(all.views[1]);
  });

  it('slices a large fan-out across event-loop turns; a target that leaves mid-way gets nothing more', async () => {
    const { registry, hub: h } = hub(0, 10);
    const targets = Array.from({ length: 35 }, () => new Recorder());
    const unsubscribe = targets.map((t) => h.subscribe({ service: 'a' }, t));
    let afterFirstSlice = -1;
    const first = targets[0] as Recorder;
    const deliver = first.deliver.bind(first);
    first.deliver = (view) => {
      deliver(view);
      // Runs right after the first slice, before the next event-loop turn delivers more.
      queueMicrotask(() => {
        afterFirstSlice = targets.filter((t) => t.views.length === 2).length;
        unsubscribe[34]?.();
      });
    };
    registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
    await eventually(() => targets.slice(0, 34).every((t) => t.views.length === 2), 'all slices delivered');
    expect(afterFirstSlice).toBe(10);
    expect(targets[34]?.views).toHaveLength(1);
    expect(h.stats().subscribers).toBe(34);
  });
});

describe('PushHub under overload', () => {
  it('a newer flush stops the rest of an older sliced fan-out: late targets get only the newer view', async () => {
    const { registry, hub: h } = hub(0, 10);
    const targets = Array.from({ length: 30 }, () => new Recorder());
    for (const t of targets) h.subscribe({ service: 'a' }, t);
    const first = targets[0] as Recorder;
    const deliver = first.deliver.bind(first);
    let changedAgain = false;
    first.deliver = (view) => {
      deliver(view);
      // During the first slice of the first fan-out, the service changes again.
      if (!changedAgain && view.hosts.length === 1) {
        changedAgain = true;
        registry.register({ service: 'a', instance: inst({ instanceId: 'y' }) });
      }
    };
    registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
    await eventually(() => targets.every((t) => t.views.at(-1)?.hosts.length === 2), 'newest view everywhere');
    // The first slice got both views. The old fan-out's next slice may still go out before the newer
    // flush's timer fires; once that flush begins, the old fan-out's remaining slices stop, so the
    // last slice never receives the stale view.
    expect(targets.slice(0, 10).every((t) => t.views.length === 3)).toBe(true);
    expect(targets.slice(20).every((t) => t.views.length === 2 && t.views[1]?.hosts.length === 2)).toBe(true);
  });
});
