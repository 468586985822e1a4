/**
 * Anti-entropy (Nacos Distro's verify): compare per-service replica digests with a peer and merge
 * the peer's state of the services that differ (instances at their write versions, with their
 * leases, and the cancels it remembers), so a lost replication heals within one verify interval.
 * Symmetric: each node repairs itself from each peer. What is merged follows the version rules
 * (core/replica-rules.ts), so a stale copy (older than a cancel, or with a dead lease) never comes
 * back and an eviction, which leaves no tombstone, never spreads.
 */
import type { Registry } from '../core/registry.js';
import type { ServiceRef } from '../core/model.js';
import type { Logger } from '../common/logger.js';
import type { PeerLink } from './peer-link.js';
import { emptyCounts, mergeInstance, mergeTombstone, type MergeCounts } from './replica-merge.js';

const FETCH_CHUNK = 500;

export interface RepairReport extends MergeCounts {
  readonly differing: number;
}

const keyOf = (s: ServiceRef): string => `${s.namespace}\u0000${s.group}\u0000${s.service}`;

export async function verifyWithPeer(registry: Registry, link: PeerLink, nodeId: string, logger: Logger): Promise<RepairReport> {
  const theirs = await link.listChecksums(nodeId);
  const mine = new Map(registry.replicaDigests().map((s) => [keyOf(s), s]));
  const differing: ServiceRef[] = [];
  const seen = new Set<string>();
  for (const t of theirs.services) {
    const k = keyOf(t);
    seen.add(k);
    if (mine.get(k)?.digest !== t.checksum) differing.push({ namespace: t.namespace, group: t.group, service: t.service });
  }
  // Services only this node has: the peer may hold their cancels.
  for (const [k, m] of mine) if (!seen.has(k)) differing.push(m);
  const counts = emptyCounts();
  for (let i = 0; i < differing.length; i += FETCH_CHUNK) {
    const chunk = differing.slice(i, i + FETCH_CHUNK);
    const res = await link.fetchServices({ nodeId, services: chunk.map((s) => ({ namespace: s.namespace, group: s.group, service: s.service })) });
    for (const state of res.services) {
      const ref = state.service;
      if (ref === undefined) continue;
      for (const t of state.deleted) mergeTombstone(registry, ref, t, counts, logger);
      for (const inst of state.instances) mergeInstance(registry, inst, counts, logger);
    }
  }
  return { differing: differing.length, ...counts };
}
