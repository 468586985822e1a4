/**
 * A page that stops reading its event stream never grows the server's memory: the stream keeps the
 * newest state (service view, service list, node), never a queue of messages, and once the page
 * reads again it gets one delta to the newest view. First with a sink that never drains (exact
 * counts), then over a real socket whose reader is paused.
 */
import { connect } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { AccessControl } from '../../../src/auth/access-control.js';
import { silentLogger } from '../../../src/common/logger.js';
import { nodeTimers } from '../../../src/common/timers.js';
import { systemClock } from '../../../src/core/clock.js';
import type { ServiceView } from '../../../src/core/model.js';
import { Registry } from '../../../src/core/registry.js';
import type { NodeJson, ServiceDeltaJson, ServiceJson } from '../../../src/console/protocol.js';
import { PushHub } from '../../../src/push/push-hub.js';
import { registerConsoleRoutes } from '../../../src/server/console/console-api.js';
import { ConsoleStream, type EventSink } from '../../../src/server/console/console-stream.js';
import { onCleanup } from '../../support/server.js';
import { makeRegistry } from '../../core/helpers.js';

const ORDERS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

const NODE: NodeJson = {
  nodeId: 'n1',
  now: 0,
  namespaces: 0,
  services: 0,
  instances: 0,
  subscribers: 0,
  selfPreservation: { enabled: true, active: false, renewsLastMinute: 0, renewsThreshold: 0, expectedRenewsPerMinute: 0 },
  eviction: { intervalMs: 60_000, evictedTotal: 0, last: null },
  synced: true,
  peers: [],
};

/** A sink whose socket never drains after the first write. */
class StuckSink implements EventSink {
  readonly chunks: string[] = [];
  private drain: (() => void) | undefined;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return false;
  }
  once(_event: 'drain', listener: () => void): this {
    this.drain = listener;
    return this;
  }
  end(): void {}
  get writableLength(): number {
    return this.drain === undefined ? 0 : (this.chunks.at(-1)?.length ?? 0);
  }
  /** The socket takes what it holds. */
  drained(): void {
    const d = this.drain;
    this.drain = undefined;
    d?.();
  }
}

function events(chunks: readonly string[]): { name: string; data: unknown }[] {
  return chunks
    .join('')
    .split('\n\n')
    .filter((b) => b.startsWith('event: '))
    .map((b) => ({ name: /^event: (.*)$/m.exec(b)?.[1] ?? '', data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? 'null') as unknown }));
}

/** The body of a chunked HTTP/1.1 response, as far as it has arrived. */
function dechunk(body: Buffer): string {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(pos, eol).toString('latin1'), 16);
    if (!(size > 0) || eol + 2 + size > body.length) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out).toString('utf8');
}

describe('console stream backpressure', () => {
  it('keeps only the newest view, list and node while the socket does not drain, then sends one delta to the newest view', () => {
    const { registry } = makeRegistry();
    const view = (): ServiceView => registry.query(ORDERS);
    registry.register({ ...ORDERS, instance: { instanceId: 'o-0', ip: '10.0.0.1', port: 1 } });
    const sink = new StuckSink();
    const stream = new ConsoleStream(sink, () => 0);
    stream.offerView(view());
    expect(stream.isBlocked).toBe(true);
    for (let i = 1; i <= 1_000; i++) {
      registry.register({ ...ORDERS, instance: { instanceId: `o-${i}`, ip: '10.0.0.1', port: i + 1 } });
      stream.offerView(view());
      stream.offerServices({ namespace: 'public', now: i, services: [] });
      stream.offerNode({ ...NODE, now: i });
    }
    // One message written (the first view), nothing queued behind it: 1,000 changes cost nothing.
    expect(sink.chunks).toHaveLength(1);
    expect(stream.written).toBe(1);
    expect(stream.skipped).toBe(3 * 999);
    sink.drained();
    sink.drained();
    sink.drained();
    const sent = events(sink.chunks);
    expect(sent.map((e) => e.name)).toEqual(['service', 'service-delta', 'services', 'node']);
    const delta = sent[1]?.data as ServiceDeltaJson;
    expect(delta.revision).toBe(view().revision);
    expect(delta.upserts).toHaveLength(1_000);
    expect((sent[3]?.data as NodeJson).now).toBe(1_000);
  });

  it('over a real socket: a paused page leaves the server holding one message, however many changes follow; it catches up with the newest view', { timeout: 60_000 }, async () => {
    const registry = new Registry({ clock: systemClock, random: Math.random });
    const hub = new PushHub({ registry, timers: nodeTimers, clock: systemClock, mergeWindowMs: 0, fanOutSliceSize: 64, logger: silentLogger });
    const app = Fastify();
    const feed = registerConsoleRoutes(app, {
      registry,
      hub,
      access: AccessControl.open(systemClock, silentLogger),
      clock: systemClock,
      timers: nodeTimers,
      logger: silentLogger,
      node: () => NODE,
      assetsDir: '/nonexistent',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    onCleanup(async () => {
      hub.close();
      await app.close();
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // 2,000 instances with 4 KB of metadata: the first event (~8 MB) is more than the socket holds.
    const big = 'x'.repeat(4_000);
    for (let i = 0; i < 2_000; i++) registry.register({ ...ORDERS, instance: { instanceId: `o-${String(i).padStart(4, '0')}`, ip: '10.0.0.1', port: i + 1, metadata: { big } } });

    const socket = connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    const received: Buffer[] = [];
    socket.on('data', (b: Buffer) => received.push(b));
    socket.pause();
    socket.write(`GET /console/api/events?namespace=public&service=orders HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10_000 && feed.streams()[0]?.isBlocked !== true; i++) await turn();
    const stream = feed.streams()[0];
    if (stream?.isBlocked !== true) throw new Error('the stream never blocked');
    const written = stream.written;
    const buffered = stream.bufferedBytes;

    for (let i = 0; i < 300; i++) {
      registry.setStatus({ ...ORDERS, instanceId: `o-${String(i).padStart(4, '0')}`, status: 'OUT_OF_SERVICE' });
      await turn();
      await turn();
    }
    expect(stream.isBlocked).toBe(true);
    expect(stream.written).toBe(written);
    expect(stream.bufferedBytes).toBe(buffered);
    expect(stream.skipped).toBeGreaterThanOrEqual(299);

    // The page reads again: after the first view comes one delta to the newest revision.
    const newest = registry.query(ORDERS).revision;
    socket.resume();
    const serviceEvents = (): { name: string; data: ServiceJson | ServiceDeltaJson }[] => {
      const all = Buffer.concat(received);
      return dechunk(all.subarray(all.indexOf('\r\n\r\n') + 4))
        .split('\n\n')
        .filter((b) => /^event: service(-delta)?$/m.test(b))
        .map((b) => ({ name: /^event: (\S+)$/m.exec(b)?.[1] ?? '', data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? 'null') as ServiceJson | ServiceDeltaJson }));
    };
    const marker = Buffer.from(`"revision":${newest},`);
    const caughtUp = (): boolean => Buffer.concat(received).includes(marker) && serviceEvents().some((e) => e.data.revision === newest);
    for (let i = 0; i < 10_000 && !caughtUp(); i++) await new Promise((r) => setTimeout(r, 5));
    const sent = serviceEvents();
    expect(sent.map((e) => e.name)).toEqual(['service', 'service-delta']);
    const delta = sent[1]?.data as ServiceDeltaJson;
    expect(delta.revision).toBe(newest);
    expect(delta.upserts).toHaveLength(300);
  });
});
