/**
 * Taking peers' copies into the local registry (start-up sync, anti-entropy repair): a peer's copy
 * is adopted unless the local one is newer (a later dirty timestamp, or the same one changed later
 * here), and a peer's recent deletion removes a local copy that has not changed since.
 */
import { RegistryError } from '../core/errors.js';
import type { InstanceAddress, InstanceState, Registry } from '../core/registry.js';

function local(registry: Registry, address: InstanceAddress): ReturnType<Registry['getInstance']> | undefined {
  try {
    return registry.getInstance(address);
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}

/** Adopts `state` unless the local copy is newer. Returns whether it was adopted. */
export function adoptIfNewer(registry: Registry, address: InstanceAddress, state: InstanceState, deletedHereAt?: number): boolean {
  const mine = local(registry, address)?.record;
  if (mine === undefined) {
    // Removed here after the peer's copy last changed: the removal wins (no resurrection).
    if (deletedHereAt !== undefined && deletedHereAt >= state.lastUpdatedTimestamp) return false;
  } else if (
    mine.lastDirtyTimestamp > state.lastDirtyTimestamp ||
    (mine.lastDirtyTimestamp === state.lastDirtyTimestamp && mine.lastUpdatedTimestamp >= state.lastUpdatedTimestamp)
  ) {
    return false;
  }
  registry.adopt(address, state);
  return true;
}

/** Removes the local copy if it has not changed since the peer removed it. Returns whether it did. */
export function removeIfOlder(registry: Registry, address: InstanceAddress, deletedAt: number): boolean {
  const mine = local(registry, address)?.record;
  if (mine === undefined || mine.lastUpdatedTimestamp >= deletedAt) return false;
  registry.cancel(address, { replication: true });
  return true;
}
