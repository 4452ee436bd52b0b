// StateStore embedded in the gateway process: better-sqlite3 on <STATE_DIR>/state.sqlite in WAL
// mode, so a single machine needs no Redis. Schema migrations run by PRAGMA user_version; TTLs
// are timestamp columns checked on read and purged lazily.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { GatewayError } from '../errors.js';
import { checkAnchors, checkMapEntry, checkTtl, compareDevices } from './store-support.js';
import type {
  DatastoreKey,
  DeviceKey,
  DeviceRecord,
  MapChanges,
  MapEntry,
  SavedAnchors,
  StateStore,
} from './state-store.js';

export interface SqliteStoreOptions {
  /** Directory for state.sqlite (+ -wal/-shm); created when missing. */
  stateDir: string;
  /**
   * NORMAL (default): in WAL mode a commit is not fsync'ed; the WAL is synced at checkpoints.
   * A crash of the gateway process loses nothing (the WAL is in the OS page cache); a power loss
   * or kernel crash may lose the last commits but never corrupts the file, and what survives is
   * a prefix of the commits. That is safe for SyncML: anchors and map changes commit together,
   * so a lost commit means the device's Last anchor no longer matches and the next session
   * becomes a slow sync, which rebuilds the map. FULL fsyncs every commit (~ms each on disk).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process holding the write lock (ms); default 5000. */
  busyTimeoutMs?: number;
}

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
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;
export const SQLITE_FILE_NAME = 'state.sqlite';

/** Expired sessions, replies and locks are deleted at most this often (they are ignored on read). */
const PURGE_INTERVAL_MS = 60_000;

interface MapRow {
  luid: string;
  guid: string;
  etag: string;
  hash: string | null;
  fields: string | null;
}

export class SqliteStateStore implements StateStore {
  readonly #db: Db;
  readonly #file: string;
  readonly #s: ReturnType<typeof prepare>;
  #lastPurge = 0;

  constructor(opts: SqliteStoreOptions) {
    this.#file = path.join(opts.stateDir, SQLITE_FILE_NAME);
    try {
      restrictFiles(opts.stateDir, this.#file);
      this.#db = new Database(this.#file);
    } catch (err) {
      throw new GatewayError('STATE_FAILED', `state store: cannot open ${this.#file}: ${message(err)}`, { cause: err });
    }
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      this.#db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      this.#db.pragma('foreign_keys = ON');
      migrate(this.#db);
      this.#s = prepare(this.#db);
      this.#purge(Date.now());
    } catch (err) {
      this.#db.close();
      throw new GatewayError('STATE_FAILED', `state store: cannot initialise ${this.#file}: ${message(err)}`, { cause: err });
    }
  }

  get file(): string {
    return this.#file;
  }

  getAnchors(key: DatastoreKey): Promise<SavedAnchors | undefined> {
    return this.#run('getAnchors', () => {
      const row = this.#s.getAnchors.get(key.account, key.deviceId, key.datastore) as
        | { anchor_client: string | null; anchor_server: string | null }
        | undefined;
      if (!row || row.anchor_client === null || row.anchor_server === null) return undefined;
      return { client: row.anchor_client, server: row.anchor_server };
    });
  }

  commitAnchors(key: DatastoreKey, anchors: SavedAnchors, mapChanges?: MapChanges): Promise<void> {
    return this.#run('commitAnchors', () => {
      this.#db.transaction(() => {
        checkAnchors(anchors);
        const dsId = this.#ensureDatastore(key);
        this.#putEntries(dsId, mapChanges?.put ?? []);
        this.#deleteEntries(dsId, mapChanges?.deleteLuids ?? []);
        this.#s.setAnchors.run(anchors.client, anchors.server, dsId);
      }).immediate();
    });
  }

  resetDatastore(key: DatastoreKey): Promise<void> {
    return this.#run('resetDatastore', () => {
      // Map entries go with the row (ON DELETE CASCADE), in the same statement.
      this.#s.deleteDatastore.run(key.account, key.deviceId, key.datastore);
    });
  }

  getMap(key: DatastoreKey): Promise<MapEntry[]> {
    return this.#run('getMap', () => {
      const rows = this.#s.getMap.all(key.account, key.deviceId, key.datastore) as MapRow[];
      return rows.map(toEntry);
    });
  }

  putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    return this.#run('putMapEntries', () => {
      if (entries.length === 0) return;
      this.#db.transaction(() => this.#putEntries(this.#ensureDatastore(key), entries)).immediate();
    });
  }

  deleteMapEntries(key: DatastoreKey, luids: readonly string[]): Promise<void> {
    return this.#run('deleteMapEntries', () => {
      if (luids.length === 0) return;
      this.#db
        .transaction(() => {
          const row = this.#s.findDatastore.get(key.account, key.deviceId, key.datastore) as { id: number } | undefined;
          if (row) this.#deleteEntries(row.id, luids);
        })
        .immediate();
    });
  }

  getDevice(key: DeviceKey): Promise<DeviceRecord | undefined> {
    return this.#run('getDevice', () => {
      const row = this.#s.getDevice.get(key.account, key.deviceId) as { record: string } | undefined;
      return row ? (JSON.parse(row.record) as DeviceRecord) : undefined;
    });
  }

  putDevice(key: DeviceKey, record: DeviceRecord): Promise<void> {
    return this.#run('putDevice', () => {
      this.#s.putDevice.run(key.account, key.deviceId, JSON.stringify(record));
    });
  }

  listDevices(account?: string): Promise<Array<DeviceKey & { record: DeviceRecord; datastores: string[] }>> {
    return this.#run('listDevices', () =>
      this.#db.transaction(() => {
        const ids = (
          account === undefined ? this.#s.listAllDevices.all() : this.#s.listAccountDevices.all(account, account)
        ) as Array<{ account: string; device_id: string }>;
        return ids
          .map(({ account: a, device_id: d }) => {
            const rec = this.#s.getDevice.get(a, d) as { record: string } | undefined;
            const dss = (this.#s.listDatastores.all(a, d) as Array<{ datastore: string }>).map((r) => r.datastore);
            return {
              account: a,
              deviceId: d,
              record: rec ? (JSON.parse(rec.record) as DeviceRecord) : {},
              datastores: dss.sort(),
            };
          })
          .sort(compareDevices);
      })(),
    );
  }

  forgetDevice(key: DeviceKey): Promise<void> {
    return this.#run('forgetDevice', () => {
      this.#db
        .transaction(() => {
          this.#s.deleteDevice.run(key.account, key.deviceId);
          this.#s.deleteDeviceDatastores.run(key.account, key.deviceId);
        })
        .immediate();
    });
  }

  getSession<T>(sessionKey: string): Promise<T | undefined> {
    return this.#run('getSession', () => {
      const row = this.#s.getSession.get(sessionKey, Date.now()) as { state: string } | undefined;
      return row ? (JSON.parse(row.state) as T) : undefined;
    });
  }

  putSession<T>(sessionKey: string, state: T, ttlSeconds: number): Promise<void> {
    return this.#run('putSession', () => {
      checkTtl(ttlSeconds);
      const json = JSON.stringify(state);
      if (json === undefined) throw new TypeError('session state is not JSON-serialisable');
      const now = Date.now();
      this.#s.putSession.run(sessionKey, json, now + Math.ceil(ttlSeconds * 1000));
      this.#maybePurge(now);
    });
  }

  deleteSession(sessionKey: string): Promise<void> {
    return this.#run('deleteSession', () => {
      this.#db.transaction(() => {
        this.#s.deleteSession.run(sessionKey);
        this.#s.deleteReplies.run(sessionKey);
      })();
    });
  }

  getCachedReply(sessionKey: string, msgId: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    return this.#run('getCachedReply', () => {
      const row = this.#s.getReply.get(sessionKey, msgId, Date.now()) as { content_type: string; body: Buffer } | undefined;
      if (!row) return undefined;
      return { body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength), contentType: row.content_type };
    });
  }

  putCachedReply(
    sessionKey: string,
    msgId: string,
    reply: { body: Uint8Array; contentType: string },
    ttlSeconds: number,
  ): Promise<void> {
    return this.#run('putCachedReply', () => {
      checkTtl(ttlSeconds);
      const now = Date.now();
      const body = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
      this.#s.putReply.run(sessionKey, msgId, reply.contentType, body, now + Math.ceil(ttlSeconds * 1000));
      this.#maybePurge(now);
    });
  }

  acquireLock(key: DeviceKey, owner: string, ttlSeconds: number): Promise<boolean> {
    return this.#run('acquireLock', () => {
      checkTtl(ttlSeconds);
      // IMMEDIATE takes the write lock first, so two processes on one file cannot both win.
      return this.#db
        .transaction(() => {
          const now = Date.now();
          const row = this.#s.getLock.get(key.account, key.deviceId) as { owner: string; expires_at: number } | undefined;
          if (row && row.owner !== owner && row.expires_at > now) return false;
          this.#s.putLock.run(key.account, key.deviceId, owner, now + Math.ceil(ttlSeconds * 1000));
          return true;
        })
        .immediate();
    });
  }

  incrementCounter(key: string, ttlSeconds: number, by = 1): Promise<number> {
    return this.#run('incrementCounter', () => {
      checkTtl(ttlSeconds);
      // Counters share the sessions table (TTL column and purge) under their own key prefix.
      const k = `counter:${key}`;
      return this.#db.transaction(() => {
        const now = Date.now();
        const row = this.#s.getSessionRow.get(k, now) as { state: string; expires_at: number } | undefined;
        if (by === 0) return row ? Number(row.state) : 0;
        const n = (row ? Number(row.state) : 0) + Math.trunc(by);
        this.#s.putSession.run(k, String(n), row ? row.expires_at : now + Math.ceil(ttlSeconds * 1000));
        return n;
      }).immediate();
    });
  }

  releaseLock(key: DeviceKey, owner: string): Promise<void> {
    return this.#run('releaseLock', () => {
      this.#s.deleteLock.run(key.account, key.deviceId, owner);
    });
  }

  ping(): Promise<void> {
    return this.#run('ping', () => {
      this.#s.ping.get();
    });
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    try {
      this.#db.close();
    } catch (err) {
      throw new GatewayError('STATE_FAILED', `state store: closing ${this.#file} failed: ${message(err)}`, { cause: err });
    }
  }

  #ensureDatastore(key: DatastoreKey): number {
    this.#s.insertDatastore.run(key.account, key.deviceId, key.datastore);
    return (this.#s.findDatastore.get(key.account, key.deviceId, key.datastore) as { id: number }).id;
  }

  #putEntries(dsId: number, entries: readonly MapEntry[]): void {
    for (const e of entries) {
      // Checked inside the transaction: a bad entry rolls back the entries before it too.
      checkMapEntry(e);
      // Same GUID under another LUID: that entry is replaced (the unique index would refuse it).
      this.#s.deleteGuidElsewhere.run(dsId, e.guid, e.luid);
      this.#s.upsertEntry.run(dsId, e.luid, e.guid, e.etag, e.hash ?? null, e.fields ?? null);
    }
  }

  #deleteEntries(dsId: number, luids: readonly string[]): void {
    for (const luid of luids) {
      if (typeof luid !== 'string') throw new TypeError('deleteLuids must be strings');
      this.#s.deleteEntry.run(dsId, luid);
    }
  }

  #maybePurge(now: number): void {
    if (now - this.#lastPurge >= PURGE_INTERVAL_MS) this.#purge(now);
  }

  #purge(now: number): void {
    this.#lastPurge = now;
    this.#db.transaction(() => {
      this.#s.purgeSessions.run(now);
      this.#s.purgeReplies.run(now);
      this.#s.purgeLocks.run(now);
    })();
  }

  async #run<T>(op: string, fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (err) {
      throw new GatewayError('STATE_FAILED', `state store (${this.#file}): ${op} failed: ${message(err)}`, { cause: err });
    }
  }
}

function migrate(db: Db): void {
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

function prepare(db: Db) {
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
    getMap: s(`SELECT luid, guid, etag, hash, fields FROM map_entries WHERE ds_id = (${ds})`),
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
    purgeSessions: s('DELETE FROM sessions WHERE expires_at <= ?'),
    purgeReplies: s('DELETE FROM cached_replies WHERE expires_at <= ?'),
    purgeLocks: s('DELETE FROM locks WHERE expires_at <= ?'),
  };
}

function toEntry(r: MapRow): MapEntry {
  const e: MapEntry = { luid: r.luid, guid: r.guid, etag: r.etag };
  if (r.hash !== null) e.hash = r.hash;
  if (r.fields !== null) e.fields = r.fields;
  return e;
}

/**
 * The state holds device data and sealed credentials: the directory is 0700 and the database is
 * created 0600 before SQLite opens it (SQLite gives -wal and -shm the database file's mode).
 */
function restrictFiles(dir: string, file: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    // A mounted directory owned by someone else: the files themselves are still 0600.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
