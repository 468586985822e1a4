/**
 * The herald client SDK. Start with createRegistryClient; see docs/client.md.
 */
export { createRegistryClient, DuplicateRegistrationError, RegistryClient } from './registry-client.js';
export type { GetServiceInfoOptions, RegistrationHandle, ServiceInfoResult } from './registry-client.js';
export type { PushMode, RegistryClientOptions } from './options.js';
export { CLIENT_DEFAULTS } from './options.js';
export type { ServiceQuery } from './cache-key.js';
export type { ServiceChangeEvent, SnapshotSource } from './service-cache.js';
export type { RegistrationState, RegistrationUpdate } from './registration.js';
export type { ConnectionState } from './server-list.js';
export type { InstanceCall, ServiceCall, Transport, TransportFactory } from './transport.js';
export type { HostDiff, InstanceRef, InstanceSpec, InstanceStatus, ServiceInstance, ServiceSettings, ServiceSnapshot, ServiceSummary } from './model.js';
export { healthyInstances, pickWeighted } from './selection.js';
export { ClientClosedError, ServiceInfoUnavailableError } from './errors.js';
export { isUnavailable, ServerUnreachableError } from './call-errors.js';
export type { Unreached } from './call-errors.js';
export type { SecurityOptions, TlsOptions } from './connection-security.js';
export type { Logger } from '../common/logger.js';
export { HERALD_SCHEME, registerHeraldResolver, WEIGHTED_POLICY } from './grpc-resolver.js';
export type { GrpcModule, HeraldResolver, HeraldResolverOptions } from './grpc-resolver.js';
