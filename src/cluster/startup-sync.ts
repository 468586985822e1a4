/**
 * Start-up sync: a starting node pulls the registry from the first peer that answers, before it
 * reports SERVING, within a bounded time. Copies are adopted with a fresh lease, so nothing just
 * learned is evicted during the sync window; replications that arrived meanwhile are not
 * overwritten by older copies.
 */
import type { Logger } from '../common/logger.js';
import type { Registry } from '../core/registry.js';
import type { PeerLink } from './peer-link.js';
import { replicatedFromWire } from './peer-codec.js';
import { adoptIfNewer } from './replica-import.js';

export interface SyncReport {
  /** The peer synced from; undefined when none answered in time. */
  readonly peer: string | undefined;
  readonly instances: number;
  readonly services: number;
}

export async function syncFromPeers(registry: Registry, links: readonly PeerLink[], nodeId: string, timeoutMs: number, logger: Logger): Promise<SyncReport> {
  const deadline = Date.now() + timeoutMs;
  for (const link of links) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let instances = 0;
    let services = 0;
    try {
      for await (const chunk of link.syncRegistry(nodeId, remaining)) {
        for (const s of chunk.services) {
          registry.updateService({ namespace: s.namespace, group: s.group, service: s.service, protectThreshold: s.protectThreshold, metadata: s.metadata });
          services++;
        }
        for (const i of chunk.instances) {
          const parsed = replicatedFromWire(i);
          if (parsed !== undefined && adoptIfNewer(registry, parsed.address, parsed.state)) instances++;
        }
      }
      return { peer: link.address, instances, services };
    } catch (e) {
      logger.info({ peer: link.address, error: e instanceof Error ? e.message : String(e) }, 'start-up sync: peer did not answer');
    }
  }
  return { peer: undefined, instances: 0, services: 0 };
}
