/**
 * Merging what a peer sends in bulk (its start-up sync, an anti-entropy repair) into the local
 * registry, item by item, by write version (see core/replica-rules.ts). Copies without a version
 * (a Eureka server's) are adopted as they are. A bad item is logged and skipped; the others go on.
 */
import { RegistryError } from '../core/errors.js';
import type { Registry, TombstoneInput } from '../core/registry.js';
import type { Logger } from '../common/logger.js';
import type { ConfiguredService } from '../core/replica-state.js';
import type { PeerCopy } from './peer-link.js';

/** The part of the registry bulk merges use. */
export type MergeTarget = Pick<Registry, 'adopt' | 'applyReplica' | 'applyTombstone' | 'applyServiceSettings'>;

export interface MergeCounts {
  /** Copies taken (new here, or newer than what was here). */
  adopted: number;
  /** Local copies removed by a peer's newer cancel. */
  removed: number;
  /** Copies refused: a newer write or cancel is held here, or their lease had run out. */
  refused: number;
  /** Services whose settings were taken (newer than here). */
  settings: number;
}

export function emptyCounts(): MergeCounts {
  return { adopted: 0, removed: 0, refused: 0, settings: 0 };
}

function skip(logger: Logger, what: string, e: unknown): void {
  if (!(e instanceof RegistryError)) throw e;
  logger.warn({ item: what, error: e.message }, 'skipping a peer copy this node cannot take');
}

const describe = (a: { namespace?: string | undefined; group?: string | undefined; service?: string | undefined; instanceId?: string | undefined }): string =>
  `${a.namespace ?? ''}/${a.group ?? ''}/${a.service ?? ''}/${a.instanceId ?? ''}`;

export function mergeCopy(registry: MergeTarget, copy: PeerCopy, counts: MergeCounts, logger: Logger): void {
  try {
    if (copy.state.version === 0) {
      registry.adopt(copy.address, copy.state);
      counts.adopted++;
      return;
    }
    const r = registry.applyReplica(copy.address, copy.state, copy.lastRenewalMs);
    if (r.kind === 'adopted') counts.adopted++;
    else if (r.kind !== 'same') counts.refused++;
  } catch (e) {
    skip(logger, describe(copy.address), e);
  }
}

export function mergeTombstone(registry: MergeTarget, tombstone: TombstoneInput, counts: MergeCounts, logger: Logger): void {
  if (tombstone.version === 0) return; // an older node's deletion record: no version to order it by
  try {
    const r = registry.applyTombstone(tombstone);
    if (r.kind === 'removed') counts.removed++;
    else if (r.kind === 'newer-here') counts.refused++;
  } catch (e) {
    skip(logger, describe(tombstone), e);
  }
}

/** A peer's settings of a service, merged by write version (the newer wins). */
export function mergeSettings(registry: MergeTarget, settings: ConfiguredService, counts: MergeCounts, logger: Logger): void {
  try {
    if (registry.applyServiceSettings(settings).kind === 'adopted') counts.settings++;
  } catch (e) {
    skip(logger, `${settings.namespace}/${settings.group}/${settings.service} (settings)`, e);
  }
}
