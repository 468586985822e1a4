import { describe, expect, it } from 'vitest';
import { LatestWinsSink } from '../../src/push/latest-wins-sink.js';

/** A transport whose flushes the test completes by hand, in any order. */
class HandTransport<T> {
  readonly written: T[] = [];
  private readonly callbacks: ((error?: Error | null) => void)[] = [];

  readonly write = (message: T, done: (error?: Error | null) => void): void => {
    this.written.push(message);
    this.callbacks.push(done);
  };

  /** Completes the write of `this.written[index]`. */
  flush(index: number, error?: Error): void {
    const done = this.callbacks[index];
    if (done === undefined) throw new Error(`no write #${index}`);
    done(error);
  }
}

describe('LatestWinsSink', () => {
  it('has one unflushed write by default; later offers wait, the newest replacing the one pending', () => {
    const t = new HandTransport<string>();
    const sink = new LatestWinsSink(t.write);
    sink.offer('a');
    expect(t.written).toEqual(['a']);
    expect(sink.backlog).toBe(1);

    sink.offer('b');
    expect(t.written).toEqual(['a']);
    expect(sink.backlog).toBe(2);
    expect(sink.skipped).toBe(0);

    sink.offer('c');
    sink.offer('d');
    expect(t.written).toEqual(['a']);
    expect(sink.backlog).toBe(2);
    expect(sink.skipped).toBe(2);

    t.flush(0);
    expect(t.written).toEqual(['a', 'd']);
    expect(sink.backlog).toBe(1);

    t.flush(1);
    expect(sink.backlog).toBe(0);
    expect(t.written).toEqual(['a', 'd']);
  });

  it('keeps at most maxInFlight writes unflushed, whichever of them flushes first', () => {
    const t = new HandTransport<number>();
    const sink = new LatestWinsSink(t.write, 3);
    for (let i = 1; i <= 5; i++) sink.offer(i);
    expect(t.written).toEqual([1, 2, 3]);
    expect(sink.backlog).toBe(4);
    expect(sink.skipped).toBe(1);

    t.flush(1); // the second write flushes before the first
    expect(t.written).toEqual([1, 2, 3, 5]);
    expect(sink.backlog).toBe(3);

    // Room again only after a flush: the next offer waits, it is not written beyond the bound.
    sink.offer(6);
    expect(t.written).toEqual([1, 2, 3, 5]);
    expect(sink.backlog).toBe(4);
    t.flush(0);
    expect(t.written).toEqual([1, 2, 3, 5, 6]);
    expect(sink.backlog).toBe(3);
  });

  it('writes in offer order and never repeats or reorders a message', () => {
    const t = new HandTransport<number>();
    const sink = new LatestWinsSink(t.write, 2);
    let flushed = 0;
    for (let i = 0; i < 20; i++) {
      sink.offer(i);
      // Flush every third offer: some messages are skipped, the rest arrive in order.
      if (i % 3 === 2) t.flush(flushed++);
    }
    while (flushed < t.written.length) t.flush(flushed++);
    const seen = t.written;
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
    expect(seen.at(-1)).toBe(19);
    expect(seen.length + sink.skipped).toBe(20);
    expect(sink.backlog).toBe(0);
  });

  it('counts as skipped only messages replaced while pending, not ones written at once', () => {
    const t = new HandTransport<string>();
    const sink = new LatestWinsSink(t.write, 2);
    sink.offer('a');
    sink.offer('b');
    expect(sink.skipped).toBe(0);
    sink.offer('c');
    expect(sink.skipped).toBe(0);
    t.flush(0);
    expect(t.written).toEqual(['a', 'b', 'c']);
    expect(sink.skipped).toBe(0);
  });

  it('works with a transport that flushes synchronously', () => {
    const written: number[] = [];
    const sink = new LatestWinsSink<number>((m, done) => {
      written.push(m);
      done();
    });
    for (let i = 0; i < 5; i++) sink.offer(i);
    expect(written).toEqual([0, 1, 2, 3, 4]);
    expect(sink.backlog).toBe(0);
    expect(sink.skipped).toBe(0);
  });

  it('frees the slot of a write that failed and sends the pending message', () => {
    const t = new HandTransport<string>();
    const sink = new LatestWinsSink(t.write);
    sink.offer('a');
    sink.offer('b');
    t.flush(0, new Error('stream reset'));
    expect(t.written).toEqual(['a', 'b']);
    expect(sink.backlog).toBe(1);
    t.flush(1, new Error('stream reset'));
    expect(sink.backlog).toBe(0);
    sink.offer('c');
    expect(t.written).toEqual(['a', 'b', 'c']);
  });

  it('close() drops the pending message, writes nothing more when in-flight writes flush, ignores later offers', () => {
    const t = new HandTransport<string>();
    const sink = new LatestWinsSink(t.write);
    sink.offer('a');
    sink.offer('b');
    sink.close();
    expect(sink.backlog).toBe(1); // 'a' is still with the transport
    t.flush(0);
    expect(t.written).toEqual(['a']);
    expect(sink.backlog).toBe(0);

    sink.offer('c');
    expect(t.written).toEqual(['a']);
    expect(sink.backlog).toBe(0);
    expect(sink.skipped).toBe(0);

    sink.close(); // idempotent
    expect(sink.backlog).toBe(0);
  });

  it('close() with nothing in flight ignores offers', () => {
    const t = new HandTransport<string>();
    const sink = new LatestWinsSink(t.write, 4);
    sink.close();
    sink.offer('a');
    expect(t.written).toEqual([]);
    expect(sink.backlog).toBe(0);
  });
});
