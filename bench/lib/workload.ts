/**
 * The instances benchmarks register: distinct IPv4 addresses, one port, a few realistic metadata
 * entries, ids derived by the server (`ip#port#cluster#group@@service`, the default).
 */
import { RegisterRequest, RenewRequest } from '../../src/gen/herald/v1/registry_service.js';

/** Typical metadata of a real instance: three short entries. */
export const BENCH_METADATA: Readonly<Record<string, string>> = Object.freeze({ version: '1.4.2', zone: 'zone-a', protocol: 'grpc' });

/** `bench-svc-007`. */
export function serviceName(index: number): string {
  return `bench-svc-${String(index).padStart(3, '0')}`;
}

/** A distinct 10.x.y.z address for every index below 2^24. */
export function instanceIp(index: number): string {
  return `10.${(index >>> 16) & 255}.${(index >>> 8) & 255}.${index & 255}`;
}

export const INSTANCE_PORT = 8080;

/** The id the server derives for an instance registered without one. */
export function derivedInstanceId(service: string, index: number): string {
  return `${instanceIp(index)}#${INSTANCE_PORT}#DEFAULT#DEFAULT_GROUP@@${service}`;
}

export function registration(service: string, index: number, metadata: Readonly<Record<string, string>> = BENCH_METADATA): RegisterRequest {
  return RegisterRequest.fromPartial({ service, instance: { ip: instanceIp(index), port: INSTANCE_PORT, metadata } });
}

export function renewal(service: string, index: number): RenewRequest {
  return RenewRequest.fromPartial({ service, instanceId: derivedInstanceId(service, index) });
}

/** Instance `i` of `total` spread round-robin over `services` services. */
export function spread(i: number, services: number): { service: string; index: number } {
  return { service: serviceName(i % services), index: i };
}
