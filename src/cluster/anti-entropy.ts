/**
 * Anti-entropy (Nacos Distro's verify): compare per-service checksums with a peer and repair the
 * services that differ from the peer's full state, so a lost replication heals within one verify
 * interval. Symmetric: each node repairs itself from each peer.
 */
import type { Registry } from '../core/registry.js';
import type { ServiceRef } from '../core/model.js';
import { serviceChecksums, serviceState } from '../core/replica-state.js';
import type { PeerLink } from './peer-link.js';
import { replicatedFromWire } from './peer-codec.js';
import { adoptIfNewer, removeIfOlder } from './replica-import.js';

const FETCH_CHUNK = 500;

export interface RepairReport {
  readonly differing: number;
  readonly adopted: number;
  readonly removed: number;
}

const keyOf = (s: ServiceRef): string => `${s.namespace}\u0000${s.group}\u0000${s.service}`;

export async function verifyWithPeer(registry: Registry, link: PeerLink, nodeId: string): Promise<RepairReport> {
  const theirs = await link.listChecksums(nodeId);
  const mine = new Map(serviceChecksums(registry).map((s) => [keyOf(s), s]));
  const differing: ServiceRef[] = [];
  const seen = new Set<string>();
  for (const t of theirs.services) {
    const k = keyOf(t);
    seen.add(k);
    if (mine.get(k)?.checksum !== t.checksum) differing.push({ namespace: t.namespace, group: t.group, service: t.service });
  }
  for (const [k, m] of mine) if (!seen.has(k)) differing.push(m);
  let adopted = 0;
  let removed = 0;
  for (let i = 0; i < differing.length; i += FETCH_CHUNK) {
    const chunk = differing.slice(i, i + FETCH_CHUNK);
    const res = await link.fetchServices({ nodeId, services: chunk.map((s) => ({ namespace: s.namespace, group: s.group, service: s.service })) });
    for (const state of res.services) {
      const ref = state.service;
      if (ref === undefined) continue;
      const deletedHere = new Map(serviceState(registry, ref).deleted.map((t) => [t.instanceId, t.deletedAt]));
      for (const inst of state.instances) {
        const parsed = replicatedFromWire(inst);
        if (parsed !== undefined && adoptIfNewer(registry, parsed.address, parsed.state, deletedHere.get(parsed.address.instanceId ?? ''))) adopted++;
      }
      for (const t of state.deleted) {
        if (removeIfOlder(registry, { ...ref, instanceId: t.instanceId }, t.deletedAt)) removed++;
      }
    }
  }
  return { differing: differing.length, adopted, removed };
}
