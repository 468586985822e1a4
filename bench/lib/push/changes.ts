/**
 * The changes a push benchmark times. One service of `hosts` instances; the driver re-registers
 * its first (tagged) instance at a fixed rate, each time with metadata `bench.seq` (1, 2, 3, …)
 * and `bench.issued` (the driver's wall clock in ms, with microseconds, when it issued the
 * Register call), so whoever receives the service can tell which change it holds and time it.
 * The driver writes through a ChangeWriter: herald's RegistryTransport by default
 * (`transportWriter`); another benchmark may write the same tag through another client or to
 * another registry (bench/versus-etcd writes it into an etcd value).
 *
 * The driver runs open loop: a change is issued on schedule whether or not earlier Register calls
 * have been answered; the schedule is absolute, so a late timer does not slow the rate down
 * (lateness is reported). Changes 1…warm-up are the warm-up, the next ones are measured.
 */
import type { RegistryTransport } from '../../../src/client/registry-transport.js';
import type { ServiceInfo } from '../../../src/gen/herald/v1/model.js';
import { sleep, wallNowMs } from '../wall-clock.js';
import { BENCH_METADATA, registration } from '../workload.js';

const SEQ = 'bench.seq';
const ISSUED = 'bench.issued';

/** Workload index (bench/lib/workload.ts) of the instance that carries the tag. */
export const TAGGED_INDEX = 0;

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
 * The tag read straight from an encoded SubscribeResponse or GetServiceResponse, without decoding
 * it: only one host carries the tag keys. Light clients use it so the load generator costs less CPU.
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

/** Registers the service: `hosts` instances, the tagged one carrying change 0. */
export async function prepareService(transport: RegistryTransport, service: string, hosts: number): Promise<void> {
  await transport.register(registration(service, TAGGED_INDEX, tagMetadata({ seq: 0, issuedAtMs: 0 })));
  await Promise.all(Array.from({ length: hosts - 1 }, (_, i) => transport.register(registration(service, TAGGED_INDEX + 1 + i))));
}

/** The driver's client: what writes the service and its tagged changes. */
export interface ChangeWriter {
  /** Creates the service: `hosts` instances, the tagged one (TAGGED_INDEX) carrying change 0. */
  prepare(service: string, hosts: number): Promise<void>;
  /** Writes change `tag.seq` stamped `tag.issuedAtMs` into the tagged instance; resolves once acknowledged. */
  issue(service: string, tag: ChangeTag): Promise<void>;
  close(): void;
}

/** A writer that re-registers the tagged instance through a RegistryTransport (the push benchmarks' driver). */
export function transportWriter(transport: RegistryTransport): ChangeWriter {
  return {
    prepare: (service, hosts) => prepareService(transport, service, hosts),
    issue: async (service, tag) => {
      await transport.register(registration(service, TAGGED_INDEX, tagMetadata(tag)));
    },
    close: () => {
      transport.close();
    },
  };
}

/** Which change numbers are the warm-up and which are measured. */
export interface ChangeWindow {
  readonly warmupChanges: number;
  readonly measuredChanges: number;
  /** Changes firstMeasured…lastMeasured are measured. */
  readonly firstMeasured: number;
  readonly lastMeasured: number;
}

/** `warmupS` then `measureS` seconds of changes at `ratePerSecond` (at least one of each). */
export function changeWindow(warmupS: number, measureS: number, ratePerSecond: number): ChangeWindow {
  const warmupChanges = Math.max(1, Math.round(warmupS * ratePerSecond));
  const measuredChanges = Math.max(1, Math.round(measureS * ratePerSecond));
  return { warmupChanges, measuredChanges, firstMeasured: warmupChanges + 1, lastMeasured: warmupChanges + measuredChanges };
}

export interface DriveOptions {
  readonly writer: ChangeWriter;
  readonly service: string;
  readonly ratePerSecond: number;
  /** Change numbers issued: fromSeq..toSeq inclusive. */
  readonly fromSeq: number;
  readonly toSeq: number;
}

export interface DriveResult {
  readonly issued: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** How late each change was issued relative to its schedule, ms. */
  readonly latenessMs: Float64Array;
  /** Issue to Register response, ms. */
  readonly ackMs: Float64Array;
  /** Wall-clock issue time of each change (index seq − fromSeq), ms: the time in its tag. */
  readonly issuedAtMs: Float64Array;
}

/** Issues one tagged change, stamped `issuedAtMs` (default now); resolves with its acknowledgement time in ms. */
export async function issueChange(writer: ChangeWriter, service: string, seq: number, issuedAtMs = wallNowMs()): Promise<number> {
  await writer.issue(service, { seq, issuedAtMs });
  return wallNowMs() - issuedAtMs;
}

export async function driveChanges(options: DriveOptions): Promise<DriveResult> {
  const { writer, service, ratePerSecond, fromSeq, toSeq } = options;
  const periodMs = 1000 / ratePerSecond;
  const lateness: number[] = [];
  const acks: number[] = [];
  const issued = new Float64Array(toSeq - fromSeq + 1);
  const inFlight: Promise<void>[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  for (let seq = fromSeq; seq <= toSeq; seq++) {
    const due = start + (seq - fromSeq) * periodMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lateness.push(performance.now() - due);
    const issuedAtMs = wallNowMs();
    issued[seq - fromSeq] = issuedAtMs;
    inFlight.push(
      issueChange(writer, service, seq, issuedAtMs).then(
        (ackMs) => {
          acks.push(ackMs);
        },
        (e: unknown) => {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { issued: toSeq - fromSeq + 1, errors, firstError, latenessMs: Float64Array.from(lateness), ackMs: Float64Array.from(acks), issuedAtMs: issued };
}
