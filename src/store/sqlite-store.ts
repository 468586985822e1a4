/**
 * The embedded store: SQLite (better-sqlite3) in the data directory, one file `herald.db` in WAL
 * mode with synchronous=FULL, so a commit is on disk before it is acknowledged and a kill -9 at any
 * point leaves a file SQLite recovers on the next open (see docs/durability.md).
 *
 * Opening reads everything on the calling thread (once, before the node serves), refusing a file
 * that is not a herald store with a StoreError naming it. Writes then go to a writer thread that
 * owns the only connection: the event loop (and with it every push) never waits on disk. Writes
 * are grouped: while one transaction is being committed, the next writes gather and are committed
 * together (group commit), so the cost of an fsync is shared by every write that waited for it.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../common/logger.js';
import { makeTombstone, type Tombstone } from '../core/tombstones.js';
import { isInstanceStatus, registrantTransportOf, type InstanceRecord } from '../core/model.js';
import { CREATE_SCHEMA, HERALD_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, STORE_FILE, WRITER_SOURCE } from './sqlite-schema.js';
import { StoreError } from './store-error.js';
import type { StoredInstance, StoredOverride, StoredService, StoredState, StoreOp } from './store-ops.js';
import type { WriteBarrier } from './write-barrier.js';

/** What the store counts (node status, benchmarks). */
export interface StoreStats {
  /** Writes handed to the store, and how many of them are settled (on disk, or failed: see failures). */
  readonly issued: number;
  readonly settled: number;
  /** Transactions committed (one per group of writes). */
  readonly commits: number;
  /** Transactions that failed (their writers got an error). */
  readonly failures: number;
}

type WriterMessage =
  | { readonly ready: true }
  | { readonly ready: false; readonly message: string }
  | { readonly seq: number; readonly ok: true }
  | { readonly seq: number; readonly ok: false; readonly message: string }
  | { readonly closed: true };

interface Waiter {
  readonly ticket: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

const require = createRequire(import.meta.url);

/** Reads what the file holds, creating the schema in a new file. Throws StoreError naming the file. */
function readStore(file: string, nowMs: number): StoredState {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0 });
    const appId = Number(db.pragma('application_id', { simple: true }));
    const version = Number(db.pragma('user_version', { simple: true }));
    const tables = Number(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get());
    if (appId !== HERALD_APPLICATION_ID) {
      if (appId !== 0 || tables > 0) throw new StoreError(file, `is an SQLite database but not a herald store (application_id ${appId}); give --data-dir a directory of its own`);
    } else if (version > SCHEMA_VERSION) {
      throw new StoreError(file, `was written by a newer herald (schema ${version}; this one reads up to ${SCHEMA_VERSION}); run that version, or restore a backup`);
    }
    const check = String(db.pragma('quick_check', { simple: true }));
    if (check !== 'ok') throw new StoreError(file, `is damaged (${check}); restore it from a backup (see docs/durability.md)`);
    db.pragma('journal_mode = WAL');
    if (appId === HERALD_APPLICATION_ID) {
      for (let v = version; v < SCHEMA_VERSION; v++) {
        const step = MIGRATIONS[v];
        if (step !== undefined) db.exec(step);
      }
    }
    db.exec(CREATE_SCHEMA);
    db.prepare('DELETE FROM tombstones WHERE expires_at <= ?').run(nowMs);
    db.prepare('DELETE FROM overrides WHERE expires_at <= ?').run(nowMs);
    return {
      instances: db
        .prepare('SELECT namespace, grp, service, instance_id, record FROM instances')
        .raw()
        .all()
        .map((row) => row as unknown[])
        .map((row) => instanceOf(file, row)),
      tombstones: db
        .prepare('SELECT namespace, grp, service, instance_id, version, deleted_at, expires_at FROM tombstones ORDER BY deleted_at')
        .raw()
        .all()
        .map((row) => row as unknown[])
        .map((row) => tombstoneOf(file, row)),
      services: db
        .prepare('SELECT namespace, grp, service, protect_threshold, metadata, version FROM services')
        .raw()
        .all()
        .map((row) => row as unknown[])
        .map((row) => serviceOf(file, row)),
      overrides: db
        .prepare('SELECT namespace, grp, service, instance_id, status, version, expires_at FROM overrides')
        .raw()
        .all()
        .map((row) => row as unknown[])
        .map((row) => overrideOf(file, row)),
    };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    if (code === 'SQLITE_NOTADB') throw new StoreError(file, `is not a herald store: ${message}`);
    if (code === 'SQLITE_BUSY') throw new StoreError(file, 'is in use by another process (is another herald serving this --data-dir?)');
    if (code === 'SQLITE_CORRUPT') throw new StoreError(file, `is damaged (${message}); restore it from a backup (see docs/durability.md)`);
    throw new StoreError(file, `cannot be opened: ${message}`);
  } finally {
    db?.close();
  }
}

function text(file: string, v: unknown, what: string): string {
  if (typeof v !== 'string') throw new StoreError(file, `is damaged: ${what} is not text`);
  return v;
}

function int(file: string, v: unknown, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new StoreError(file, `is damaged: ${what} is not a number`);
  return n;
}

function parseJson(file: string, v: unknown, what: string): unknown {
  try {
    return JSON.parse(text(file, v, what)) as unknown;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(file, `is damaged: ${what} is not JSON`);
  }
}

function stringMap(file: string, v: unknown, what: string): Readonly<Record<string, string>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new StoreError(file, `is damaged: ${what} is not a map of strings`);
  }
  return Object.freeze({ ...(v as Record<string, string>) });
}

function instanceOf(file: string, row: unknown[]): StoredInstance {
  const [namespace, group, service, instanceId, json] = row;
  const what = `instance ${String(instanceId)}`;
  const r = parseJson(file, json, what);
  if (typeof r !== 'object' || r === null) throw new StoreError(file, `is damaged: ${what} is not a record`);
  const o = r as Record<string, unknown>;
  const num = (k: string): number => int(file, o[k], `${what}.${k}`);
  const bool = (k: string): boolean => {
    if (typeof o[k] !== 'boolean') throw new StoreError(file, `is damaged: ${what}.${k} is not a boolean`);
    return o[k];
  };
  const status = (k: string, optional: boolean): InstanceRecord['status'] | undefined => {
    const s = o[k];
    if (optional && s === undefined) return undefined;
    if (!isInstanceStatus(s)) throw new StoreError(file, `is damaged: ${what}.${k} is not a status`);
    return s;
  };
  const record: InstanceRecord = {
    instanceId: text(file, instanceId, what),
    ip: text(file, o.ip, `${what}.ip`),
    port: num('port'),
    weight: num('weight'),
    healthy: bool('healthy'),
    reportedHealthy: bool('reportedHealthy'),
    unhealthyAfterMs: num('unhealthyAfterMs'),
    enabled: bool('enabled'),
    ephemeral: bool('ephemeral'),
    cluster: text(file, o.cluster, `${what}.cluster`),
    metadata: stringMap(file, o.metadata, `${what}.metadata`),
    status: status('status', false) ?? 'UNKNOWN',
    overriddenStatus: status('overriddenStatus', true),
    registeredStatus: status('registeredStatus', false) ?? 'UNKNOWN',
    lastDirtyTimestamp: num('lastDirtyTimestamp'),
    lastUpdatedTimestamp: num('lastUpdatedTimestamp'),
    leaseDurationMs: num('leaseDurationMs'),
    renewalIntervalMs: num('renewalIntervalMs'),
    registrationTimestamp: num('registrationTimestamp'),
    serviceUpTimestamp: num('serviceUpTimestamp'),
    evictionTimestamp: num('evictionTimestamp'),
    version: num('version'),
    registrant: text(file, o.registrant, `${what}.registrant`),
    // Which API registered it; stores written before it was recorded have none ('').
    transport: registrantTransportOf(typeof o.transport === 'string' ? o.transport : ''),
  };
  return { namespace: text(file, namespace, 'namespace'), group: text(file, group, 'group'), service: text(file, service, 'service'), record };
}

function tombstoneOf(file: string, row: unknown[]): Tombstone {
  const [namespace, group, service, instanceId, version, deletedAt, expiresAt] = row;
  return makeTombstone(
    {
      namespace: text(file, namespace, 'namespace'),
      group: text(file, group, 'group'),
      service: text(file, service, 'service'),
      instanceId: text(file, instanceId, 'instance id'),
    },
    int(file, version, 'tombstone version'),
    int(file, deletedAt, 'tombstone time'),
    int(file, expiresAt, 'tombstone expiry'),
    true,
  );
}

function overrideOf(file: string, row: unknown[]): StoredOverride {
  const [namespace, group, service, instanceId, status, version, expiresAt] = row;
  const what = `override of ${String(instanceId)}`;
  if (!isInstanceStatus(status)) throw new StoreError(file, `is damaged: ${what} is not a status`);
  return {
    namespace: text(file, namespace, 'namespace'),
    group: text(file, group, 'group'),
    service: text(file, service, 'service'),
    instanceId: text(file, instanceId, 'instance id'),
    status,
    version: int(file, version, `${what}.version`),
    expiresAt: int(file, expiresAt, `${what}.expiry`),
  };
}

function serviceOf(file: string, row: unknown[]): StoredService {
  const [namespace, group, service, threshold, metadata, version] = row;
  return {
    namespace: text(file, namespace, 'namespace'),
    group: text(file, group, 'group'),
    service: text(file, service, 'service'),
    protectThreshold: int(file, threshold, 'protect threshold'),
    metadata: stringMap(file, parseJson(file, metadata, `metadata of service ${String(service)}`), `metadata of service ${String(service)}`),
    version: int(file, version, `settings version of service ${String(service)}`),
  };
}

export interface OpenStoreDeps {
  /** The data directory (created when missing). */
  readonly dir: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

export class SqliteStore implements WriteBarrier {
  /** What the store held when it was opened. */
  readonly loaded: StoredState;
  readonly file: string;
  private issuedCount = 0;
  private durableCount = 0;
  private commits = 0;
  private failures = 0;
  private pending: StoreOp[] = [];
  private pendingUpTo = 0;
  /** The batch being committed: its seq and the last ticket it holds; undefined when idle. */
  private inFlight: { readonly seq: number; readonly upTo: number } | undefined;
  private seq = 0;
  private scheduled = false;
  private waiters: Waiter[] = [];
  /** Set once the writer thread is gone (closed or failed): later writes are refused. */
  private broken: StoreError | undefined;
  private closing: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    file: string,
    loaded: StoredState,
    private readonly logger: Logger,
  ) {
    this.file = file;
    this.loaded = loaded;
    worker.on('message', (m: WriterMessage) => {
      this.onMessage(m);
    });
    worker.on('error', (e) => {
      this.fail(new StoreError(file, `the writer thread failed: ${e.message}`));
    });
    worker.on('exit', () => {
      this.onClosed?.();
      if (this.closing === undefined) this.fail(new StoreError(file, 'the writer thread exited'));
    });
  }

  /**
   * Opens (or creates) the store in `dir`: reads it, then starts the writer thread, which takes an
   * exclusive lock on the file. Rejects with a StoreError naming the path when the directory cannot
   * be made, the file is not a herald store, is damaged, or is in use by another process.
   */
  static async open(deps: OpenStoreDeps): Promise<SqliteStore> {
    try {
      mkdirSync(deps.dir, { recursive: true });
    } catch (e) {
      throw new StoreError(deps.dir, `cannot create the data directory: ${e instanceof Error ? e.message : String(e)}`);
    }
    const file = join(deps.dir, STORE_FILE);
    const loaded = readStore(file, deps.clock.nowMs());
    const worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file } });
    const ready = await new Promise<WriterMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((e: unknown) => ({ ready: false as const, message: e instanceof Error ? e.message : String(e) }));
    if (!('ready' in ready) || !ready.ready) {
      await worker.terminate();
      const message = 'message' in ready ? ready.message : 'no answer';
      if (/locked|busy/i.test(message)) throw new StoreError(file, 'is in use by another process (is another herald serving this --data-dir?)');
      throw new StoreError(file, `cannot be opened for writing: ${message}`);
    }
    worker.unref();
    return new SqliteStore(worker, file, loaded, deps.logger);
  }

  get issued(): number {
    return this.issuedCount;
  }

  /** Hands writes to the store; they are committed together, in order, as soon as the writer is free. */
  write(ops: readonly StoreOp[]): void {
    if (ops.length === 0) return;
    for (const op of ops) this.pending.push(op);
    this.issuedCount += ops.length;
    this.pendingUpTo = this.issuedCount;
    if (this.inFlight === undefined && !this.scheduled) {
      // Writes of the same turn (one registry call can make several) go in one transaction.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.post();
      });
    }
  }

  durable(ticket: number): Promise<void> {
    if (ticket <= this.durableCount) return Promise.resolve();
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ ticket, resolve, reject });
    });
  }

  stats(): StoreStats {
    return { issued: this.issuedCount, settled: this.durableCount, commits: this.commits, failures: this.failures };
  }

  /** Commits what is pending, then closes the file and stops the writer thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.durable(this.issuedCount).catch(() => undefined);
    if (this.broken === undefined) {
      const closed = new Promise<void>((resolve) => (this.onClosed = resolve));
      this.worker.postMessage({ close: true });
      await closed;
    } else {
      await this.worker.terminate();
    }
    this.broken ??= new StoreError(this.file, 'the store is closed');
  }

  private post(): void {
    if (this.inFlight !== undefined || this.pending.length === 0 || this.broken !== undefined) return;
    const ops = this.pending;
    this.pending = [];
    this.inFlight = { seq: ++this.seq, upTo: this.pendingUpTo };
    this.worker.postMessage({ seq: this.inFlight.seq, ops });
  }

  private onMessage(m: WriterMessage): void {
    if ('closed' in m) {
      void this.worker.terminate();
      return;
    }
    if (!('seq' in m)) return;
    const batch = this.inFlight;
    if (batch === undefined || batch.seq !== m.seq) return;
    this.inFlight = undefined;
    if (m.ok) {
      this.commits++;
      this.durableCount = batch.upTo;
      this.settle(batch.upTo, undefined);
    } else {
      this.failures++;
      const error = new StoreError(this.file, `a write failed: ${m.message}`);
      this.logger.error({ file: this.file, error: m.message }, 'the store could not commit; the writes were not acknowledged');
      // Later writes may still succeed: only this batch's writers get the error.
      this.durableCount = batch.upTo;
      this.settle(batch.upTo, error);
    }
    this.post();
  }

  private settle(upTo: number, error: StoreError | undefined): void {
    let i = 0;
    while (i < this.waiters.length && (this.waiters[i]?.ticket ?? Infinity) <= upTo) i++;
    const done = this.waiters.splice(0, i);
    for (const w of done) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }

  private fail(error: StoreError): void {
    if (this.broken !== undefined) return;
    this.broken = error;
    this.logger.error({ file: this.file, error: error.message }, 'the store stopped; persistent writes are refused');
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(error);
  }
}
