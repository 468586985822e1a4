import { merge, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PushHub, type PushTarget } from '../../src/push/push-hub.js';
import { nodeTimers, type Timers } from '../../src/common/timers.js';
import { systemClock } from '../../src/core/clock.js';
import type { ServiceFilter, ServiceView } from '../../src/core/model.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { ManualTimers } from '../support/manual-timers.js';
import { onCleanup, record } from '../support/server.js';

class Recorder implements PushTarget {
  readonly views: ServiceView[] = [];
  readonly delivered = new Subject<ServiceView>();
  constructor(readonly filter: ServiceFilter = {}) {}
  deliver(view: ServiceView): void {
    this.views.push(view);
    this.delivered.next(view);
  }
}

/** Resolves once `check` holds, looking now and after each delivery to any of `targets`. */
async function untilDelivered(targets: readonly Recorder[], check: () => boolean, what: string): Promise<void> {
  const deliveries = record(merge(of(undefined), ...targets.map((t) => t.delivered)));
  await deliveries.until(check, what);
  deliveries.stop();
}

function hub(mergeWindowMs: number, fanOutSliceSize = 1_000, timers: Timers = nodeTimers) {
  const { registry } = makeRegistry();
  const clock = timers instanceof ManualTimers ? timers.clock : systemClock;
  const h = new PushHub({ registry, timers, clock, mergeWindowMs, fanOutSliceSize, logger: silentLogger });
  onCleanup(() => {
    h.close();
  });
  return { registry, hub: h };
}

describe('PushHub', () => {
  it('delivers the current view on subscription; a lone change at once (leading edge), what follows within the window as one trailing push', () => {
    const timers = new ManualTimers();
    const { registry, hub: h } = hub(30, 1_000, timers);
    const t = new Recorder();
    h.subscribe({ service: 'a' }, t);
    expect(t.views.map((v) => v.hosts.length)).toEqual([0]);
    // Changes of one turn (one replicated batch, say) go out together on the next turn, waiting for no window.
    for (let i = 0; i < 3; i++) registry.register({ service: 'a', instance: inst({ instanceId: `i-${i}` }) });
    expect(t.views).toHaveLength(1);
    timers.advance(0);
    expect(t.views.map((v) => v.hosts.length)).toEqual([0, 3]);
    // Within the window after that push: merged, and pushed when the window closes.
    timers.advance(10);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-3' }) });
    timers.advance(10);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-4' }) });
    timers.advance(9);
    expect(t.views).toHaveLength(2); // the window (0..30) is still open
    timers.advance(1);
    expect(t.views.map((v) => v.hosts.length)).toEqual([0, 3, 5]);
    // Quiet for a window: the next lone change is pushed at once again.
    timers.advance(30);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-5' }) });
    timers.advance(0);
    expect(t.views.map((v) => v.hosts.length)).toEqual([0, 3, 5, 6]);
  });

  it('views each distinct filter once and shares the object', () => {
    const timers = new ManualTimers();
    const { registry, hub: h } = hub(0, 1_000, timers);
    const east1 = new Recorder({ clusters: ['east'] });
    const east2 = new Recorder({ clusters: ['east'] });
    const all = new Recorder();
    for (const t of [east1, east2, all]) h.subscribe({ service: 'a' }, t);
    registry.register({ service: 'a', instance: inst({ instanceId: 'e', cluster: 'east' }) });
    timers.advance(0);
    for (const t of [east1, east2, all]) expect(t.views).toHaveLength(2);
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
    await untilDelivered(targets, () => targets.slice(0, 34).every((t) => t.views.length === 2), 'all slices delivered');
    expect(afterFirstSlice).toBe(10);
    expect(targets[34]?.views).toHaveLength(1);
    expect(h.stats().subscribers).toBe(34);
  });
});

/** Timers fired by hand, so a test decides when a merge window ends. */
class HandTimers implements Timers {
  private pending = new Map<number, () => void>();
  private next = 0;
  setTimeout(fn: () => void): unknown {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  setImmediate(fn: () => void): void {
    setImmediate(fn);
  }
  fire(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const fn of due) fn();
  }
}

const turn = (): Promise<void> =>
  new Promise((r) => {
    setImmediate(r);
  });

describe('PushHub under overload', () => {
  it('a change during a walk carries it on from where it is with the newer view, then around: nothing stale after, no one starved', async () => {
    const { registry, clock } = makeRegistry(); // the clock stands still: every change after the first is inside the window
    const timers = new HandTimers();
    const h = new PushHub({ registry, timers, clock, mergeWindowMs: 5, fanOutSliceSize: 10, logger: silentLogger });
    onCleanup(() => {
      h.close();
    });
    const newest: number[] = [];
    const targets = Array.from({ length: 30 }, (_, i) => {
      const t = new Recorder();
      const deliver = t.deliver.bind(t);
      t.deliver = (view) => {
        deliver(view);
        if (view.hosts.length === 2) newest.push(i);
      };
      h.subscribe({ service: 'a' }, t);
      return t;
    });
    registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
    await turn(); // flush 1 on the leading edge: the first slice (0..9)
    await turn(); // the second slice (10..19)
    registry.register({ service: 'a', instance: inst({ instanceId: 'y' }) });
    timers.fire(); // flush 2 while the walk is at 20
    for (let i = 0; i < 5; i++) await turn();
    expect(newest).toEqual([...Array.from({ length: 10 }, (_, i) => 20 + i), ...Array.from({ length: 20 }, (_, i) => i)]);
    const hosts = (t: Recorder) => t.views.map((v) => v.hosts.length);
    expect(targets.slice(0, 20).every((t) => hosts(t).join() === '0,1,2')).toBe(true);
    expect(targets.slice(20).every((t) => hosts(t).join() === '0,2')).toBe(true);
  });

  it('counts changes that joined a waiting push, and reports each push once, with the time from its oldest change to the last hand-off', () => {
    const timers = new ManualTimers();
    const { registry } = makeRegistry();
    let nowMs = 100;
    const latencies: number[] = [];
    const h = new PushHub({
      registry,
      timers,
      clock: timers.clock,
      mergeWindowMs: 30,
      fanOutSliceSize: 1_000,
      logger: silentLogger,
      monotonicMs: () => nowMs,
      onPushed: (ms) => latencies.push(ms),
    });
    onCleanup(() => {
      h.close();
    });
    const targets = [new Recorder(), new Recorder()];
    for (const t of targets) h.subscribe({ service: 'a' }, t);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-0' }) });
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-1' }) }); // same turn: merged into the first push
    nowMs = 102;
    timers.advance(0);
    expect([h.merged, latencies]).toEqual([1, [2]]);
    timers.advance(5);
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-2' }) }); // inside the window: waits for it
    nowMs = 110;
    registry.register({ service: 'a', instance: inst({ instanceId: 'i-3' }) });
    nowMs = 135;
    timers.advance(25);
    expect([h.merged, latencies]).toEqual([2, [2, 33]]);
    expect(targets.map((t) => t.views.map((v) => v.hosts.length))).toEqual([
      [0, 2, 4],
      [0, 2, 4],
    ]);
  });
});
