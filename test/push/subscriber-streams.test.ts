import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PushHub } from '../../src/push/push-hub.js';
import { SubscriberStreams, type Renderer, type StreamOutput } from '../../src/push/subscriber-streams.js';
import { ViewHistory } from '../../src/push/view-history.js';
import { viewDelta } from '../../src/core/view-delta.js';
import type { ServiceView } from '../../src/core/model.js';
import { inst, makeRegistry } from '../core/helpers.js';
import { ManualTimers } from '../support/manual-timers.js';

function setup(limits: { maxStreams?: number; maxStreamsPerConnection?: number } = {}) {
  const { registry } = makeRegistry();
  const timers = new ManualTimers();
  const history = new ViewHistory(timers.clock);
  const hub = new PushHub({ registry, timers, clock: timers.clock, history, mergeWindowMs: 5, fanOutSliceSize: 64, logger: silentLogger });
  const streams = new SubscriberStreams<number>({
    hub,
    history,
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

/** Renders a view as its number of hosts. */
const COUNT: Renderer<number> = { snapshot: (view) => view.hosts.length };

describe('SubscriberStreams', () => {
  it('writes the current view, then each change; aborting the signal unsubscribes and forgets the stream', () => {
    const { registry, timers, hub, streams, output } = setup();
    const out = output();
    const ended = new AbortController();
    expect(streams.subscribe({ service: 'a' }, {}, 'peer-1', out, ended.signal, COUNT)).toBeUndefined();
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
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), a1.signal, COUNT)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal, COUNT)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal, COUNT)).toMatchObject({ limit: 'connection' });
    expect(streams.subscribe({ service: 'a' }, {}, 'p2', output(), new AbortController().signal, COUNT)).toBeUndefined();
    expect(streams.subscribe({ service: 'a' }, {}, 'p3', output(), new AbortController().signal, COUNT)).toMatchObject({ limit: 'server' });
    expect(streams.stats()).toMatchObject({ streams: 3, refused: 2 });
    a1.abort();
    expect(streams.subscribe({ service: 'a' }, {}, 'p1', output(), new AbortController().signal, COUNT)).toBeUndefined();
  });

  it('keeps nothing for a bad address (the registry says why) or an already aborted signal', () => {
    const { streams, output } = setup();
    expect(() => streams.subscribe({ service: '' }, {}, 'p', output(), new AbortController().signal, COUNT)).toThrow('service is required');
    const gone = new AbortController();
    gone.abort();
    expect(streams.subscribe({ service: 'a' }, {}, 'p', output(), gone.signal, COUNT)).toBeUndefined();
    expect(streams.stats().streams).toBe(0);
  });

  it('endAll() ends every open stream through its transport', () => {
    const { streams, output } = setup();
    const outs = [output(), output()];
    for (const o of outs) streams.subscribe({ service: 'a' }, {}, 'p', o, new AbortController().signal, COUNT);
    streams.endAll();
    expect(outs.map((o) => o.ended)).toEqual([1, 1]);
  });

  describe('delta mode', () => {
    const ids = (v: ServiceView): string => v.hosts.map((h) => h.instanceId).join(',');
    /** Snapshots as `S<ids>`, deltas as `D<from>><to> +<upserted> -<removed>` (revisions relative to `base`). */
    const describeWith = (base: () => number): Renderer<string> => ({
      snapshot: (v) => `S${ids(v)}`,
      delta: (from, to) => {
        const d = viewDelta(from, to);
        return `D${from.revision - base()}>${to.revision - base()} +${d.upserted.map((h) => h.instanceId).join(',')} -${d.removed.join(',')}`;
      },
    });
    /** A stream whose writes stay unflushed until `flush()`. */
    const slowOutput = () => {
      const o = {
        got: [] as string[],
        waiting: [] as (() => void)[],
        write: (m: string, done: () => void) => {
          o.got.push(m);
          o.waiting.push(done);
        },
        end: () => undefined,
        flush: () => {
          const w = o.waiting;
          o.waiting = [];
          for (const done of w) done();
        },
      };
      return o;
    };

    it('writes a snapshot, then the changes from what the client holds; a slow client gets one delta over the views it skipped', () => {
      const { registry, timers } = setup();
      registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
      const base = registry.query({ service: 'a' }).revision;
      const { streams } = setupAgain(registry, timers);
      const out = slowOutput();
      streams.subscribe(
        { service: 'a' },
        {},
        'p',
        out,
        new AbortController().signal,
        describeWith(() => base),
      );
      expect(out.got).toEqual(['Sx']);
      out.flush();
      registry.register({ service: 'a', instance: inst({ instanceId: 'y' }) });
      timers.advance(5);
      const r1 = registry.query({ service: 'a' }).revision - base;
      expect(out.got).toEqual(['Sx', `D0>${r1} +y -`]);
      // Not flushed: the next two changes wait as one pending view, sent as one delta from what it holds.
      registry.cancel({ service: 'a', instanceId: 'x' });
      timers.advance(5);
      registry.register({ service: 'a', instance: inst({ instanceId: 'z' }) });
      timers.advance(5);
      expect(out.got).toHaveLength(2);
      out.flush();
      const r3 = registry.query({ service: 'a' }).revision - base;
      expect(out.got).toEqual(['Sx', `D0>${r1} +y -`, `D${r1}>${r3} +z -x`]);
    });

    it('resumes: nothing but an empty delta when the checksum matches, the delta from a remembered view, else a snapshot', () => {
      const { registry, timers } = setup();
      const { streams } = setupAgain(registry, timers);
      registry.register({ service: 'a', instance: inst({ instanceId: 'x' }) });
      const first = registry.query({ service: 'a' });
      const base = first.revision;
      // A first client holds `first` (the hub remembers the views it hands out).
      const c1 = slowOutput();
      const gone = new AbortController();
      streams.subscribe(
        { service: 'a' },
        {},
        'p',
        c1,
        gone.signal,
        describeWith(() => base),
      );
      gone.abort();
      // Unchanged: an empty delta from the client's revision, whatever that is.
      const same = slowOutput();
      streams.subscribe(
        { service: 'a' },
        {},
        'p',
        same,
        new AbortController().signal,
        describeWith(() => base),
        { revision: base + 0, checksum: first.checksum },
      );
      expect(same.got).toEqual(['D0>0 + -']);
      // Changed since: the delta from the remembered view.
      registry.register({ service: 'a', instance: inst({ instanceId: 'y' }) });
      timers.advance(5);
      const now = registry.query({ service: 'a' }).revision - base;
      const back = slowOutput();
      streams.subscribe(
        { service: 'a' },
        {},
        'p',
        back,
        new AbortController().signal,
        describeWith(() => base),
        { revision: base, checksum: first.checksum },
      );
      expect(back.got).toEqual([`D0>${now} +y -`]);
      // A view the server never handed out (or forgot): a snapshot.
      const unknown = slowOutput();
      streams.subscribe(
        { service: 'a' },
        {},
        'p',
        unknown,
        new AbortController().signal,
        describeWith(() => base),
        { revision: base - 1, checksum: 'feed' },
      );
      expect(unknown.got).toEqual(['Sx,y']);
      expect(streams.stats().resumed).toEqual({ unchanged: 1, delta: 1, snapshot: 1 });
    });
  });
});

/** Streams over an existing registry and timers (a fresh history). */
function setupAgain(registry: ReturnType<typeof makeRegistry>['registry'], timers: ManualTimers) {
  const history = new ViewHistory(timers.clock);
  const hub = new PushHub({ registry, timers, clock: timers.clock, history, mergeWindowMs: 5, fanOutSliceSize: 64, logger: silentLogger });
  const streams = new SubscriberStreams<string>({ hub, history, clock: timers.clock, logger: silentLogger, maxPushesInFlight: 1, maxStreams: 100, maxStreamsPerConnection: 100 });
  return { hub, streams };
}
