/**
 * herald.v1.AuthService: Login checks a user name and password against the auth file and answers
 * an access token (the gRPC form of Nacos's POST /nacos/v1/auth/login). Open to every caller.
 */
import { status as GrpcStatus, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { LoginRequest, LoginResponse } from '../gen/herald/v1/auth_service.js';
import { grpcError } from './grpc-errors.js';

export function authServiceHandlers(access: AccessControl): UntypedServiceImplementation {
  const login: handleUnaryCall<LoginRequest, LoginResponse> = (call, callback) => {
    if (!access.enabled) {
      callback(grpcError(GrpcStatus.FAILED_PRECONDITION, 'authentication is off on this server: calls need no token'));
      return;
    }
    const { username, password } = call.request;
    if (username === '' || password === '') {
      callback(grpcError(GrpcStatus.INVALID_ARGUMENT, username === '' ? 'username is required' : 'password is required'));
      return;
    }
    access.login(username, password).then(
      (r) => {
        if (r.ok) callback(null, { accessToken: r.token, tokenTtlMs: r.ttlMs, username: r.principal.name });
        else callback(grpcError(GrpcStatus.UNAUTHENTICATED, r.message));
      },
      (e: unknown) => {
        callback(grpcError(GrpcStatus.INTERNAL, `cannot check credentials: ${e instanceof Error ? e.message : String(e)}`));
      },
    );
  };
  return { login };
}
