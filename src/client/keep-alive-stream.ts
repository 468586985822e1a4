/**
 * Lease renewals over one KeepAlive stream of one server, as promises: each `renew` writes one
 * request with a fresh tag and resolves with its response (or rejects with the gRPC code and
 * message the server answered, e.g. NOT_FOUND: register again). The stream opens with the first
 * renewal and stays open while the transport lives; a renewal unanswered within the deadline, or the
 * stream breaking, rejects everything pending and the next renewal opens a new stream. A stream the
 * server ends with UNAUTHENTICATED (its token was refused: the call credentials log in again) has
 * its pending renewals sent once more on a new stream before they fail. Leases do not depend on
 * the stream.
 */
import { status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { KeepAliveRequest, KeepAliveResponse, RenewRequest, RenewResponse } from '../gen/herald/v1/registry_service.js';
import { statusError } from './watch-mux.js';

interface Pending {
  readonly req: RenewRequest;
  resolve(res: RenewResponse): void;
  reject(e: ServiceError): void;
  timer: NodeJS.Timeout;
  /** Sent again after the stream was refused UNAUTHENTICATED. */
  retried: boolean;
}

export class KeepAliveStream {
  private call: ClientDuplexStream<KeepAliveRequest, KeepAliveResponse> | undefined;
  private nextTag = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly openCall: () => ClientDuplexStream<KeepAliveRequest, KeepAliveResponse>,
    private readonly deadlineMs: number,
  ) {}

  renew(req: RenewRequest): Promise<RenewResponse> {
    return new Promise<RenewResponse>((resolve, reject) => {
      this.send({ req, resolve, reject, timer: this.deadline(), retried: false });
    });
  }

  private deadline(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.fail(statusError(GrpcStatus.DEADLINE_EXCEEDED, `no KeepAlive answer within ${this.deadlineMs} ms`));
    }, this.deadlineMs);
    timer.unref();
    return timer;
  }

  private send(p: Pending): void {
    const tag = this.nextTag++;
    this.pending.set(tag, p);
    const { req } = p;
    this.stream().write({ tag, namespace: req.namespace, group: req.group, service: req.service, instanceId: req.instanceId, lastDirtyTimestamp: req.lastDirtyTimestamp });
  }

  /** Ends the stream; pending renewals reject with CANCELLED. */
  close(): void {
    this.fail(statusError(GrpcStatus.CANCELLED, 'the client closed the keep-alive stream'));
  }

  private stream(): ClientDuplexStream<KeepAliveRequest, KeepAliveResponse> {
    if (this.call !== undefined) return this.call;
    const call = this.openCall();
    this.call = call;
    call.on('data', (res: KeepAliveResponse) => {
      const p = this.pending.get(res.tag);
      if (p === undefined) return;
      this.pending.delete(res.tag);
      clearTimeout(p.timer);
      if (res.code === 0) p.resolve({ leaseExpiresAt: res.leaseExpiresAt, renewalIntervalMs: res.renewalIntervalMs });
      else p.reject(statusError(res.code, res.message));
    });
    call.on('error', (e: ServiceError) => {
      if (this.call === call) this.fail(e);
    });
    call.on('end', () => {
      setImmediate(() => {
        if (this.call === call) this.fail(statusError(GrpcStatus.UNAVAILABLE, 'the server ended the keep-alive stream'));
      });
    });
    return call;
  }

  private fail(e: ServiceError): void {
    const call = this.call;
    this.call = undefined;
    if (call !== undefined) {
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      if (e.code === GrpcStatus.UNAUTHENTICATED && !p.retried) {
        p.retried = true;
        p.timer = this.deadline();
        this.send(p);
      } else {
        p.reject(e);
      }
    }
  }
}
