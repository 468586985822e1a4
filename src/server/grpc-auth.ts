/**
 * The gRPC side of the one access decision: credentials from call metadata (`authorization:
 * Bearer <token>` or `Basic <base64 user:password>`, the cluster secret header), a refusal as
 * UNAUTHENTICATED or PERMISSION_DENIED with the decision's message, and the wrapper that admits a
 * unary call before its handler runs. The decision itself is AccessControl's.
 */
import {
  status as GrpcStatus,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { AccessControl, Admission } from '../auth/access-control.js';
import type { Credentials } from '../auth/authenticator.js';
import type { Permission, Principal } from '../auth/permissions.js';
import { DEFAULT_NAMESPACE } from '../core/model.js';
import { grpcError } from './grpc-errors.js';

/** The metadata key peers put the cluster secret in. */
export const CLUSTER_SECRET_HEADER = 'x-herald-cluster-secret';

function firstString(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/** The credentials a call carries in its `authorization` metadata. */
export function credentialsOf(md: Metadata): Credentials {
  return credentialsFromAuthorization(firstString(md, 'authorization'));
}

/** Credentials from an HTTP-style Authorization value (Bearer or Basic); anything else is a wrong token. */
export function credentialsFromAuthorization(value: string | undefined): Credentials {
  if (value === undefined || value.trim() === '') return { kind: 'none' };
  const [scheme = '', ...rest] = value.trim().split(/\s+/);
  const param = rest.join(' ');
  if (scheme.toLowerCase() === 'bearer') return { kind: 'bearer', token: param };
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(param, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { kind: 'password', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  // Not a scheme we know: a wrong credential, refused (never taken as anonymous).
  return { kind: 'bearer', token: value };
}

/** The cluster secret a call carries, if any. */
export function clusterSecretOf(md: Metadata): string | undefined {
  return firstString(md, CLUSTER_SECRET_HEADER);
}

/** A refused admission as a gRPC status. */
export function refusal(a: Extract<Admission, { ok: false }>): Partial<ServiceError> {
  return grpcError(a.authenticated ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED, a.message);
}

/** The namespace a request names, as the registry reads it (empty = the default namespace). */
export function namespaceOf(req: { namespace?: string }): string {
  const ns = (req.namespace ?? '').trim();
  return ns === '' ? DEFAULT_NAMESPACE : ns;
}

/** What a method needs: a permission on the namespace its request names. */
export interface MethodRule<Req> {
  readonly permission: Permission;
  readonly namespace: (req: Req) => string;
}

/**
 * A unary handler that runs `handle` only once the call is admitted (with auth off, at once and
 * synchronously: the hot path is unchanged). `handle` receives the principal.
 */
export function admitted<Req, Res>(
  access: AccessControl,
  rule: MethodRule<Req>,
  handle: (call: Parameters<handleUnaryCall<Req, Res>>[0], callback: Parameters<handleUnaryCall<Req, Res>>[1], principal: Principal | undefined) => void,
): handleUnaryCall<Req, Res> {
  if (!access.enabled)
    return (call, callback) => {
      handle(call, callback, undefined);
    };
  return (call, callback) => {
    void access.admit(credentialsOf(call.metadata), rule.permission, rule.namespace(call.request)).then(
      (a) => {
        if (a.ok) handle(call, callback, a.principal);
        else callback(refusal(a));
      },
      (e: unknown) => {
        callback(grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`));
      },
    );
  };
}

/**
 * Every method of a service admitted by one rule (`admit` reads the call's metadata): PeerService
 * needs the cluster secret, ClusterService the secret or admin. A refused unary call gets the
 * refusal as its status; a refused stream ends with it.
 */
export function guardService(definition: ServiceDefinition, impl: UntypedServiceImplementation, admit: (md: Metadata) => Promise<Admission>): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = impl[name];
    if (handler === undefined) continue;
    if (method.requestStream) throw new Error(`guardService: client-streaming method ${name} is not supported`);
    if (method.responseStream) {
      const stream = handler as handleServerStreamingCall<unknown, unknown>;
      out[name] = ((call: ServerWritableStream<unknown, unknown>) => {
        admit(call.metadata).then(
          (a) => {
            if (a.ok) stream(call);
            else call.emit('error', refusal(a));
          },
          (e: unknown) => call.emit('error', grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`)),
        );
      }) as handleServerStreamingCall<unknown, unknown>;
    } else {
      const unary = handler as handleUnaryCall<unknown, unknown>;
      out[name] = ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        admit(call.metadata).then(
          (a) => {
            if (a.ok) unary(call, callback);
            else callback(refusal(a));
          },
          (e: unknown) => {
            callback(grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`));
          },
        );
      }) as handleUnaryCall<unknown, unknown>;
    }
  }
  return out;
}

/**
 * The caller of a long-lived client stream (Watch, KeepAlive): authenticated when it opens and again
 * after every reload of the auth file, each result handed to `update` until `ended` aborts; each
 * message is then decided against the latest principal (`access.decide`). With auth off `update`
 * runs once, synchronously, with no principal.
 */
export function followCaller(
  access: AccessControl,
  md: Metadata,
  ended: AbortSignal,
  update: (who: { ok: true; principal: Principal | undefined } | { ok: false; message: string }) => void,
): void {
  if (!access.enabled) {
    update({ ok: true, principal: undefined });
    return;
  }
  const creds = credentialsOf(md);
  const check = (): void => {
    access.authenticate(creds).then(
      (who) => {
        if (!ended.aborted) update(who);
      },
      (e: unknown) => {
        if (!ended.aborted) update({ ok: false, message: `cannot check credentials: ${e instanceof Error ? e.message : String(e)}` });
      },
    );
  };
  check();
  const off = access.onReload(check);
  ended.addEventListener('abort', off, { once: true });
}
