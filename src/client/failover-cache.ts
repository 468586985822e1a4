/**
 * The disk copy of the service cache (Nacos's DiskCache and FailoverReactor): every change of a key
 * is written to `<dir>/<namespace>/<key>.json` atomically (temporary file, then rename), writes of
 * one key are serialised and only the newest waiting snapshot is written. Reads tolerate missing
 * and corrupt files (they are skipped with a warning).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import type { ServiceSnapshot } from './model.js';

const FORMAT_VERSION = 1;

interface DiskEntry {
  readonly version: number;
  readonly key: string;
  readonly savedAt: number;
  readonly snapshot: ServiceSnapshot;
}

function isSnapshot(v: unknown): v is ServiceSnapshot {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.name === 'string' && typeof s.group === 'string' && Array.isArray(s.hosts) && typeof s.revision === 'number';
}

export class FailoverCache {
  private readonly dir: string;
  private readonly pending = new Map<string, ServiceSnapshot>();
  private readonly draining = new Map<string, Promise<void>>();
  private tmpCounter = 0;
  private madeDir = false;

  constructor(
    baseDir: string,
    namespace: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(baseDir, encodeURIComponent(namespace));
  }

  private file(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}.json`);
  }

  private parse(text: string, file: string): DiskEntry | undefined {
    try {
      const e = JSON.parse(text) as Partial<DiskEntry>;
      if (e.version === FORMAT_VERSION && typeof e.key === 'string' && isSnapshot(e.snapshot)) return e as DiskEntry;
    } catch {
      // fall through
    }
    this.logger.warn({ file }, 'ignoring unreadable failover cache file');
    return undefined;
  }

  /** Every snapshot on disk, by key. Synchronous: used once, at client start. */
  loadAllSync(): Map<string, ServiceSnapshot> {
    const out = new Map<string, ServiceSnapshot>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      try {
        const e = this.parse(readFileSync(file, 'utf8'), file);
        if (e !== undefined) out.set(e.key, e.snapshot);
      } catch {
        this.logger.warn({ file }, 'cannot read failover cache file');
      }
    }
    return out;
  }

  /** The snapshot of one key on disk, if any. */
  async read(key: string): Promise<ServiceSnapshot | undefined> {
    const file = this.file(key);
    try {
      return this.parse(await readFile(file, 'utf8'), file)?.snapshot;
    } catch {
      return undefined;
    }
  }

  /** Schedules a write of `snapshot` for `key`; never throws (failures are logged). */
  write(key: string, snapshot: ServiceSnapshot): void {
    this.pending.set(key, snapshot);
    if (!this.draining.has(key)) {
      const p = this.drain(key).finally(() => this.draining.delete(key));
      this.draining.set(key, p);
    }
  }

  /** Resolves once every scheduled write has been attempted. */
  async flush(): Promise<void> {
    while (this.draining.size > 0) await Promise.all([...this.draining.values()]);
  }

  private async drain(key: string): Promise<void> {
    for (let snapshot = this.pending.get(key); snapshot !== undefined; snapshot = this.pending.get(key)) {
      this.pending.delete(key);
      const file = this.file(key);
      const tmp = `${file}.${process.pid}.${this.tmpCounter++}.tmp`;
      try {
        if (!this.madeDir) {
          await mkdir(this.dir, { recursive: true });
          this.madeDir = true;
        }
        const entry: DiskEntry = { version: FORMAT_VERSION, key, savedAt: Date.now(), snapshot };
        await writeFile(tmp, JSON.stringify(entry));
        await rename(tmp, file);
      } catch (e) {
        this.logger.warn({ file, err: e }, 'cannot write failover cache file');
        await unlink(tmp).catch(() => undefined);
      }
    }
  }

  /** Creates the directory now (so a read-only or missing location is reported at start). */
  ensureDirSync(): void {
    mkdirSync(this.dir, { recursive: true });
    this.madeDir = true;
  }
}
