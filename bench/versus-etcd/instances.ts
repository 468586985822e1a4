/**
 * The instance both registries hold, from bench/lib/workload.ts (address, port, three short metadata
 * entries, the derived instance id): as a herald RegisterRequest, and as the JSON value a
 * hand-rolled etcd registry keeps at `/herald-bench/<service>/<instanceId>` with the fields herald
 * keeps and pushes (ip, port, weight, healthy, enabled, ephemeral, cluster, metadata, status, ...).
 * Both get the same lease time.
 */
import { BENCH_METADATA, derivedInstanceId, INSTANCE_PORT, instanceIp } from '../lib/workload.js';

/** Lease time of every instance on both sides (etcd LeaseGrant TTL, herald lease duration): longer than any row, so nothing expires mid-run. */
export const LEASE_TTL_S = 900;

const KEY_ROOT = '/herald-bench/';

/** `/herald-bench/<service>/`: the prefix an etcd subscriber watches and GetService ranges over. */
export function servicePrefix(service: string): string {
  return `${KEY_ROOT}${service}/`;
}

export function etcdKey(service: string, index: number): string {
  return `${servicePrefix(service)}${derivedInstanceId(service, index)}`;
}

/** The instance as an etcd registry stores it (JSON.stringify'd into the value). */
export interface EtcdInstance {
  readonly instanceId: string;
  readonly service: string;
  readonly group: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: string;
  readonly lastDirtyTimestamp: number;
  readonly registrationTimestamp: number;
}

export function etcdValue(service: string, index: number, metadata: Readonly<Record<string, string>> = BENCH_METADATA, nowMs = Date.now()): string {
  const instance: EtcdInstance = {
    instanceId: derivedInstanceId(service, index),
    service,
    group: 'DEFAULT_GROUP',
    ip: instanceIp(index),
    port: INSTANCE_PORT,
    weight: 1,
    healthy: true,
    enabled: true,
    ephemeral: true,
    cluster: 'DEFAULT',
    metadata,
    status: 'UP',
    lastDirtyTimestamp: nowMs,
    registrationTimestamp: nowMs,
  };
  return JSON.stringify(instance);
}

/** herald's RegisterRequest as proto-loader encodes it (unset wrappers: weight 1, healthy, enabled, ephemeral). */
export function heraldRegistration(service: string, index: number, metadata: Readonly<Record<string, string>> = BENCH_METADATA): object {
  return { service, instance: { ip: instanceIp(index), port: INSTANCE_PORT, metadata, lease: { durationMs: String(LEASE_TTL_S * 1000) } } };
}
