/**
 * Merging what a peer sends in bulk (its start-up sync, an anti-entropy repair) into the local
 * registry, item by item, by write version (see core/replica-rules.ts). Copies without a version
 * (a Eureka server's) are adopted as they are. A bad item is logged and skipped; the others go on.
 */
import { RegistryError } from '../core/errors.js';
import type { Registry } from '../core/registry.js';
import type { ServiceRef } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { ReplicatedInstance, Tombstone as WireTombstone } from '../gen/herald/v1/peer_service.js';
import { replicatedFromWire, tombstoneFromWire } from './peer-codec.js';

export interface MergeCounts {
  /** Copies taken (new here, or newer than what was here). */
  adopted: number;
  /** Local copies removed by a peer's newer cancel. */
  removed: number;
  /** Copies refused: a newer write or cancel is held here, or their lease had run out. */
  refused: number;
}

export function emptyCounts(): MergeCounts {
  return { adopted: 0, removed: 0, refused: 0 };
}

function skip(logger: Logger, what: string, e: unknown): void {
  if (!(e instanceof RegistryError)) throw e;
  logger.warn({ item: what, error: e.message }, 'skipping a peer copy this node cannot take');
}

export function mergeInstance(registry: Registry, wire: ReplicatedInstance, counts: MergeCounts, logger: Logger): void {
  const parsed = replicatedFromWire(wire);
  if (parsed === undefined) return;
  try {
    if (parsed.state.version === 0) {
      registry.adopt(parsed.address, parsed.state);
      counts.adopted++;
      return;
    }
    const r = registry.applyReplica(parsed.address, parsed.state, parsed.lastRenewalMs);
    if (r.kind === 'adopted') counts.adopted++;
    else if (r.kind !== 'same') counts.refused++;
  } catch (e) {
    skip(logger, `${wire.namespace}/${wire.group}/${wire.service}/${parsed.address.instanceId ?? ''}`, e);
  }
}

export function mergeTombstone(registry: Registry, ref: ServiceRef, wire: WireTombstone, counts: MergeCounts, logger: Logger): void {
  if (wire.version === 0) return; // an older node's deletion record: no version to order it by
  try {
    const r = registry.applyTombstone(tombstoneFromWire(ref, wire));
    if (r.kind === 'removed') counts.removed++;
    else if (r.kind === 'newer-here') counts.refused++;
  } catch (e) {
    skip(logger, `${ref.namespace}/${ref.group}/${ref.service}/${wire.instanceId}`, e);
  }
}
