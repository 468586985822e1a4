/**
 * Start-up sync: a starting node pulls the registry from the first peer that answers, before it
 * reports SERVING, within a bounded time: the peer's tombstones first, then its instances with
 * their leases as the peer holds them, merged by write version (core/replica-rules.ts). Replications
 * that arrive meanwhile or later (queued at peers while this node was down) go through the same
 * rules, so the order does not matter and nothing the cluster cancelled comes back.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import type { Registry } from '../core/registry.js';
import type { PeerLink } from './peer-link.js';
import { emptyCounts, mergeCopy, mergeSettings, mergeTombstone, type MergeTarget } from './replica-merge.js';

/** The part of the registry the sync uses. */
export type SyncTarget = MergeTarget & Pick<Registry, 'applyServiceSettings'>;

export interface SyncReport {
  /** The peer synced from; undefined when none answered in time. */
  readonly peer: string | undefined;
  readonly instances: number;
  readonly services: number;
  readonly tombstones: number;
}

export async function syncFromPeers(registry: SyncTarget, links: readonly PeerLink[], nodeId: string, timeoutMs: number, clock: Clock, logger: Logger): Promise<SyncReport> {
  const deadline = clock.nowMs() + timeoutMs;
  for (const link of links) {
    const remaining = deadline - clock.nowMs();
    if (remaining <= 0) break;
    const counts = emptyCounts();
    let services = 0;
    let tombstones = 0;
    try {
      for await (const chunk of link.syncRegistry(nodeId, remaining)) {
        for (const s of chunk.services) {
          mergeSettings(registry, s, counts, logger);
          services++;
        }
        for (const t of chunk.tombstones) {
          mergeTombstone(registry, t, counts, logger);
          tombstones++;
        }
        for (const copy of chunk.copies) mergeCopy(registry, copy, counts, logger);
      }
      return { peer: link.address, instances: counts.adopted, services, tombstones };
    } catch (e) {
      logger.info({ peer: link.address, error: e instanceof Error ? e.message : String(e) }, 'start-up sync: peer did not answer');
    }
  }
  return { peer: undefined, instances: 0, services: 0, tombstones: 0 };
}
