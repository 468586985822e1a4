/**
 * The SQLite store on its own: what is written and acknowledged is read back by the next open,
 * expired tombstones are dropped, and files that are not a herald store (or are in use) are
 * refused with an error naming the path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import type { InstanceRecord } from '../../src/core/model.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { StoreError } from '../../src/store/store-error.js';
import { cancelOp, forgetOp, instanceOp, serviceOp } from '../../src/store/store-ops.js';

const NOW = 1_700_000_000_000;
const dirs: string[] = [];
const stores: SqliteStore[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'herald-store-'));
  dirs.push(d);
  return d;
}

async function open(dir: string, clock = new ManualClock(NOW)): Promise<SqliteStore> {
  const s = await SqliteStore.open({ dir, clock, logger: silentLogger });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rec(instanceId: string, version: number, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId,
    ip: '10.0.0.1',
    port: 80,
    weight: 1,
    healthy: true,
    reportedHealthy: true,
    unhealthyAfterMs: 0,
    enabled: true,
    ephemeral: false,
    cluster: 'DEFAULT',
    metadata: { zone: 'a' },
    status: 'OUT_OF_SERVICE',
    overriddenStatus: 'OUT_OF_SERVICE',
    registeredStatus: 'UP',
    lastDirtyTimestamp: NOW,
    lastUpdatedTimestamp: NOW,
    leaseDurationMs: 90_000,
    renewalIntervalMs: 30_000,
    registrationTimestamp: NOW,
    serviceUpTimestamp: NOW,
    evictionTimestamp: 0,
    version,
    registrant: '',
    transport: 'grpc',
    ...over,
  };
}

const svc = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'db' };

describe('SqliteStore', () => {
  it('reads back every acknowledged write after a reopen, in order', async () => {
    const dir = tempDir();
    const s = await open(dir);
    expect(s.loaded).toEqual({ instances: [], tombstones: [], services: [], overrides: [] });
    s.write([instanceOp({ ...svc, instanceId: 'a' }, rec('a', 1))]);
    s.write([instanceOp({ ...svc, instanceId: 'b' }, rec('b', 2))]);
    s.write([instanceOp({ ...svc, instanceId: 'a' }, rec('a', 3, { overriddenStatus: undefined, status: 'UP' }))]);
    s.write([cancelOp({ ...svc, instanceId: 'b', version: 4, deletedAt: NOW, expiresAt: NOW + 60_000, persistent: true })]);
    s.write([serviceOp({ ...svc, protectThreshold: 0.5, metadata: { owner: 'ops' }, version: 7 })]);
    s.write([instanceOp({ ...svc, instanceId: 'c' }, rec('c', 5)), forgetOp({ ...svc, instanceId: 'c' })]);
    await s.durable(s.issued);
    expect(s.stats().settled).toBe(s.issued);
    await s.close();
    const again = await open(dir);
    expect(again.loaded.instances).toEqual([{ ...svc, record: rec('a', 3, { overriddenStatus: undefined, status: 'UP' }) }]);
    expect(again.loaded.tombstones).toEqual([{ ...svc, instanceId: 'b', version: 4, deletedAt: NOW, expiresAt: NOW + 60_000, persistent: true }]);
    expect(again.loaded.services).toEqual([{ ...svc, protectThreshold: 0.5, metadata: { owner: 'ops' }, version: 7 }]);
  });

  it('forgets a tombstone when its instance is stored again, and drops expired tombstones when it opens', async () => {
    const dir = tempDir();
    const s = await open(dir);
    s.write([cancelOp({ ...svc, instanceId: 'a', version: 1, deletedAt: NOW, expiresAt: NOW + 10, persistent: true })]);
    s.write([cancelOp({ ...svc, instanceId: 'b', version: 2, deletedAt: NOW, expiresAt: NOW + 10, persistent: true })]);
    s.write([instanceOp({ ...svc, instanceId: 'a' }, rec('a', 3))]);
    await s.durable(s.issued);
    await s.close();
    const later = await open(dir, new ManualClock(NOW + 10));
    expect(later.loaded.tombstones).toEqual([]);
    expect(later.loaded.instances.map((i) => i.record.instanceId)).toEqual(['a']);
  });

  it('refuses a file that is not a herald store, naming it', async () => {
    const garbage = tempDir();
    writeFileSync(join(garbage, 'herald.db'), 'this is not a database, just some text long enough to look like a header'.repeat(20));
    await expect(open(garbage)).rejects.toThrow(StoreError);
    await expect(open(garbage)).rejects.toThrow(`${join(garbage, 'herald.db')}: is not a herald store: file is not a database`);
    const foreign = tempDir();
    const db = new Database(join(foreign, 'herald.db'));
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY)');
    db.close();
    await expect(open(foreign)).rejects.toThrow(`${join(foreign, 'herald.db')}: is an SQLite database but not a herald store (application_id 0)`);
    const notDir = join(tempDir(), 'file');
    writeFileSync(notDir, '');
    await expect(open(join(notDir, 'sub'))).rejects.toThrow(`${join(notDir, 'sub')}: cannot create the data directory`);
  });

  it('refuses a store another process (or store) holds', async () => {
    const dir = tempDir();
    await open(dir);
    await expect(open(dir)).rejects.toThrow(`${join(dir, 'herald.db')}: is in use by another process`);
  });

  it('refuses writes after close, without losing the ones before', async () => {
    const dir = tempDir();
    const s = await open(dir);
    s.write([serviceOp({ ...svc, protectThreshold: 0.2, metadata: {}, version: 7 })]);
    const ticket = s.issued;
    await s.close();
    await expect(s.durable(ticket)).resolves.toBeUndefined();
    s.write([serviceOp({ ...svc, protectThreshold: 0.3, metadata: {}, version: 7 })]);
    await expect(s.durable(s.issued)).rejects.toThrow('the store is closed');
    expect((await open(dir)).loaded.services).toEqual([{ ...svc, protectThreshold: 0.2, metadata: {}, version: 7 }]);
  });
});
