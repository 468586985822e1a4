/**
 * What the store holds and the writes it takes. Only non-ephemeral state: persistent instances
 * (their records at their write versions, overrides included), the cancels of persistent
 * instances (tombstones, so an acknowledged cancel never comes back after a restart) and service
 * settings. Ephemeral instances never reach it: their truth is the live lease.
 */
import type { Tombstone } from '../core/tombstones.js';
import type { InstanceRecord, InstanceRef, ServiceRef } from '../core/model.js';

/** A persistent instance as stored. */
export interface StoredInstance extends ServiceRef {
  readonly record: InstanceRecord;
}

/** A service's settings as stored. */
export interface StoredService extends ServiceRef {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Everything a store holds, as read at start. */
export interface StoredState {
  readonly instances: readonly StoredInstance[];
  /** Unexpired tombstones (expired ones are deleted when the store opens). */
  readonly tombstones: readonly Tombstone[];
  readonly services: readonly StoredService[];
}

/**
 * One write, as the writer thread applies it (plain arrays: they cross to the writer thread by
 * structured clone). Every batch of ops is one transaction.
 * - `instance`: upsert the record (JSON) at its version; forget a tombstone of the same instance.
 * - `forget`: delete the instance (it became ephemeral).
 * - `cancel`: delete the instance and keep its tombstone.
 * - `service`: upsert a service's settings.
 */
export type StoreOp =
  | readonly [op: 'instance', namespace: string, group: string, service: string, instanceId: string, version: number, recordJson: string]
  | readonly [op: 'forget', namespace: string, group: string, service: string, instanceId: string]
  | readonly [op: 'cancel', namespace: string, group: string, service: string, instanceId: string, version: number, deletedAt: number, expiresAt: number]
  | readonly [op: 'service', namespace: string, group: string, service: string, protectThreshold: number, metadataJson: string];

export function instanceOp(ref: InstanceRef, record: InstanceRecord): StoreOp {
  return ['instance', ref.namespace, ref.group, ref.service, ref.instanceId, record.version, JSON.stringify(record)];
}

export function forgetOp(ref: InstanceRef): StoreOp {
  return ['forget', ref.namespace, ref.group, ref.service, ref.instanceId];
}

export function cancelOp(t: Tombstone): StoreOp {
  return ['cancel', t.namespace, t.group, t.service, t.instanceId, t.version, t.deletedAt, t.expiresAt];
}

export function serviceOp(s: StoredService): StoreOp {
  return ['service', s.namespace, s.group, s.service, s.protectThreshold, JSON.stringify(s.metadata)];
}
