/**
 * Server settings that keep background work out of a measurement: self-preservation off, and the
 * eviction and heartbeat-check passes (each walks every instance) pushed out to once an hour.
 */
import type { BenchServerConfig } from './server-commands.js';

export const BACKGROUND_INTERVAL_MS = 3_600_000;

export function quietServerConfig(extra: BenchServerConfig = {}): BenchServerConfig {
  return {
    ...extra,
    evictionIntervalMs: BACKGROUND_INTERVAL_MS,
    heartbeatCheckIntervalMs: BACKGROUND_INTERVAL_MS,
    registry: { ...extra.registry, selfPreservation: false },
  };
}
