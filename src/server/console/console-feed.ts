/**
 * Feeds the console's event streams. The watched service of a page comes from the push hub (one
 * PushTarget per page, the same merge window and fan-out as every subscriber). The service lists
 * come from the registry's change notifications (the hub's own source): a change marks its
 * namespace dirty, and each dirty namespace's list is built once and offered to its pages (latest
 * wins in each stream): at once after a quiet interval, else when the interval since the last send
 * closes. Node status goes to pages with the cluster
 * view on the node interval; the others get a keep-alive comment then. At most `maxStreams` pages
 * at once.
 */
import type { Clock } from '../../core/clock.js';
import type { Registry } from '../../core/registry.js';
import type { ServiceRef } from '../../core/model.js';
import type { Timers } from '../../common/timers.js';
import type { NodeJson, ServicesJson } from '../../console/protocol.js';
import type { PushHub } from '../../push/push-hub.js';
import { serviceRowJson } from './console-json.js';
import { ConsoleStream, type EventSink } from './console-stream.js';

export interface ConsoleFeedOptions {
  /** A namespace's service list is sent at most this often (ms). */
  readonly summaryIntervalMs: number;
  /** Node status (or a keep-alive comment) is sent this often (ms). */
  readonly nodeIntervalMs: number;
  /** Most event streams open at once; more are refused. */
  readonly maxStreams: number;
}

export const DEFAULT_CONSOLE_FEED_OPTIONS: ConsoleFeedOptions = { summaryIntervalMs: 250, nodeIntervalMs: 2_000, maxStreams: 100 };

export interface ConsoleFeedDeps {
  readonly registry: Pick<Registry, 'onServiceChanged' | 'listServices'>;
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly clock: Clock;
  readonly timers: Timers;
  /** The node's status and peers now. */
  readonly node: () => NodeJson;
  readonly options: ConsoleFeedOptions;
}

/** What a page asks to follow. */
export interface StreamRequest {
  readonly namespace: string;
  /** The service the page shows, if any. */
  readonly service: ServiceRef | undefined;
  /** Whether the caller may see the node and its peers. */
  readonly clusterView: boolean;
}

interface Entry {
  readonly stream: ConsoleStream;
  readonly request: StreamRequest;
  unsubscribe: (() => void) | undefined;
}

/** A namespace's service list, every page of it. */
export function servicesJson(registry: Pick<Registry, 'listServices'>, namespace: string, now: number): ServicesJson {
  const services: ServicesJson['services'][number][] = [];
  let pageToken = '';
  do {
    const page = registry.listServices({ namespace, pageSize: 1000, pageToken });
    for (const s of page.services) services.push(serviceRowJson(s));
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return { namespace, now, services };
}

export class ConsoleFeed {
  private readonly entries = new Set<Entry>();
  private readonly dirty = new Set<string>();
  private summaryTimer: unknown;
  private nodeTimer: unknown;
  /** When service lists were last sent (ms), for the leading edge of the summary interval. */
  private summarySentAtMs = Number.NEGATIVE_INFINITY;
  private readonly stopListening: () => void;
  private closed = false;

  constructor(private readonly deps: ConsoleFeedDeps) {
    this.stopListening = deps.registry.onServiceChanged((c) => {
      this.onChange(c.namespace);
    });
  }

  /** Open streams. */
  get size(): number {
    return this.entries.size;
  }

  /** The open streams (tests and stats). */
  streams(): ConsoleStream[] {
    return [...this.entries].map((e) => e.stream);
  }

  /**
   * Starts a stream on `sink`: the service list, the node (with the cluster view) and the watched
   * service's view are offered at once. Returns its close function (idempotent), or undefined when
   * `maxStreams` are open. Throws the registry's validation error for a bad service address.
   */
  open(sink: EventSink, request: StreamRequest): (() => void) | undefined {
    if (this.closed || this.entries.size >= this.deps.options.maxStreams) return undefined;
    const stream = new ConsoleStream(sink, () => this.deps.clock.nowMs());
    const entry: Entry = { stream, request, unsubscribe: undefined };
    if (request.service !== undefined) {
      entry.unsubscribe = this.deps.hub.subscribe(request.service, {
        filter: {},
        deliver: (view) => {
          stream.offerView(view);
        },
      });
    }
    this.entries.add(entry);
    stream.offerServices(servicesJson(this.deps.registry, request.namespace, this.deps.clock.nowMs()));
    if (request.clusterView) stream.offerNode(this.deps.node());
    this.scheduleNode();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.unsubscribe?.();
      stream.close();
      this.entries.delete(entry);
    };
  }

  /** Ends every stream and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    if (this.summaryTimer !== undefined) this.deps.timers.clearTimeout(this.summaryTimer);
    if (this.nodeTimer !== undefined) this.deps.timers.clearTimeout(this.nodeTimer);
    for (const e of this.entries) {
      e.unsubscribe?.();
      e.stream.close();
    }
    this.entries.clear();
  }

  private onChange(namespace: string): void {
    if (this.entries.size === 0) return;
    this.dirty.add(namespace);
    if (this.summaryTimer !== undefined) return;
    // Leading edge: a lone change goes out at once (on a later turn, merging this turn's changes);
    // changes within the interval after a send become one send when it closes.
    const waitMs = Math.max(0, this.summarySentAtMs + this.deps.options.summaryIntervalMs - this.deps.clock.nowMs());
    this.summaryTimer = this.deps.timers.setTimeout(() => {
      this.summaryTimer = undefined;
      this.summarySentAtMs = this.deps.clock.nowMs();
      this.sendSummaries();
    }, waitMs);
  }

  private sendSummaries(): void {
    const now = this.deps.clock.nowMs();
    const built = new Map<string, ServicesJson>();
    for (const e of this.entries) {
      const ns = e.request.namespace;
      if (!this.dirty.has(ns)) continue;
      let s = built.get(ns);
      if (s === undefined) {
        s = servicesJson(this.deps.registry, ns, now);
        built.set(ns, s);
      }
      e.stream.offerServices(s);
    }
    this.dirty.clear();
  }

  private scheduleNode(): void {
    if (this.nodeTimer !== undefined || this.closed) return;
    this.nodeTimer = this.deps.timers.setTimeout(() => {
      this.nodeTimer = undefined;
      if (this.entries.size === 0) return;
      let node: NodeJson | undefined;
      for (const e of this.entries) {
        if (e.request.clusterView) {
          node ??= this.deps.node();
          e.stream.offerNode(node);
        } else {
          e.stream.ping();
        }
      }
      this.scheduleNode();
    }, this.deps.options.nodeIntervalMs);
  }
}
