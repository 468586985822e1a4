/**
 * What the store holds and the writes it takes. Only non-ephemeral state: persistent instances
 * (their records at their write versions, overrides included), the cancels of persistent
 * instances (tombstones, so an acknowledged cancel never comes back after a restart), service
 * settings at their write versions, and the status overrides an operator set on ephemeral
 * instances (given back when the instance registers again). Ephemeral instances themselves never
 * reach it: their truth is the live lease.
 */
import type { Tombstone } from '../core/tombstones.js';
import type { InstanceRecord, InstanceRef, InstanceStatus, ServiceRef } from '../core/model.js';

/** A persistent instance as stored. */
export interface StoredInstance extends ServiceRef {
  readonly record: InstanceRecord;
}

/** A service's settings as stored. */
export interface StoredService extends ServiceRef {
  readonly protectThreshold: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** The settings' write version (0 for settings stored before versions: schema 1). */
  readonly version: number;
}

/** An operator's status override of an ephemeral instance, as stored. */
export interface StoredOverride extends InstanceRef {
  readonly status: InstanceStatus;
  /** The write version of the record that carried it. */
  readonly version: number;
  /** When it is dropped if the instance has not registered (or renewed) since (ms since epoch). */
  readonly expiresAt: number;
}

/** Everything a store holds, as read at start. */
export interface StoredState {
  readonly instances: readonly StoredInstance[];
  /** Unexpired tombstones (expired ones are deleted when the store opens). */
  readonly tombstones: readonly Tombstone[];
  readonly services: readonly StoredService[];
  /** Unexpired overrides of ephemeral instances (expired ones are deleted when the store opens). */
  readonly overrides: readonly StoredOverride[];
}

/**
 * One write, as the writer thread applies it (plain arrays: they cross to the writer thread by
 * structured clone). Every batch of ops is one transaction.
 * - `instance`: upsert the record (JSON) at its version; forget a tombstone of the same instance.
 * - `forget`: delete the instance (it became ephemeral).
 * - `cancel`: delete the instance and keep its tombstone.
 * - `service`: upsert a service's settings at their version.
 * - `override`: upsert the status override of an ephemeral instance, with when it expires.
 * - `unoverride`: delete it (deleted with DeleteStatusOverride, cancelled, or made persistent).
 */
export type StoreOp =
  | readonly [op: 'instance', namespace: string, group: string, service: string, instanceId: string, version: number, recordJson: string]
  | readonly [op: 'forget', namespace: string, group: string, service: string, instanceId: string]
  | readonly [op: 'cancel', namespace: string, group: string, service: string, instanceId: string, version: number, deletedAt: number, expiresAt: number]
  | readonly [op: 'service', namespace: string, group: string, service: string, protectThreshold: number, metadataJson: string, version: number]
  | readonly [op: 'override', namespace: string, group: string, service: string, instanceId: string, status: string, version: number, expiresAt: number]
  | readonly [op: 'unoverride', namespace: string, group: string, service: string, instanceId: string];

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
  return ['service', s.namespace, s.group, s.service, s.protectThreshold, JSON.stringify(s.metadata), s.version];
}

export function overrideOp(o: StoredOverride): StoreOp {
  return ['override', o.namespace, o.group, o.service, o.instanceId, o.status, o.version, o.expiresAt];
}

export function unoverrideOp(ref: InstanceRef): StoreOp {
  return ['unoverride', ref.namespace, ref.group, ref.service, ref.instanceId];
}
