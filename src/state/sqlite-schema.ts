// The SQLite state store's schema (migrations by PRAGMA user_version) and its prepared statements.
import type { Database as Db, Statement } from 'better-sqlite3';
import type { MapEntry } from './state-store.js';

/** Each entry upgrades the schema from user_version i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    account TEXT NOT NULL,
    device_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (account, device_id)
  ) WITHOUT ROWID;
  -- One row per datastore of a device that has anchors or map entries; anchors NULL until the
  -- first completed session.
  CREATE TABLE datastores (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    device_id TEXT NOT NULL,
    datastore TEXT NOT NULL,
    anchor_client TEXT,
    anchor_server TEXT,
    UNIQUE (account, device_id, datastore)
  );
  CREATE TABLE map_entries (
    ds_id INTEGER NOT NULL REFERENCES datastores (id) ON DELETE CASCADE,
    luid TEXT NOT NULL,
    guid TEXT NOT NULL,
    etag TEXT NOT NULL,
    hash TEXT,
    PRIMARY KEY (ds_id, luid)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX map_entries_guid ON map_entries (ds_id, guid);
  CREATE TABLE sessions (
    session_key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_expiry ON sessions (expires_at);
  CREATE TABLE cached_replies (
    session_key TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (session_key, msg_id)
  ) WITHOUT ROWID;
  CREATE INDEX cached_replies_expiry ON cached_replies (expires_at);
  CREATE TABLE locks (
    account TEXT NOT NULL,
    device_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account, device_id)
  ) WITHOUT ROWID;
  `,
  // 2: per-field digests of what the device last had (three-way conflict merge).
  `ALTER TABLE map_entries ADD COLUMN fields TEXT;`,
  // 3: session fields (StateStore.putSessionFields & co.): one row per hash with its expiry, so
  // refreshing the TTL rewrites one row, not every field; fields of an expired hash are ignored
  // on read and deleted with it.
  `
  CREATE TABLE session_hashes (
    hash_key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX session_hashes_expiry ON session_hashes (expires_at);
  CREATE TABLE session_fields (
    hash_key TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (hash_key, field)
  ) WITHOUT ROWID;
  `,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

export interface MapRow {
  luid: string;
  guid: string;
  etag: string;
  hash: string | null;
  fields: string | null;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`schema version ${current} was written by a newer gateway (this one knows ${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/**
 * Most values bound to one IN list (a power of two); longer lists go in chunks. SQLite limits the
 * parameters of one statement (32,766 since 3.32, 999 before), and one chunk is plenty per query.
 */
export const IN_CHUNK = 512;

/**
 * Runs a statement whose last parameters fill one `IN (…)` list, in chunks of at most IN_CHUNK
 * values, and returns the rows of all chunks. `fixed` are bound before the list.
 */
export type InListQuery = (fixed: readonly unknown[], values: readonly string[]) => unknown[];

/**
 * An InListQuery for `sql(marks)`. A chunk is padded (repeating its last value, which an IN list
 * ignores) to a power of two, so at most log2(IN_CHUNK) + 1 statement shapes are ever prepared.
 */
function inList(db: Db, sql: (marks: string) => string): InListQuery {
  const shapes = new Map<number, Statement>();
  return (fixed, values) => {
    const rows: unknown[] = [];
    for (let i = 0; i < values.length; i += IN_CHUNK) {
      const chunk = values.slice(i, i + IN_CHUNK);
      let size = 1;
      while (size < chunk.length) size *= 2;
      let st = shapes.get(size);
      if (!st) {
        st = db.prepare(sql(Array.from({ length: size }, () => '?').join(', ')));
        shapes.set(size, st);
      }
      const last = chunk[chunk.length - 1];
      while (chunk.length < size) chunk.push(last);
      for (const r of st.all(...fixed, ...chunk)) rows.push(r);
    }
    return rows;
  };
}

const ENTRY_COLUMNS = 'luid, guid, etag, hash, fields';

/** The IN-list statements (exported for the query-plan test); `marks` is `?, ?, …`. */
export const IN_LIST_SQL = {
  // (ds_id, luid) is the primary key: one probe per LUID.
  mapByLuids: (marks: string): string => `SELECT ${ENTRY_COLUMNS} FROM map_entries WHERE ds_id = ? AND luid IN (${marks})`,
  // INDEXED BY: without ANALYZE statistics SQLite rates two or more probes of this non-covering
  // index (each then a primary-key lookup) above reading the datastore's whole map, and picks
  // that: ~2 ms instead of ~20 µs for 8 GUIDs in a 10,000-entry map.
  mapByGuids: (marks: string): string =>
    `SELECT ${ENTRY_COLUMNS} FROM map_entries INDEXED BY map_entries_guid WHERE ds_id = ? AND guid IN (${marks})`,
  sessionFields: (marks: string): string => `SELECT field, value FROM session_fields WHERE hash_key = ? AND field IN (${marks})`,
};

export function prepare(db: Db) {
  const s = (sql: string): Statement => db.prepare(sql);
  const ds = 'SELECT id FROM datastores WHERE account = ? AND device_id = ? AND datastore = ?';
  return {
    ping: s('SELECT 1'),
    findDatastore: s(ds),
    insertDatastore: s('INSERT OR IGNORE INTO datastores (account, device_id, datastore) VALUES (?, ?, ?)'),
    deleteDatastore: s('DELETE FROM datastores WHERE account = ? AND device_id = ? AND datastore = ?'),
    getAnchors: s(
      'SELECT anchor_client, anchor_server FROM datastores WHERE account = ? AND device_id = ? AND datastore = ?',
    ),
    setAnchors: s('UPDATE datastores SET anchor_client = ?, anchor_server = ? WHERE id = ?'),
    getMap: s(`SELECT ${ENTRY_COLUMNS} FROM map_entries WHERE ds_id = (${ds})`),
    mapByLuids: inList(db, IN_LIST_SQL.mapByLuids),
    mapByGuids: inList(db, IN_LIST_SQL.mapByGuids),
    deleteGuidElsewhere: s('DELETE FROM map_entries WHERE ds_id = ? AND guid = ? AND luid <> ?'),
    upsertEntry: s(
      `INSERT INTO map_entries (ds_id, luid, guid, etag, hash, fields) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (ds_id, luid) DO UPDATE SET guid = excluded.guid, etag = excluded.etag, hash = excluded.hash, fields = excluded.fields`,
    ),
    deleteEntry: s('DELETE FROM map_entries WHERE ds_id = ? AND luid = ?'),
    getDevice: s('SELECT record FROM devices WHERE account = ? AND device_id = ?'),
    putDevice: s(
      `INSERT INTO devices (account, device_id, record) VALUES (?, ?, ?)
       ON CONFLICT (account, device_id) DO UPDATE SET record = excluded.record`,
    ),
    deleteDevice: s('DELETE FROM devices WHERE account = ? AND device_id = ?'),
    deleteDeviceDatastores: s('DELETE FROM datastores WHERE account = ? AND device_id = ?'),
    listAllDevices: s('SELECT account, device_id FROM devices UNION SELECT account, device_id FROM datastores'),
    listAccountDevices: s(
      `SELECT account, device_id FROM devices WHERE account = ?
       UNION SELECT account, device_id FROM datastores WHERE account = ?`,
    ),
    listDatastores: s('SELECT datastore FROM datastores WHERE account = ? AND device_id = ?'),
    getSession: s('SELECT state FROM sessions WHERE session_key = ? AND expires_at > ?'),
    getSessionRow: s('SELECT state, expires_at FROM sessions WHERE session_key = ? AND expires_at > ?'),
    putSession: s(
      `INSERT INTO sessions (session_key, state, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (session_key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at`,
    ),
    deleteSession: s('DELETE FROM sessions WHERE session_key = ?'),
    deleteReplies: s('DELETE FROM cached_replies WHERE session_key = ?'),
    getReply: s('SELECT content_type, body FROM cached_replies WHERE session_key = ? AND msg_id = ? AND expires_at > ?'),
    putReply: s(
      `INSERT INTO cached_replies (session_key, msg_id, content_type, body, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (session_key, msg_id) DO UPDATE SET content_type = excluded.content_type,
         body = excluded.body, expires_at = excluded.expires_at`,
    ),
    getLock: s('SELECT owner, expires_at FROM locks WHERE account = ? AND device_id = ?'),
    putLock: s(
      `INSERT INTO locks (account, device_id, owner, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (account, device_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
    ),
    deleteLock: s('DELETE FROM locks WHERE account = ? AND device_id = ? AND owner = ?'),
    getFieldsExpiry: s('SELECT expires_at FROM session_hashes WHERE hash_key = ?'),
    fieldsAlive: s('SELECT 1 FROM session_hashes WHERE hash_key = ? AND expires_at > ?'),
    putFieldsExpiry: s(
      `INSERT INTO session_hashes (hash_key, expires_at) VALUES (?, ?)
       ON CONFLICT (hash_key) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    deleteFieldsExpiry: s('DELETE FROM session_hashes WHERE hash_key = ?'),
    deleteFields: s('DELETE FROM session_fields WHERE hash_key = ?'),
    upsertField: s(
      `INSERT INTO session_fields (hash_key, field, value) VALUES (?, ?, ?)
       ON CONFLICT (hash_key, field) DO UPDATE SET value = excluded.value`,
    ),
    getFields: inList(db, IN_LIST_SQL.sessionFields),
    // Keyset pages in primary-key order: a field present throughout a scan comes exactly once.
    // (raw: rows come as [field, value] arrays, the page format itself)
    scanFieldsFirst: s('SELECT field, value FROM session_fields WHERE hash_key = ? ORDER BY field LIMIT ?').raw(true),
    scanFieldsAfter: s('SELECT field, value FROM session_fields WHERE hash_key = ? AND field > ? ORDER BY field LIMIT ?').raw(true),
    purgeSessions: s('DELETE FROM sessions WHERE expires_at <= ?'),
    purgeReplies: s('DELETE FROM cached_replies WHERE expires_at <= ?'),
    purgeLocks: s('DELETE FROM locks WHERE expires_at <= ?'),
    // Fields first (they are found through their hash's row), then the hash rows.
    purgeFields: s('DELETE FROM session_fields WHERE hash_key IN (SELECT hash_key FROM session_hashes WHERE expires_at <= ?)'),
    purgeFieldHashes: s('DELETE FROM session_hashes WHERE expires_at <= ?'),
  };
}

export function toEntry(r: MapRow): MapEntry {
  const e: MapEntry = { luid: r.luid, guid: r.guid, etag: r.etag };
  if (r.hash !== null) e.hash = r.hash;
  if (r.fields !== null) e.fields = r.fields;
  return e;
}
