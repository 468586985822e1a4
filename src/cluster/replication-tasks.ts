/**
 * Merge keys of replication tasks (`action/namespace/group/service/instance`, as Eureka's task ids):
 * a newer task for the same instance and action replaces a waiting one in a peer's queue.
 */
import type { InstanceRef } from '../core/model.js';
import type { ReplicationTask } from './peer-link.js';

export function taskKey(kind: ReplicationTask['kind'], ref: InstanceRef): string {
  // A service's settings: ref.instanceId is '', so the key names the service.
  return `${kind}\u0000${ref.namespace}\u0000${ref.group}\u0000${ref.service}\u0000${ref.instanceId}`;
}
