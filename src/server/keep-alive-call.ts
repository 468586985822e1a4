/**
 * herald.v1.RegistryService/KeepAlive: renewals on one stream. Each request renews one instance
 * exactly as unary Renew does (the same registry call, permission and registrant rule) and gets one
 * response in order, tagged like the request; a refusal is a response, not the end of the stream.
 * The stream owns no lease: closing it changes nothing. When the client closes its side, the call
 * ends with OK after the last answer. Reading pauses while the responses wait to
 * be flushed, so a client that does not read its answers cannot grow the server's memory.
 */
import { status as GrpcStatus, type handleBidiStreamingCall, type ServerDuplexStream } from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { Principal } from '../auth/permissions.js';
import type { Logger } from '../common/logger.js';
import type { Registry } from '../core/registry.js';
import type { KeepAliveRequest, KeepAliveResponse } from '../gen/herald/v1/registry_service.js';
import { followCaller, namespaceOf } from './grpc-auth.js';
import { grpcError, toGrpcError } from './grpc-errors.js';
import { UndecodableRequest } from './request-decoding.js';

export interface KeepAliveCallDeps {
  readonly registry: Pick<Registry, 'renew'>;
  readonly access: AccessControl;
  readonly logger: Logger;
}

type Call = ServerDuplexStream<KeepAliveRequest | UndecodableRequest, KeepAliveResponse>;

export function keepAliveHandler(deps: KeepAliveCallDeps): handleBidiStreamingCall<KeepAliveRequest | UndecodableRequest, KeepAliveResponse> {
  const { registry, access, logger } = deps;

  const renew = (req: KeepAliveRequest, principal: Principal | undefined): KeepAliveResponse => {
    const refused = { tag: req.tag, leaseExpiresAt: 0, renewalIntervalMs: 0 };
    const namespace = namespaceOf(req);
    if (principal !== undefined) {
      const d = access.decide(principal, 'write', namespace);
      if (!d.allowed) return { ...refused, code: d.authenticated ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED, message: d.message };
    }
    try {
      const actor = principal === undefined ? undefined : access.actor(principal, namespace);
      const r = registry.renew(req, { actor });
      return { tag: req.tag, code: 0, message: '', leaseExpiresAt: r.leaseExpiresAt, renewalIntervalMs: r.renewalIntervalMs };
    } catch (e) {
      const err = toGrpcError(e, logger, 'KeepAlive');
      return { ...refused, code: err.code ?? GrpcStatus.INTERNAL, message: err.details ?? 'internal error' };
    }
  };

  return (call: Call) => {
    const ended = new AbortController();
    const end = (): void => {
      ended.abort();
    };
    for (const event of ['cancelled', 'close', 'finish', 'error']) call.on(event, end);
    let known = false;
    let principal: Principal | undefined;
    const answer = (req: KeepAliveRequest | UndecodableRequest): void => {
      if (ended.signal.aborted) return;
      if (req instanceof UndecodableRequest) {
        call.emit('error', grpcError(GrpcStatus.INVALID_ARGUMENT, req.message));
        return;
      }
      if (!call.write(renew(req, principal))) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    };
    // Until the caller is known, reading waits (grpc-js buffers, HTTP/2 flow control holds the client).
    call.pause();
    call.on('data', answer);
    // The client closed its side: every request has been answered (in order), so the call ends OK.
    call.on('end', () => {
      if (!ended.signal.aborted) call.end();
    });
    followCaller(access, call.metadata, ended.signal, (who) => {
      if (!who.ok) {
        call.emit('error', grpcError(GrpcStatus.UNAUTHENTICATED, who.message));
        return;
      }
      principal = who.principal;
      if (!known) {
        known = true;
        call.resume();
      }
    });
  };
}
