/**
 * The store's SQLite schema. The file is marked as herald's with `PRAGMA application_id` and
 * versioned with `PRAGMA user_version`, so a foreign SQLite file or a store written by a newer
 * herald is refused with a clear message instead of being misread or altered.
 */

/** "HRLD" as a 32-bit integer: what `PRAGMA application_id` holds in a herald store. */
export const HERALD_APPLICATION_ID = 0x48524c44;

/** The schema this code reads and writes. */
export const SCHEMA_VERSION = 2;

/** The store file inside the data directory. */
export const STORE_FILE = 'herald.db';

export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  namespace TEXT NOT NULL, grp TEXT NOT NULL, service TEXT NOT NULL, instance_id TEXT NOT NULL,
  version INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (namespace, grp, service, instance_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
  namespace TEXT NOT NULL, grp TEXT NOT NULL, service TEXT NOT NULL, instance_id TEXT NOT NULL,
  version INTEGER NOT NULL, deleted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, grp, service, instance_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS services (
  namespace TEXT NOT NULL, grp TEXT NOT NULL, service TEXT NOT NULL,
  protect_threshold REAL NOT NULL, metadata TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, grp, service)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS overrides (
  namespace TEXT NOT NULL, grp TEXT NOT NULL, service TEXT NOT NULL, instance_id TEXT NOT NULL,
  status TEXT NOT NULL, version INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, grp, service, instance_id)) WITHOUT ROWID;
PRAGMA application_id = ${HERALD_APPLICATION_ID};
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/**
 * Brings a store of an older schema up to SCHEMA_VERSION before CREATE_SCHEMA runs (which adds the
 * tables a version introduced). Schema 1 had no settings versions: its settings read as version 0.
 */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  1: 'ALTER TABLE services ADD COLUMN version INTEGER NOT NULL DEFAULT 0;',
};

/**
 * The writer thread's code (CommonJS, run with `eval`: it needs no file of its own, so it runs the
 * same under tsx, vitest and the compiled package). It opens the store with an exclusive lock (a
 * second process serving the same data directory cannot open it), applies each batch of ops in one
 * transaction (WAL, synchronous=FULL: the commit is fsync'd before the answer), and answers
 * `{ seq, ok }` or `{ seq, ok: false, message }`.
 */
export const WRITER_SOURCE = `
'use strict';
(() => {
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.file, { timeout: 0 });
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('BEGIN IMMEDIATE; COMMIT;');
} catch (e) {
  parentPort.postMessage({ ready: false, message: String((e && e.message) || e) });
  return;
}
const putInstance = db.prepare('INSERT INTO instances (namespace, grp, service, instance_id, version, record) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, grp, service, instance_id) DO UPDATE SET version = excluded.version, record = excluded.record');
const deleteInstance = db.prepare('DELETE FROM instances WHERE namespace = ? AND grp = ? AND service = ? AND instance_id = ?');
const putTombstone = db.prepare('INSERT OR REPLACE INTO tombstones (namespace, grp, service, instance_id, version, deleted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
const deleteTombstone = db.prepare('DELETE FROM tombstones WHERE namespace = ? AND grp = ? AND service = ? AND instance_id = ?');
const putService = db.prepare('INSERT OR REPLACE INTO services (namespace, grp, service, protect_threshold, metadata, version) VALUES (?, ?, ?, ?, ?, ?)');
const putOverride = db.prepare('INSERT OR REPLACE INTO overrides (namespace, grp, service, instance_id, status, version, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
const deleteOverride = db.prepare('DELETE FROM overrides WHERE namespace = ? AND grp = ? AND service = ? AND instance_id = ?');
const apply = db.transaction((ops) => {
  for (const o of ops) {
    switch (o[0]) {
      case 'instance':
        putInstance.run(o[1], o[2], o[3], o[4], o[5], o[6]);
        deleteTombstone.run(o[1], o[2], o[3], o[4]);
        break;
      case 'forget':
        deleteInstance.run(o[1], o[2], o[3], o[4]);
        break;
      case 'cancel':
        deleteInstance.run(o[1], o[2], o[3], o[4]);
        putTombstone.run(o[1], o[2], o[3], o[4], o[5], o[6], o[7]);
        break;
      case 'service':
        putService.run(o[1], o[2], o[3], o[4], o[5], o[6]);
        break;
      case 'override':
        putOverride.run(o[1], o[2], o[3], o[4], o[5], o[6], o[7]);
        break;
      case 'unoverride':
        deleteOverride.run(o[1], o[2], o[3], o[4]);
        break;
      default:
        throw new Error('unknown store op ' + String(o[0]));
    }
  }
});
parentPort.postMessage({ ready: true });
parentPort.on('message', (m) => {
  if (m.close === true) {
    try { db.close(); } catch {}
    parentPort.postMessage({ closed: true });
    return;
  }
  try {
    apply(m.ops);
    parentPort.postMessage({ seq: m.seq, ok: true });
  } catch (e) {
    parentPort.postMessage({ seq: m.seq, ok: false, message: String((e && e.message) || e) });
  }
});
})();
`;
