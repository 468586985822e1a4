/**
 * What a node says to a peer and hears back, in the core's terms: the cluster depends on this
 * interface only, and each transport implements it (herald's gRPC PeerService, a Eureka server's
 * REST API; see src/server/peer and src/server/eureka). Tests wrap links to inject faults.
 */
import type { InstanceAddress, InstanceState, ReplicaDigestEntry, TombstoneInput, WriteEvent } from '../core/registry.js';
import type { InstanceRef, ServiceRef } from '../core/model.js';
import type { ConfiguredService } from '../core/replica-state.js';

/** A peer's copy of an instance: where, its state (with its write version), its lease's last renewal. */
export interface PeerCopy {
  readonly address: InstanceAddress;
  readonly state: InstanceState;
  /** When the peer last saw the lease renewed (ms since epoch); 0 = unknown. */
  readonly lastRenewalMs: number;
}

/**
 * A service's settings as a client set them here (UpdateService), to repeat on a peer. `ref` names
 * the service (its instanceId is ''), so tasks share one merge key scheme.
 */
export interface SettingsTask {
  readonly kind: 'service';
  readonly ref: InstanceRef;
  readonly settings: ConfiguredService;
  readonly replication: false;
}

/** A client write to repeat on a peer: the registry's write event, or a service's new settings. */
export type ReplicationTask = WriteEvent | SettingsTask;

/** How a peer answered one task (see core/replica-rules.ts). */
export type PeerAnswer =
  | { readonly kind: 'ok' }
  /** The peer does not know the instance (or holds an older write): send it the record. */
  | { readonly kind: 'not-found' }
  /** The peer holds a newer write: take its copy (Eureka's 409). */
  | { readonly kind: 'newer-here'; readonly copy: PeerCopy | undefined }
  /** The peer holds a newer cancel: apply it. */
  | { readonly kind: 'deleted'; readonly tombstone: TombstoneInput }
  /** The task was invalid and was not applied. */
  | { readonly kind: 'rejected'; readonly message: string };

/** One service as a peer holds it: its instances and the cancels it remembers. */
export interface ServiceReplica {
  readonly service: ServiceRef;
  readonly copies: readonly PeerCopy[];
  readonly tombstones: readonly TombstoneInput[];
  /** Its settings when it is configured there (undefined from a peer that does not send them). */
  readonly settings?: ConfiguredService | undefined;
}

/** One chunk of a peer's registry dump (start-up sync). */
export interface SyncChunk {
  readonly services: readonly ConfiguredService[];
  readonly copies: readonly PeerCopy[];
  readonly tombstones: readonly TombstoneInput[];
}

export interface PeerLink {
  /** The peer's address as configured. */
  readonly address: string;
  /** false when the peer cannot answer digests (a Eureka server): anti-entropy skips it. */
  readonly antiEntropy?: boolean;
  /** Sends a batch, oldest first; resolves with the peer's node id and one answer per task, in order. */
  replicate(nodeId: string, tasks: readonly ReplicationTask[]): Promise<{ nodeId: string; answers: PeerAnswer[] }>;
  /** Every chunk of the peer's registry, or a rejection. */
  syncRegistry(nodeId: string, deadlineMs: number): AsyncIterable<SyncChunk>;
  /** The replica digest of every non-empty service of the peer. */
  listDigests(nodeId: string): Promise<ReplicaDigestEntry[]>;
  /** The peer's state of some services. */
  fetchServices(nodeId: string, services: readonly ServiceRef[]): Promise<ServiceReplica[]>;
  close(): void;
}

/** What a peer asks this node to apply (the receiving side of `replicate`). */
export type IncomingTask =
  | {
      readonly kind: 'register' | 'status' | 'delete-override';
      readonly ref: InstanceRef;
      /** The resulting record with its version; version 0 (an older node) means "apply the action as a plain write". */
      readonly copy: PeerCopy | undefined;
      /** STATUS / DELETE-OVERRIDE from an older node: the status (name, or a number the core will refuse). */
      readonly status: string | undefined;
      readonly lastDirtyTimestamp: number;
    }
  | { readonly kind: 'heartbeat'; readonly ref: InstanceRef; readonly version: number; readonly renewedAtMs: number; readonly lastDirtyTimestamp: number }
  | { readonly kind: 'cancel'; readonly ref: InstanceRef; readonly tombstone: TombstoneInput | undefined }
  | { readonly kind: 'service'; readonly ref: InstanceRef; readonly settings: ConfiguredService }
  | { readonly kind: 'unknown'; readonly ref: InstanceRef; readonly action: number };
