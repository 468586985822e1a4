/**
 * The gRPC transport's one error table (etcd's toGRPCErrorMap): RegistryError codes to gRPC status
 * codes. Anything else is a bug: it becomes INTERNAL with a generic message and a log line, never a
 * stack trace on the wire.
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { RegistryError, type RegistryErrorCode } from '../core/errors.js';
import type { Logger } from '../common/logger.js';

export const GRPC_STATUS_OF: Readonly<Record<RegistryErrorCode, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  CONFLICT: GrpcStatus.ABORTED,
  LIMIT_EXCEEDED: GrpcStatus.RESOURCE_EXHAUSTED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
};

/** A status with a message and no stack, as grpc-js expects from handlers. */
export function grpcError(code: GrpcStatus, details: string): Partial<ServiceError> {
  return { code, details, message: details, metadata: new Metadata() };
}

/** Maps a thrown value to the status sent to the caller. */
export function toGrpcError(e: unknown, logger: Logger, method: string): Partial<ServiceError> {
  if (e instanceof RegistryError) return grpcError(GRPC_STATUS_OF[e.code], e.message);
  logger.error({ err: e, method }, 'unexpected error in handler');
  return grpcError(GrpcStatus.INTERNAL, 'internal error');
}
