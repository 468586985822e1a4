/**
 * Health of persistent instances: they hold no lease, so the server probes them (TCP connect or
 * HTTP GET, src/server/probes) and the core records what a probe found. Pure: the shell probes and
 * decides when the thresholds are met; this only shows the result.
 */
import { changeRecord } from './instance-record.js';
import type { InstanceRecord, InstanceRef } from './model.js';
import type { RegistryState } from './registry-state.js';

export function markProbeResult(s: RegistryState, ref: InstanceRef, healthy: boolean): InstanceRecord | undefined {
  const found = s.find(ref);
  if (found === undefined) return undefined;
  const rec = found.entry.record;
  if (rec.ephemeral || rec.healthy === healthy) return undefined;
  const now = s.clock.nowMs();
  const next = changeRecord(rec, { healthy, lastUpdatedTimestamp: now });
  s.replace(found, next, now);
  return next;
}
