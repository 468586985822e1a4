/**
 * How the driver marks a change so a subscriber can time it: the tagged instance is re-registered
 * with metadata `bench.seq` (1, 2, 3, ...) and `bench.issued` (the driver's wall clock in ms, with
 * microseconds, at the moment it issued the Register call).
 */
import type { ServiceInfo } from '../../src/gen/herald/v1/model.js';
import { BENCH_METADATA } from '../lib/workload.js';

const SEQ = 'bench.seq';
const ISSUED = 'bench.issued';

export interface ChangeTag {
  readonly seq: number;
  readonly issuedAtMs: number;
}

export function tagMetadata(tag: ChangeTag): Record<string, string> {
  return { ...BENCH_METADATA, [SEQ]: String(tag.seq), [ISSUED]: tag.issuedAtMs.toFixed(3) };
}

/** The tag of `instanceId` in a snapshot, or undefined when it is absent or untagged. */
export function readTag(info: ServiceInfo, instanceId: string): ChangeTag | undefined {
  const host = info.hosts.find((h) => h.instanceId === instanceId);
  const seq = host?.metadata[SEQ];
  const issued = host?.metadata[ISSUED];
  if (seq === undefined || issued === undefined) return undefined;
  return { seq: Number(seq), issuedAtMs: Number(issued) };
}
