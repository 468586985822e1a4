/**
 * How a node merges what a peer says about an instance with what it holds (replication, the
 * start-up sync and anti-entropy all use these rules, so the order replicas arrive in does not
 * matter). The state of an instance on a node is a record at a write version, a tombstone at a
 * version, or nothing; the higher version wins, a tombstone winning ties. Pure.
 *
 * - A replica older than a tombstone held here is refused ('deleted'): the cancel was later.
 * - A replica older than the record held here is refused ('newer-here'): the sender should take ours.
 * - A replica at the version held here is the same write: only its lease may move forward ('same').
 * - A replica whose lease ran out before it arrived is refused ('expired'): a copy nobody renews is
 *   dead, whoever still holds it (a peer that was frozen, cut off or slow to replicate).
 * - Otherwise it is taken ('adopt').
 */
import { isLeaseExpired } from './lease.js';
import type { InstanceRecord } from './model.js';
import type { Tombstone } from './tombstones.js';

export type ReplicaDecision = 'adopt' | 'same' | 'newer-here' | 'deleted' | 'expired';

export interface IncomingReplica {
  readonly version: number;
  readonly ephemeral: boolean;
  readonly leaseDurationMs: number;
  /** When the sender last saw the lease renewed (ms since epoch). */
  readonly lastRenewalMs: number;
}

export function decideReplica(local: InstanceRecord | undefined, tombstone: Tombstone | undefined, incoming: IncomingReplica, nowMs: number): ReplicaDecision {
  if (tombstone !== undefined && tombstone.version >= incoming.version) return 'deleted';
  if (local !== undefined && local.version > incoming.version) return 'newer-here';
  if (local !== undefined && local.version === incoming.version) return 'same';
  if (isLeaseExpired({ record: incoming, lastRenewalMs: incoming.lastRenewalMs }, nowMs)) return 'expired';
  return 'adopt';
}

export type TombstoneDecision = 'remove' | 'record' | 'newer-here' | 'known';

/** A peer's cancel at `version`: remove an older record, keep a newer one, remember it either way. */
export function decideTombstone(local: InstanceRecord | undefined, tombstone: Tombstone | undefined, version: number): TombstoneDecision {
  if (local !== undefined && local.version > version) return 'newer-here';
  if (local !== undefined) return 'remove';
  if (tombstone !== undefined && tombstone.version >= version) return 'known';
  return 'record';
}

export type HeartbeatDecision = 'renew' | 'unknown' | 'newer-here' | 'deleted';

/**
 * A peer renewed the lease of the record at `version`: renew it when it is the record held here;
 * 'unknown' asks the sender for the record (absent here, or older here); a newer record or a
 * newer cancel here goes back to the sender.
 */
export function decideHeartbeat(local: InstanceRecord | undefined, tombstone: Tombstone | undefined, version: number): HeartbeatDecision {
  if (local === undefined) return tombstone !== undefined && tombstone.version >= version ? 'deleted' : 'unknown';
  if (local.version === version) return 'renew';
  return local.version > version ? 'newer-here' : 'unknown';
}
