/**
 * One page's event stream (Server-Sent Events) with bounded buffering. What the page has not been
 * sent yet is kept as state, never as a queue of messages: the newest service list, the newest node
 * status and the newest view of the watched service (latest wins, like the subscriber streams).
 * A message is built only when the socket can take it; while the socket is not draining, newer
 * state replaces older, so a page that stops reading costs one message in the socket's buffer plus
 * references to views the registry shares anyway. The service is sent as a delta from the view the
 * page last received (records are immutable: identity tells what changed).
 */
import type { ServiceView } from '../../core/model.js';
import type { ConsoleEvents, NodeJson, ServicesJson } from '../../console/protocol.js';
import { serviceDeltaJson, serviceJson } from './console-json.js';

/** The part of an http.ServerResponse the stream writes to. */
export interface EventSink {
  /** Queues `chunk`; false when the socket's buffer is over its high-water mark (wait for 'drain'). */
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): void;
  /** Bytes queued and not yet handed to the socket. */
  readonly writableLength: number;
}

export function sseEvent<K extends keyof ConsoleEvents>(name: K, data: ConsoleEvents[K]): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class ConsoleStream {
  private blocked = false;
  private closed = false;
  private services: ServicesJson | undefined;
  private node: NodeJson | undefined;
  private newestView: ServiceView | undefined;
  private sentView: ServiceView | undefined;
  private pingDue = false;
  /** States replaced before they were sent: how far behind this page fell. */
  skipped = 0;
  /** Events written. */
  written = 0;

  constructor(
    private readonly sink: EventSink,
    private readonly nowMs: () => number,
  ) {}

  /** The namespace's newest service list. */
  offerServices(s: ServicesJson): void {
    if (this.services !== undefined) this.skipped++;
    this.services = s;
    this.flush();
  }

  /** The node's newest status. */
  offerNode(n: NodeJson): void {
    if (this.node !== undefined) this.skipped++;
    this.node = n;
    this.flush();
  }

  /** The watched service's newest view (the push hub delivers it). */
  offerView(view: ServiceView): void {
    if (this.newestView !== undefined && this.newestView !== this.sentView) this.skipped++;
    this.newestView = view;
    this.flush();
  }

  /** A comment line that keeps proxies from closing an idle stream (skipped while blocked). */
  ping(): void {
    this.pingDue = true;
    this.flush();
  }

  /** Whether the socket is not draining (the stream is holding state back). */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Bytes queued in the response and not yet handed to the socket. */
  get bufferedBytes(): number {
    return this.sink.writableLength;
  }

  /** Ends the response; later offers are ignored. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.services = undefined;
    this.node = undefined;
    this.newestView = undefined;
    this.sentView = undefined;
    this.sink.end();
  }

  private flush(): void {
    while (!this.blocked && !this.closed) {
      const message = this.next();
      if (message === undefined) return;
      this.written++;
      if (!this.sink.write(message)) {
        this.blocked = true;
        this.sink.once('drain', () => {
          this.blocked = false;
          this.flush();
        });
      }
    }
  }

  /** The next message to write, most urgent first: the service the page shows, its list, the node. */
  private next(): string | undefined {
    const view = this.newestView;
    if (view !== undefined && view !== this.sentView) {
      const before = this.sentView;
      this.sentView = view;
      const now = this.nowMs();
      return before === undefined ? sseEvent('service', serviceJson(view, now)) : sseEvent('service-delta', serviceDeltaJson(before, view, now));
    }
    const services = this.services;
    if (services !== undefined) {
      this.services = undefined;
      return sseEvent('services', services);
    }
    const node = this.node;
    if (node !== undefined) {
      this.node = undefined;
      return sseEvent('node', node);
    }
    if (this.pingDue) {
      this.pingDue = false;
      return ': ping\n\n';
    }
    return undefined;
  }
}
