/**
 * Anti-entropy (Nacos Distro's verify): compare per-service replica digests with a peer and merge
 * the peer's state of the services that differ (instances at their write versions, with their
 * leases, the cancels it remembers, and the service's settings at their write version, compared
 * through the settings version each digest carries), so a lost replication heals within one verify
 * interval.
 * Symmetric: each node repairs itself from each peer. What is merged follows the version rules
 * (core/replica-rules.ts), so a stale copy (older than a cancel, or with a dead lease) never comes
 * back and an eviction, which leaves no tombstone, never spreads.
 */
import type { Registry } from '../core/registry.js';
import type { ServiceRef } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { PeerLink } from './peer-link.js';
import { emptyCounts, mergeCopy, mergeSettings, mergeTombstone, type MergeCounts, type MergeTarget } from './replica-merge.js';

/** Services fetched per call. */
export const FETCH_CHUNK = 500;

/** The part of the registry anti-entropy uses. */
export type VerifyTarget = MergeTarget & Pick<Registry, 'replicaDigests'>;

export interface RepairReport extends MergeCounts {
  readonly differing: number;
}

const keyOf = (s: ServiceRef): string => `${s.namespace}\u0000${s.group}\u0000${s.service}`;

export async function verifyWithPeer(registry: VerifyTarget, link: PeerLink, nodeId: string, logger: Logger): Promise<RepairReport> {
  const theirs = await link.listDigests(nodeId);
  const mine = new Map(registry.replicaDigests().map((s) => [keyOf(s), s]));
  const differing: ServiceRef[] = [];
  const seen = new Set<string>();
  for (const t of theirs) {
    const k = keyOf(t);
    seen.add(k);
    const m = mine.get(k);
    if (m?.digest !== t.digest || m.settingsVersion !== t.settingsVersion) differing.push({ namespace: t.namespace, group: t.group, service: t.service });
  }
  // Services only this node has: the peer may hold their cancels.
  for (const [k, m] of mine) if (!seen.has(k)) differing.push({ namespace: m.namespace, group: m.group, service: m.service });
  const counts = emptyCounts();
  for (let i = 0; i < differing.length; i += FETCH_CHUNK) {
    for (const state of await link.fetchServices(nodeId, differing.slice(i, i + FETCH_CHUNK))) {
      if (state.settings !== undefined) mergeSettings(registry, state.settings, counts, logger);
      for (const t of state.tombstones) mergeTombstone(registry, t, counts, logger);
      for (const copy of state.copies) mergeCopy(registry, copy, counts, logger);
    }
  }
  return { differing: differing.length, ...counts };
}
