/**
 * herald.v1.RegistryService/Watch: many subscriptions on one stream. Each WatchAdd opens a
 * subscriber stream (push owns it, counted against the Subscribe limits) whose messages are
 * WatchResponses tagged with the client's watch_id: the snapshot (or the delta from the view it
 * resumes from), then deltas. A watch that cannot open, or whose caller loses the right at an auth
 * reload, ends with a canceled response carrying the gRPC code and message; the stream goes on.
 */
import { status as GrpcStatus, type handleBidiStreamingCall, type ServerDuplexStream } from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { Principal } from '../auth/permissions.js';
import type { Logger } from '../common/logger.js';
import type { WatchAdd, WatchRequest } from '../gen/herald/v1/registry_service.js';
import type { SubscriberStreams } from '../push/subscriber-streams.js';
import { followCaller, namespaceOf } from './grpc-auth.js';
import { grpcError, toGrpcError } from './grpc-errors.js';
import { UndecodableRequest } from './request-decoding.js';
import type { StreamFrames } from './stream-frames.js';
import { viewOf, type PerView } from './registry-service.js';

export interface WatchCallDeps {
  readonly streams: SubscriberStreams<Buffer>;
  readonly frames: PerView<StreamFrames>;
  readonly access: AccessControl;
  readonly logger: Logger;
}

/** Requests kept while the caller is being authenticated; more ends the stream. */
const MAX_EARLY_REQUESTS = 1_000;

const SHUTTING_DOWN = grpcError(GrpcStatus.UNAVAILABLE, 'server is shutting down');

interface OpenWatch {
  readonly namespace: string;
  readonly ended: AbortController;
}

type Call = ServerDuplexStream<WatchRequest | UndecodableRequest, Buffer>;

class WatchSession {
  private readonly watches = new Map<number, OpenWatch>();
  private principal: Principal | undefined;
  private known = false;
  private early: WatchRequest[] = [];

  constructor(
    private readonly deps: WatchCallDeps,
    private readonly call: Call,
    private readonly ended: AbortSignal,
  ) {}

  /** The caller, at open and after each auth reload: queued requests run, and every watch is decided again. */
  onCaller(who: { ok: true; principal: Principal | undefined } | { ok: false; message: string }): void {
    if (!who.ok) {
      this.call.emit('error', grpcError(GrpcStatus.UNAUTHENTICATED, who.message));
      return;
    }
    this.principal = who.principal;
    this.known = true;
    for (const [id, w] of [...this.watches]) {
      const refused = this.refusal(w.namespace);
      if (refused !== undefined) this.cancel(id, refused.code, refused.message);
    }
    const early = this.early;
    this.early = [];
    for (const r of early) this.onRequest(r);
  }

  onRequest(req: WatchRequest | UndecodableRequest): void {
    if (this.ended.aborted) return;
    if (req instanceof UndecodableRequest) {
      this.call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, req.message));
      return;
    }
    if (!this.known) {
      if (this.early.length >= MAX_EARLY_REQUESTS) {
        this.call.emit('error', grpcError(GrpcStatus.RESOURCE_EXHAUSTED, `more than ${MAX_EARLY_REQUESTS} watch requests before the caller was authenticated`));
        return;
      }
      this.early.push(req);
      return;
    }
    if (req.add !== undefined) this.add(req.add);
    else if (req.remove !== undefined) {
      if (this.watches.has(req.remove.watchId)) this.cancel(req.remove.watchId, 0, '');
    } else {
      this.call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, 'request must set add or remove'));
    }
  }

  /** Ends every watch (the stream has ended). */
  close(): void {
    for (const w of this.watches.values()) w.ended.abort();
    this.watches.clear();
  }

  private add(a: WatchAdd): void {
    const id = a.watchId;
    if (this.watches.has(id)) {
      this.refuse(id, GrpcStatus.INVALID_ARGUMENT, `add.watch_id ${id} is already open on this stream`);
      return;
    }
    if (a.resumeRevision !== 0 && a.resumeChecksum === '') {
      this.refuse(id, GrpcStatus.INVALID_ARGUMENT, 'add.resume_checksum is required with add.resume_revision');
      return;
    }
    const namespace = namespaceOf(a);
    const refused = this.refusal(namespace);
    if (refused !== undefined) {
      this.refuse(id, refused.code, refused.message);
      return;
    }
    let frames: StreamFrames;
    try {
      frames = this.deps.frames[viewOf(a.view, 'add.view')];
    } catch (e) {
      const err = toGrpcError(e, this.deps.logger, 'Watch');
      this.refuse(id, err.code ?? GrpcStatus.INTERNAL, err.details ?? 'internal error');
      return;
    }
    const w: OpenWatch = { namespace, ended: new AbortController() };
    this.watches.set(id, w);
    try {
      const refusal = this.deps.streams.subscribe(
        a,
        { clusters: a.clusters, healthyOnly: a.healthyOnly },
        this.call.getPeer(),
        {
          write: (frame, done) => this.call.write(frame, done),
          end: () => this.call.emit('error', SHUTTING_DOWN),
        },
        w.ended.signal,
        { snapshot: (view) => frames.watchSnapshot(id, view), delta: (from, to) => frames.watchDelta(id, from, to) },
        a.resumeRevision === 0 ? undefined : { revision: a.resumeRevision, checksum: a.resumeChecksum },
      );
      if (refusal !== undefined) this.cancel(id, GrpcStatus.RESOURCE_EXHAUSTED, refusal.message);
    } catch (e) {
      const err = toGrpcError(e, this.deps.logger, 'Watch');
      this.cancel(id, err.code ?? GrpcStatus.INTERNAL, err.details ?? 'internal error');
    }
  }

  private refusal(namespace: string): { code: GrpcStatus; message: string } | undefined {
    if (this.principal === undefined) return undefined;
    const d = this.deps.access.decide(this.principal, 'read', namespace);
    if (d.allowed) return undefined;
    return { code: d.authenticated ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED, message: d.message };
  }

  /** Ends an open watch with a canceled response. */
  private cancel(id: number, code: number, message: string): void {
    const w = this.watches.get(id);
    if (w !== undefined) {
      this.watches.delete(id);
      w.ended.abort();
    }
    this.refuse(id, code, message);
  }

  /** Writes the canceled response of watch `id`. */
  private refuse(id: number, code: number, message: string): void {
    if (!this.ended.aborted) this.call.write(this.deps.frames.full.watchCanceled(id, code, message));
  }
}

export function watchHandler(deps: WatchCallDeps): handleBidiStreamingCall<WatchRequest | UndecodableRequest, Buffer> {
  return (call) => {
    const ended = new AbortController();
    const session = new WatchSession(deps, call, ended.signal);
    const end = (): void => {
      if (ended.signal.aborted) return;
      ended.abort();
      session.close();
    };
    for (const event of ['cancelled', 'close', 'finish', 'error']) call.on(event, end);
    call.on('data', (req: WatchRequest | UndecodableRequest) => {
      session.onRequest(req);
    });
    followCaller(deps.access, call.metadata, ended.signal, (who) => {
      session.onCaller(who);
    });
  };
}
