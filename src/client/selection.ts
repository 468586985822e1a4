/**
 * Choosing instances: the usable ones (healthy, enabled, UP, positive weight) with Nacos's protect
 * threshold, and a weighted random pick (Nacos's Balancer).
 */
import { isUsable } from '../core/model.js';
import type { ServiceInstance, ServiceSnapshot } from './model.js';

/**
 * The instances that may take traffic. When their share of all instances is below the service's
 * protect threshold, all instances are returned instead (and `protected` is true), so a few
 * survivors are not flooded, as the server does for healthy-only queries.
 */
export function healthyInstances(snapshot: ServiceSnapshot): { instances: ServiceInstance[]; protected: boolean } {
  const all = snapshot.hosts;
  const usable = all.filter(isUsable);
  const t = snapshot.protectThreshold;
  if (snapshot.reachProtectionThreshold || (t > 0 && all.length > 0 && usable.length / all.length < t)) {
    return { instances: [...all], protected: true };
  }
  return { instances: usable, protected: false };
}

/**
 * Picks one instance with probability proportional to its weight. Instances with weight 0 are
 * never picked; undefined when none has a positive weight. `random` returns a float in [0, 1).
 */
export function pickWeighted(instances: readonly ServiceInstance[], random: () => number = Math.random): ServiceInstance | undefined {
  let total = 0;
  for (const i of instances) if (i.weight > 0) total += i.weight;
  if (total <= 0) return undefined;
  let r = random() * total;
  let last: ServiceInstance | undefined;
  for (const i of instances) {
    if (i.weight <= 0) continue;
    last = i;
    r -= i.weight;
    if (r < 0) return i;
  }
  return last; // floating-point remainder: the last positive-weight instance
}
