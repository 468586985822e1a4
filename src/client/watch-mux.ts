/**
 * Many followed services over one Watch stream of one server: each `follow` adds a watch (resuming
 * from the state this client last held of the same service and filter, when it has one), and
 * unsubscribing removes it; the stream opens with the first watch and closes with the last. Each
 * watch's messages go through a DeltaFollower; a gap or a checksum mismatch is repaired here, by
 * watching again without resuming, so the follower only ever sees whole, verified states. A watch
 * the server refuses, or the stream breaking, errors the followers with the gRPC code and message.
 */
import { Metadata, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { InstanceView, type ServiceInfo } from '../gen/herald/v1/model.js';
import type { WatchRequest, WatchResponse } from '../gen/herald/v1/registry_service.js';
import { DeltaFollower } from './delta-follower.js';

/** A service through a filter, as followed. */
export interface FollowRequest {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly clusters: readonly string[];
  readonly healthyOnly: boolean;
  /** How much of each instance to receive; unset = FULL. */
  readonly view?: InstanceView;
}

interface Watch {
  readonly key: string;
  readonly req: FollowRequest;
  readonly subscriber: Subscriber<ServiceInfo>;
  follower: DeltaFollower;
}

/** An error shaped like a grpc-js ServiceError, for a refusal that arrives as a message (an unknown code becomes UNKNOWN). */
export function statusError(code: number, details: string): ServiceError {
  const status = Object.values(GrpcStatus).find((v): v is GrpcStatus => (v as number) === code) ?? GrpcStatus.UNKNOWN;
  return Object.assign(new Error(`${status} ${GrpcStatus[status]}: ${details}`), { code: status, details, metadata: new Metadata() });
}

function keyOf(r: FollowRequest): string {
  return JSON.stringify([r.namespace, r.group, r.service, [...r.clusters].sort(), r.healthyOnly, r.view ?? 0]);
}

export interface WatchMuxStats {
  readonly open: number;
  /** Watches re-added without resuming after a gap or a checksum mismatch. */
  readonly resyncs: number;
  /** Watches added with a resume point. */
  readonly resumes: number;
}

export class WatchMux {
  private call: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private nextId = 1;
  private readonly watches = new Map<number, Watch>();
  /** The last state held per followed key, to resume from (kept while the mux lives). */
  private readonly held = new Map<string, ServiceInfo>();
  private resyncs = 0;
  private resumes = 0;

  constructor(private readonly openCall: () => ClientDuplexStream<WatchRequest, WatchResponse>) {}

  /** The service's states: the current one first, then one per change; unsubscribing removes the watch. */
  follow(req: FollowRequest): Observable<ServiceInfo> {
    return new Observable<ServiceInfo>((subscriber) => {
      const key = keyOf(req);
      let id = this.add(key, req, subscriber, this.held.get(key));
      return () => {
        // A resync may have re-added it under a new id.
        for (const [wid, w] of this.watches) if (w.subscriber === subscriber) id = wid;
        this.remove(id);
      };
    });
  }

  stats(): WatchMuxStats {
    return { open: this.watches.size, resyncs: this.resyncs, resumes: this.resumes };
  }

  /** Ends the stream; open followers error with CANCELLED. */
  close(): void {
    this.fail(statusError(GrpcStatus.CANCELLED, 'the client closed the watch stream'));
  }

  private add(key: string, req: FollowRequest, subscriber: Subscriber<ServiceInfo>, resumeFrom: ServiceInfo | undefined): number {
    const id = this.nextId++;
    this.watches.set(id, { key, req, subscriber, follower: new DeltaFollower(resumeFrom) });
    if (resumeFrom !== undefined) this.resumes++;
    this.stream().write({
      add: {
        watchId: id,
        namespace: req.namespace,
        group: req.group,
        service: req.service,
        clusters: [...req.clusters],
        healthyOnly: req.healthyOnly,
        resumeRevision: resumeFrom?.revision ?? 0,
        resumeChecksum: resumeFrom?.checksum ?? '',
        view: req.view ?? InstanceView.INSTANCE_VIEW_UNSPECIFIED,
      },
    });
    return id;
  }

  private remove(id: number): void {
    if (!this.watches.delete(id)) return;
    const call = this.call;
    if (call === undefined) return;
    if (this.watches.size === 0) {
      this.call = undefined;
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
    } else {
      call.write({ remove: { watchId: id } });
    }
  }

  private stream(): ClientDuplexStream<WatchRequest, WatchResponse> {
    if (this.call !== undefined) return this.call;
    const call = this.openCall();
    this.call = call;
    call.on('data', (res: WatchResponse) => {
      this.onResponse(res);
    });
    call.on('error', (e: ServiceError) => {
      if (this.call === call) this.fail(e);
    });
    call.on('end', () => {
      // 'error' follows 'end' for a non-OK status; an OK end (which the server never sends) breaks the watches too.
      setImmediate(() => {
        if (this.call === call) this.fail(statusError(GrpcStatus.UNAVAILABLE, 'the server ended the watch stream'));
      });
    });
    return call;
  }

  private onResponse(res: WatchResponse): void {
    const w = this.watches.get(res.watchId);
    if (w === undefined) return; // removed meanwhile
    if (res.canceled) {
      this.watches.delete(res.watchId);
      if (res.errorCode !== 0) w.subscriber.error(statusError(res.errorCode, res.errorMessage));
      else w.subscriber.complete();
      return;
    }
    let info: ServiceInfo;
    try {
      info = w.follower.accept(res);
    } catch {
      // A missed message or a state that does not match the server's: start over from a snapshot.
      this.held.delete(w.key);
      this.watches.delete(res.watchId);
      this.call?.write({ remove: { watchId: res.watchId } });
      this.resyncs++;
      this.add(w.key, w.req, w.subscriber, undefined);
      return;
    }
    this.held.set(w.key, info);
    w.subscriber.next(info);
  }

  private fail(e: ServiceError): void {
    const call = this.call;
    this.call = undefined;
    const watches = [...this.watches.values()];
    this.watches.clear();
    if (call !== undefined) {
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
    }
    for (const w of watches) w.subscriber.error(e);
  }
}
