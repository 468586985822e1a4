import type { InstanceRecord } from './model.js';

/**
 * Why the registry refused a request. Transports map each code to their own status in one table
 * (gRPC codes, HTTP statuses); the message is safe to show to the caller and names the field or entity.
 */
export type RegistryErrorCode =
  /** A field is missing or malformed; `violations` lists each one. */
  | 'INVALID_ARGUMENT'
  /** The instance (or service) is not registered, or the caller's copy is newer (re-register). */
  | 'NOT_FOUND'
  /** A replicated write met a newer server copy; `serverCopy` carries it (Eureka's 409). */
  | 'CONFLICT'
  /** A configured limit would be exceeded. */
  | 'LIMIT_EXCEEDED'
  /** The caller may not change this instance: another identity registered it (the registrant rule). */
  | 'PERMISSION_DENIED';

/** One bad field: `field` is a path in the request (`instance.ip`, `instance.metadata["k"]`). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** The registry's only error type. Anything else escaping the core is a bug (INTERNAL at the edge). */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';

  private constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    readonly serverCopy?: InstanceRecord,
  ) {
    super(message);
  }

  /** One or more bad fields; the message joins their descriptions. */
  static invalid(violations: readonly FieldViolation[]): RegistryError {
    return new RegistryError('INVALID_ARGUMENT', violations.map((v) => v.description).join('; '), violations);
  }

  static notFound(message: string): RegistryError {
    return new RegistryError('NOT_FOUND', message);
  }

  static conflict(message: string, serverCopy: InstanceRecord): RegistryError {
    return new RegistryError('CONFLICT', message, [], serverCopy);
  }

  static limit(message: string): RegistryError {
    return new RegistryError('LIMIT_EXCEEDED', message);
  }

  static denied(message: string): RegistryError {
    return new RegistryError('PERMISSION_DENIED', message);
  }
}
