/**
 * The change driver: re-registers the tagged instance at a fixed rate, each time with the next
 * change number and the wall-clock time of issue in its metadata. Open loop: a change is issued on
 * schedule whether or not earlier Register calls have been answered; the schedule is absolute, so a
 * late timer does not slow the rate down (lateness is reported).
 */
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { registration } from '../lib/workload.js';
import { sleep, wallNowMs } from '../lib/wall-clock.js';
import { tagMetadata } from './change-tag.js';

export interface DriveOptions {
  readonly transport: RegistryTransport;
  readonly service: string;
  /** Workload index of the tagged instance (bench/lib/workload.ts). */
  readonly taggedIndex: number;
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
export async function issueChange(transport: RegistryTransport, service: string, taggedIndex: number, seq: number, issuedAtMs = wallNowMs()): Promise<number> {
  await transport.register(registration(service, taggedIndex, tagMetadata({ seq, issuedAtMs })));
  return wallNowMs() - issuedAtMs;
}

export async function driveChanges(options: DriveOptions): Promise<DriveResult> {
  const { transport, service, taggedIndex, ratePerSecond, fromSeq, toSeq } = options;
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
      issueChange(transport, service, taggedIndex, seq, issuedAtMs).then(
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
