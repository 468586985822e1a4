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

const SEQ_KEY = Buffer.from(SEQ);
const ISSUED_KEY = Buffer.from(ISSUED);
/** Protobuf tag of a map entry's value field (field 2, length-delimited). */
const MAP_VALUE_TAG = 0x12;

/**
 * The value that follows `key` in an encoded map entry: `0x0a len key 0x12 len value`. Tag values
 * are short ASCII, so their length is one varint byte.
 */
function mapValueAfter(message: Buffer, key: Buffer): string | undefined {
  const at = message.indexOf(key);
  if (at < 1 || message[at - 1] !== key.length) return undefined;
  const tagAt = at + key.length;
  const len = message[tagAt + 1];
  if (message[tagAt] !== MAP_VALUE_TAG || len === undefined || len >= 0x80) return undefined;
  return message.toString('latin1', tagAt + 2, tagAt + 2 + len);
}

/**
 * The tag read straight from an encoded SubscribeResponse, without decoding it: only one host
 * carries the tag keys. Used by the light subscriber so the load generator costs less CPU.
 */
export function readTagFromMessage(message: Buffer): ChangeTag | undefined {
  const seq = mapValueAfter(message, SEQ_KEY);
  const issued = mapValueAfter(message, ISSUED_KEY);
  if (seq === undefined || issued === undefined) return undefined;
  return { seq: Number(seq), issuedAtMs: Number(issued) };
}

/** The tag in an instance's metadata, or undefined when it is untagged. */
export function tagOfMetadata(metadata: Readonly<Record<string, unknown>>): ChangeTag | undefined {
  const seq = metadata[SEQ];
  const issued = metadata[ISSUED];
  if (typeof seq !== 'string' || typeof issued !== 'string') return undefined;
  return { seq: Number(seq), issuedAtMs: Number(issued) };
}

/** The tag of `instanceId` in a snapshot, or undefined when it is absent or untagged. */
export function readTag(info: ServiceInfo, instanceId: string): ChangeTag | undefined {
  const host = info.hosts.find((h) => h.instanceId === instanceId);
  return host === undefined ? undefined : tagOfMetadata(host.metadata);
}
