/** Host diffs between two snapshots (Nacos's processServiceJSON: new, modified, removed hosts). */
import type { HostDiff, ServiceInstance } from './model.js';

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  if (
    a.ip !== b.ip ||
    a.port !== b.port ||
    a.weight !== b.weight ||
    a.healthy !== b.healthy ||
    a.enabled !== b.enabled ||
    a.ephemeral !== b.ephemeral ||
    a.cluster !== b.cluster ||
    a.status !== b.status ||
    a.overriddenStatus !== b.overriddenStatus
  ) {
    return false;
  }
  const ka = Object.keys(a.metadata);
  return ka.length === Object.keys(b.metadata).length && ka.every((k) => a.metadata[k] === b.metadata[k]);
}

/** What changed from `before` to `after`, matching hosts by instance id. */
export function diffHosts(before: readonly ServiceInstance[], after: readonly ServiceInstance[]): HostDiff {
  const old = new Map(before.map((h) => [h.instanceId, h]));
  const added: ServiceInstance[] = [];
  const modified: ServiceInstance[] = [];
  for (const h of after) {
    const prev = old.get(h.instanceId);
    if (prev === undefined) added.push(h);
    else if (!sameInstance(prev, h)) modified.push(h);
    old.delete(h.instanceId);
  }
  return { added, modified, removed: [...old.values()] };
}

export function isEmptyDiff(d: HostDiff): boolean {
  return d.added.length === 0 && d.modified.length === 0 && d.removed.length === 0;
}
