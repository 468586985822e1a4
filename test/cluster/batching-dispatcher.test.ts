import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { BatchingDispatcher, DEFAULT_DISPATCHER_OPTIONS, type DispatcherOptions } from '../../src/cluster/batching-dispatcher.js';
import type { Timers } from '../../src/common/timers.js';

/** Timers on a manual clock: `run(ms)` advances time and fires what is due, in order. */
class ManualTimers implements Timers {
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  constructor(private readonly clock: ManualClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.queue.push({ at: this.clock.nowMs() + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }
  setImmediate(fn: () => void): void {
    this.setTimeout(fn, 0);
  }
  async run(ms: number): Promise<void> {
    const until = this.clock.nowMs() + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.id - b.id);
      const due = this.queue[0];
      if (due === undefined || due.at > until) break;
      this.queue.shift();
      this.clock.set(due.at);
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.clock.set(until);
    await new Promise((r) => setImmediate(r));
  }
}

function setup(options: Partial<DispatcherOptions> = {}) {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  const batches: string[][] = [];
  let failing = false;
  const states: string[] = [];
  const d = new BatchingDispatcher<string>({
    clock,
    timers,
    logger: silentLogger,
    options: { ...DEFAULT_DISPATCHER_OPTIONS, batchDelayMs: 10, ...options },
    send: (batch) => {
      batches.push([...batch]);
      return failing ? Promise.reject(new Error('peer down')) : Promise.resolve();
    },
    onStateChange: (s) => states.push(s),
  });
  return { d, timers, batches, states, fail: (on: boolean) => (failing = on) };
}

describe('BatchingDispatcher', () => {
  it('merges tasks within the batch delay; a later task with the same key replaces and moves to the back', async () => {
    const { d, timers, batches } = setup();
    d.offer('register/a', 'register a v1');
    d.offer('cancel/a', 'cancel a');
    d.offer('heartbeat/b', 'beat b 1');
    d.offer('register/a', 'register a v2');
    d.offer('heartbeat/b', 'beat b 2');
    await timers.run(9);
    expect(batches).toEqual([]);
    await timers.run(1);
    expect(batches).toEqual([['cancel a', 'register a v2', 'beat b 2']]);
    expect(d.stats()).toMatchObject({ delivered: 3, queueDepth: 0, state: 'up' });
  });

  it('bounds batch size and keeps one batch in flight', async () => {
    const { d, timers, batches } = setup({ maxBatchSize: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) d.offer(k, k);
    await timers.run(10);
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('retries a failed batch with back-off, ahead of newer tasks, dropping ones a newer task replaced', async () => {
    const { d, timers, batches, states, fail } = setup({ retryBaseMs: 100, retryMaxMs: 400 });
    fail(true);
    d.offer('x', 'x1');
    d.offer('y', 'y1');
    await timers.run(10);
    expect(d.stats()).toMatchObject({ failures: 1, queueDepth: 2, state: 'down' });
    d.offer('x', 'x2'); // replaces the failed x1
    d.offer('z', 'z1');
    await timers.run(100 + 200 + 400 + 400);
    expect(batches.map((b) => b.join())).toEqual(['x1,y1', 'y1,x2,z1', 'y1,x2,z1', 'y1,x2,z1', 'y1,x2,z1']);
    fail(false);
    await timers.run(400);
    expect(batches.at(-1)).toEqual(['y1', 'x2', 'z1']);
    expect(d.stats()).toMatchObject({ delivered: 3, queueDepth: 0, state: 'up' });
    expect(states).toEqual(['down', 'up']);
  });

  it('retries at once when the peer is heard from, instead of waiting out the back-off', async () => {
    const { d, timers, batches, fail } = setup({ retryBaseMs: 5_000, retryMaxMs: 5_000 });
    fail(true);
    d.offer('x', 'x1');
    await timers.run(10);
    expect(batches).toHaveLength(1);
    fail(false);
    d.retryNow(); // e.g. the peer called this node: it is back
    await timers.run(0);
    expect(batches).toEqual([['x1'], ['x1']]);
    expect(d.stats()).toMatchObject({ delivered: 1, state: 'up' });
    d.retryNow(); // nothing waiting: nothing happens
    await timers.run(10);
    expect(batches).toHaveLength(2);
  });

  it('takes its state from other calls to the peer too, so a peer nothing was replicated to is up or down, not unknown', async () => {
    const { d, timers, batches, states } = setup({ retryBaseMs: 5_000, retryMaxMs: 5_000 });
    expect(d.stats().state).toBe('unknown');
    d.observed(false, 'connection refused');
    expect(d.stats()).toMatchObject({ state: 'down', lastError: 'connection refused', failures: 0 });
    d.observed(true);
    expect(d.stats().state).toBe('up');
    // Replication's own state changes (and the log lines they make) are not these.
    expect(states).toEqual([]);
    expect(batches).toEqual([]);
    // Reached while a batch waits out its back-off: it goes now.
    const failing = setup({ retryBaseMs: 5_000, retryMaxMs: 5_000 });
    failing.fail(true);
    failing.d.offer('x', 'x1');
    await failing.timers.run(10);
    failing.fail(false);
    failing.d.observed(true);
    await failing.timers.run(0);
    expect(failing.batches).toEqual([['x1'], ['x1']]);
    expect(failing.d.stats()).toMatchObject({ delivered: 1, state: 'up', queueDepth: 0 });
    await timers.run(0);
  });

  it('drops tasks older than their expiry instead of sending them', async () => {
    const { d, timers, batches, fail } = setup({ taskExpiryMs: 1_000, retryBaseMs: 2_000, retryMaxMs: 2_000 });
    fail(true);
    d.offer('old', 'old'); // expires at 1 s
    await timers.run(10); // fails; retry at 2.01 s
    await timers.run(1_490);
    d.offer('new', 'new'); // at 1.5 s, expires at 2.5 s
    fail(false);
    await timers.run(600);
    expect(batches.at(-1)).toEqual(['new']);
    expect(d.stats()).toMatchObject({ dropped: 1, delivered: 1 });
  });

  it('bounds the queue, dropping the oldest, so a dead peer costs bounded memory', async () => {
    const { d, timers, fail } = setup({ maxQueueSize: 100, retryMaxMs: 1_000 });
    fail(true);
    for (let i = 0; i < 1_000; i++) d.offer(`k${i}`, `t${i}`);
    await timers.run(5_000);
    for (let i = 1_000; i < 2_000; i++) d.offer(`k${i}`, `t${i}`);
    expect(d.stats().queueDepth).toBeLessThanOrEqual(100);
    expect(d.stats().dropped).toBeGreaterThanOrEqual(1_900);
  });

  it('stops on close', async () => {
    const { d, timers, batches } = setup();
    d.offer('a', 'a');
    d.close();
    d.offer('b', 'b');
    await timers.run(100);
    expect(batches).toEqual([]);
  });
});
