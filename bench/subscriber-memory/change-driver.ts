/**
 * The change driver of the subscriber-memory benchmark: seeds a service with `hosts` instances, then
 * re-registers one of them at a fixed rate with a new `rev` metadata value, so every change alters
 * the snapshot (and its checksum) and is pushed. Open loop on an absolute schedule; at most
 * MAX_IN_FLIGHT Register calls outstanding (a change due while that many are pending is counted as
 * dropped, not queued). The other instances are renewed every RENEW_EVERY_MS, as their owners
 * would, so none expires and the snapshot keeps its size for the whole run.
 */
import type { RegistryTransport } from '../../src/client/registry-transport.js';
import { BENCH_METADATA, registration, renewal } from '../lib/workload.js';
import { sleep } from '../lib/wall-clock.js';

const MAX_IN_FLIGHT = 64;
const RENEW_EVERY_MS = 20_000;

export interface DriveResult {
  readonly issued: number;
  readonly errors: number;
  readonly dropped: number;
  readonly firstError: string | undefined;
  readonly achievedRate: number;
}

/** Registers instances 0..hosts-1 of `service`. */
export async function seedService(transport: RegistryTransport, service: string, hosts: number): Promise<void> {
  for (let i = 0; i < hosts; i += 16) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(hosts, i + 16); j++) batch.push(transport.register(registration(service, j)));
    await Promise.all(batch);
  }
}

export class ChangeDriver {
  private stopped = false;
  private running: Promise<DriveResult> | undefined;

  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly transport: RegistryTransport,
    private readonly service: string,
    private readonly ratePerSecond: number,
    private readonly hosts: number,
  ) {}

  start(): void {
    this.running ??= this.run();
    this.renewTimer ??= setInterval(() => {
      for (let i = 1; i < this.hosts; i++) this.transport.renew(renewal(this.service, i)).catch(() => undefined);
    }, RENEW_EVERY_MS);
  }

  /** Stops issuing, waits for outstanding calls, and reports. */
  async stop(): Promise<DriveResult> {
    this.stopped = true;
    clearInterval(this.renewTimer);
    if (this.running === undefined) return { issued: 0, errors: 0, dropped: 0, firstError: undefined, achievedRate: 0 };
    return this.running;
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private async run(): Promise<DriveResult> {
    const periodMs = 1000 / this.ratePerSecond;
    const started = performance.now();
    let issued = 0;
    let errors = 0;
    let dropped = 0;
    let inFlight = 0;
    let firstError: string | undefined;
    const pending = new Set<Promise<void>>();
    for (let n = 0; !this.stopped; n++) {
      const wait = started + n * periodMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.isStopped()) break;
      if (inFlight >= MAX_IN_FLIGHT) {
        dropped++;
        continue;
      }
      inFlight++;
      issued++;
      const p = this.transport
        .register(registration(this.service, 0, { ...BENCH_METADATA, rev: String(n) }))
        .then(
          () => undefined,
          (e: unknown) => {
            errors++;
            firstError ??= e instanceof Error ? e.message : String(e);
          },
        )
        .finally(() => {
          inFlight--;
          pending.delete(p);
        });
      pending.add(p);
    }
    const elapsedS = (performance.now() - started) / 1000;
    await Promise.all(pending);
    return { issued, errors, dropped, firstError, achievedRate: elapsedS > 0 ? issued / elapsedS : 0 };
  }
}
