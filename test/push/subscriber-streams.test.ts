import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PushHub } from '../../src/push/push-hub.js';
import { SubscriberStreams, type StreamOutput } from '../../src/push/subscriber-streams.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { ManualTimers } from '../support/manual-timers.js';

function setup(limits: { maxStreams?: number; maxStreamsPerConnection?: number } = {}) {
  const { registry } = makeRegistry();
  const timers = new ManualTimers();
  const hub = new PushHub({ registry, timers, mergeWindowMs: 5, fanOutSliceSize: 64, logger: silentLogger });
  const streams = new SubscriberStreams<number>({
    hub,
    encode: (view) => view.hosts.length,
    clock: timers.clock,
    logger: silentLogger,
    maxPushesInFlight: 1,
    maxStreams: limits.maxStreams ?? 100,
    maxStreamsPerConnection: limits.maxStreamsPerConnection ?? 100,
  });
  /** A stream that flushes every write at once and records what it got. */
  const output = (): StreamOutput<number> & { got: number[]; ended: number } => {
    const o = {
      got: [] as number[],
      ended: 0,
      write: (m: number, done: () => void) => {
        o.got.push(m);
        done();
      },
      end: () => {
        o.ended++;
      },
    };
    return o;
  };
  return { registry, timers, hub, streams, output };
}

describe('SubscriberStreams', () => {
  it('writes the current view, then each change; aborting the signal unsubscribes and forgets the stream', () => {
    const { registry, timers, hub, streams, output } = setup();
    const out = output();
    const ended = new AbortController();
    expect(streams.subscribe({ service: 'a' }, {}, 'peer-1', out, ended.signal)).toBeUndefined();
    expect(out.got).toEqual([0]);
    registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
    timers.advance(5);
    expect(out.got).toEqual([0, 1]);
    expect(streams.stats().streams).toBe(1);
    ended.abort();
    expect(streams.stats().streams).toBe(0);
    expect(hub.stats().subscribers).toBe(0);
    registry.register({ service: 'a', instance: inst({ instanceId: 'y' }) });
    timers.advance(5);
    expect(out.got).toEqual([0, 1]);
  });

  it('refuses beyond the limits, per connection and in all, and a closed stream frees its place', () => {
    const { streams, output } = setup({ maxStreams: 3, maxStreamsPerConnection: 2 });
    const a1 = new AbortController();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), a1.signal)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal)).toMatchObject({ limit: 'connection' });
    expect(streams.subscribe({ service: 'a' }, {}, 'p2', output(), new AbortController().signal)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p3', output(), new AbortController().signal)).toMatchObject({ limit: 'server' });
    expect(streams.stats()).toMatchObject({ streams: 3, refused: 2 });
    a1.abort();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal)).toBeUndefined();
  });

  it('keeps nothing for a bad address (the registry says why) or an already aborted signal', () => {
    const { streams, output } = setup();
    expect(() => streams.subscribe({ service: '' }, {}, 'p', output(), new AbortController().signal)).toThrow('service is required');
    const gone = new AbortController();
    gone.abort();
    expect(streams.subscribe({ service: 'a' }, {}, 'p', output(), gone.signal)).toBeUndefined();
    expect(streams.stats().streams).toBe(0);
  });

  it('endAll() ends every open stream through its transport', () => {
    const { streams, output } = setup();
    const outs = [output(), output()];
    for (const o of outs) streams.subscribe({ service: 'a' }, {}, 'p', o, new AbortController().signal);
    streams.endAll();
    expect(outs.map((o) => o.ended)).toEqual([1, 1]);
  });
});
