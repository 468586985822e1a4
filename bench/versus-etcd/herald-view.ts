/**
 * The state of one service a herald follower holds, and how each message changes it: a snapshot
 * replaces it; a delta (Subscribe with deltas, Watch) must start from the revision held (else a
 * message was missed and the follower must subscribe again), drops the removed ids, replaces or
 * adds the upserted instances by instance_id, keeps the hosts sorted by instance_id and takes the
 * revision and the other fields (docs/protocol.md). The checksum is not recomputed here.
 */
import { tagOfMetadata, type ChangeTag } from '../lib/push/changes.js';
import type { HeraldInstance, ServiceDelta, ServiceInfo } from './herald-client.js';

const byId = (a: HeraldInstance, b: HeraldInstance): number => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0);

export class HeraldServiceView {
  revision = '';
  checksum = '';
  lastRefTime = '0';
  hosts: readonly HeraldInstance[] = [];

  snapshot(info: ServiceInfo): void {
    // The server sends them sorted by instance_id; the binary search below relies on this order.
    this.hosts = info.hosts.every((h, i) => i === 0 || byId(info.hosts[i - 1] ?? h, h) <= 0) ? info.hosts : [...info.hosts].sort(byId);
    this.revision = info.revision;
    this.checksum = info.checksum;
    this.lastRefTime = info.lastRefTime;
  }

  delta(d: ServiceDelta): void {
    if (d.fromRevision !== this.revision) throw new Error(`delta from revision ${d.fromRevision}, but revision ${this.revision} is held: a message was missed`);
    const gone = new Set([...d.removed, ...d.upserted.map((h) => h.instanceId)]);
    this.hosts = [...this.hosts.filter((h) => !gone.has(h.instanceId)), ...d.upserted].sort(byId);
    this.revision = d.revision;
    this.checksum = d.checksum;
    this.lastRefTime = d.lastRefTime;
  }

  /** The instance with `instanceId` (binary search: the hosts are sorted). */
  host(instanceId: string): HeraldInstance | undefined {
    let lo = 0;
    let hi = this.hosts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const h = this.hosts[mid];
      if (h === undefined) return undefined;
      if (h.instanceId === instanceId) return h;
      if (h.instanceId < instanceId) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** The change tag `instanceId` carries, if any. */
  tag(instanceId: string): ChangeTag | undefined {
    const h = this.host(instanceId);
    return h === undefined ? undefined : tagOfMetadata(h.metadata);
  }
}
