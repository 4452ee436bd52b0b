// StateStore embedded in the gateway process: better-sqlite3 on <STATE_DIR>/state.sqlite in WAL
// mode, so a single machine needs no Redis. Schema migrations run by PRAGMA user_version; TTLs
// are timestamp columns checked on read and purged lazily.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { GatewayError } from '../errors.js';
import { migrate, prepare, SQLITE_SCHEMA_VERSION, toEntry, type MapRow } from './sqlite-schema.js';
import {
  checkAnchors,
  checkMapEntry,
  checkPageSize,
  checkSessionFields,
  checkStrings,
  checkTtl,
  compareDevices,
  DEFAULT_SCAN_PAGE,
} from './store-support.js';
import type {
  CachedReply,
  DatastoreKey,
  DeviceKey,
  DeviceRecord,
  LockedLoad,
  MapChanges,
  MapEntry,
  MapLookup,
  MessageSave,
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
  /**
   * SQLite's page cache for this connection, in KiB; default DEFAULT_PAGE_CACHE_KIB. A page
   * missing from it is read again from the file, which the OS keeps in its own page cache.
   */
  pageCacheKiB?: number;
}

/**
 * better-sqlite3 is built with a 16 MB page cache per connection (SQLite's own default is 2 MB).
 * The gateway's working set is a message's map rows and one session, yet the cache filled with
 * every map row ever read: a 10,000-contact refresh left ~10 MB more malloc'd memory than one of
 * 1,000, kept for the life of the process (issue #15, docs/performance.md). 2 MB is SQLite's own
 * default.
 */
export const DEFAULT_PAGE_CACHE_KIB = 2048;

export { SQLITE_SCHEMA_VERSION };
export const SQLITE_FILE_NAME = 'state.sqlite';

/** Expired sessions, replies, locks and session fields are deleted at most this often (they are ignored on read). */
const PURGE_INTERVAL_MS = 60_000;

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
      this.#db.pragma(`cache_size = -${opts.pageCacheKiB ?? DEFAULT_PAGE_CACHE_KIB}`);
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

  /** The page cache bound this connection runs with, in KiB (as set from `pageCacheKiB`). */
  get pageCacheKiB(): number {
    return -(this.#db.pragma('cache_size', { simple: true }) as number);
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

  getMapEntries(key: DatastoreKey, lookup: MapLookup): Promise<MapEntry[]> {
    return this.#run('getMapEntries', () => {
      const luids = lookup.luids ?? [];
      const guids = lookup.guids ?? [];
      checkStrings(luids, 'LUIDs');
      checkStrings(guids, 'GUIDs');
      if (luids.length === 0 && guids.length === 0) return [];
      // One read transaction: both lists are looked up in one snapshot of the map.
      return this.#db.transaction(() => {
        const row = this.#s.findDatastore.get(key.account, key.deviceId, key.datastore) as { id: number } | undefined;
        if (!row) return [];
        const found = new Map<string, MapEntry>();
        for (const r of this.#s.mapByLuids([row.id], [...new Set(luids)]) as MapRow[]) found.set(r.luid, toEntry(r));
        for (const r of this.#s.mapByGuids([row.id], [...new Set(guids)]) as MapRow[]) {
          if (!found.has(r.luid)) found.set(r.luid, toEntry(r));
        }
        return [...found.values()];
      })();
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

  putSessionFields(hashKey: string, fields: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void> {
    return this.#run('putSessionFields', () => {
      checkTtl(ttlSeconds);
      checkSessionFields(fields);
      const now = Date.now();
      this.#db
        .transaction(() => {
          if (!this.#openFields(hashKey, now, ttlSeconds, fields.length > 0)) return;
          for (const [field, value] of fields) this.#s.upsertField.run(hashKey, field, value);
        })
        .immediate();
      this.#maybePurge(now);
    });
  }

  getSessionFields(hashKey: string, fields: readonly string[]): Promise<Array<string | undefined>> {
    return this.#run('getSessionFields', () => {
      checkStrings(fields, 'field names');
      if (fields.length === 0) return [];
      return this.#db.transaction(() => {
        if (!this.#s.fieldsAlive.get(hashKey, Date.now())) return fields.map(() => undefined);
        const found = new Map<string, string>();
        const rows = this.#s.getFields([hashKey], [...new Set(fields)]) as Array<{ field: string; value: string }>;
        for (const r of rows) found.set(r.field, r.value);
        return fields.map((f) => found.get(f));
      })();
    });
  }

  /**
   * Pages in field order, each read by its own statement after the last field of the page before
   * (keyset paging): a field present during the whole scan comes exactly once, whatever is
   * written in between. Pages hold exactly `pageSize` fields but the last; never an empty page.
   */
  async *scanSessionFields(hashKey: string, pageSize = DEFAULT_SCAN_PAGE): AsyncIterable<Array<[string, string]>> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#run('scanSessionFields', () => {
        checkPageSize(pageSize);
        return this.#db.transaction(() => {
          if (!this.#s.fieldsAlive.get(hashKey, Date.now())) return [];
          const rows = after === undefined ? this.#s.scanFieldsFirst.all(hashKey, pageSize) : this.#s.scanFieldsAfter.all(hashKey, after, pageSize);
          return rows as Array<[string, string]>;
        })();
      });
      if (page.length === 0) return;
      yield page;
      if (page.length < pageSize) return;
      after = page[page.length - 1][0];
    }
  }

  deleteSessionFields(hashKey: string): Promise<void> {
    return this.#run('deleteSessionFields', () => {
      this.#db.transaction(() => this.#dropFields(hashKey))();
    });
  }

  getCachedReply(sessionKey: string, msgId: string): Promise<CachedReply | undefined> {
    return this.#run('getCachedReply', () => this.#readReply(sessionKey, msgId, Date.now()));
  }

  putCachedReply(
    sessionKey: string,
    msgId: string,
    reply: CachedReply,
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
      return this.#db.transaction(() => this.#takeLock(key, owner, ttlSeconds)).immediate();
    });
  }

  lockAndLoad<T>(key: DeviceKey, owner: string, ttlSeconds: number, load: { sessionKey: string; replyId?: string }): Promise<LockedLoad<T>> {
    return this.#run('lockAndLoad', () => {
      checkTtl(ttlSeconds);
      return this.#db
        .transaction((): LockedLoad<T> => {
          if (!this.#takeLock(key, owner, ttlSeconds)) return { locked: false };
          const now = Date.now();
          const row = this.#s.getSession.get(load.sessionKey, now) as { state: string } | undefined;
          const reply = load.replyId === undefined ? undefined : this.#readReply(load.sessionKey, load.replyId, now);
          return { locked: true, session: row ? (JSON.parse(row.state) as T) : undefined, reply };
        })
        .immediate();
    });
  }

  saveMessage<T>(save: MessageSave<T>): Promise<void> {
    return this.#run('saveMessage', () => {
      checkTtl(save.ttlSeconds);
      const json = JSON.stringify(save.session);
      if (json === undefined) throw new TypeError('session state is not JSON-serialisable');
      const now = Date.now();
      const expires = now + Math.ceil(save.ttlSeconds * 1000);
      this.#db
        .transaction(() => {
          this.#s.putSession.run(save.sessionKey, json, expires);
          this.#s.putSession.run(save.aliasKey, JSON.stringify(save.sessionKey), expires);
          const r = save.reply;
          if (r) this.#s.putReply.run(save.sessionKey, r.msgId, r.contentType, Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength), expires);
          if (save.release) this.#s.deleteLock.run(save.release.key.account, save.release.key.deviceId, save.release.owner);
        })
        .immediate();
      this.#maybePurge(now);
    });
  }

  /** Inside a transaction: take the lock when free, expired or already ours. */
  #takeLock(key: DeviceKey, owner: string, ttlSeconds: number): boolean {
    const now = Date.now();
    const row = this.#s.getLock.get(key.account, key.deviceId) as { owner: string; expires_at: number } | undefined;
    if (row && row.owner !== owner && row.expires_at > now) return false;
    this.#s.putLock.run(key.account, key.deviceId, owner, now + Math.ceil(ttlSeconds * 1000));
    return true;
  }

  /**
   * Inside a transaction: make the hash live until `ttlSeconds` from now. The fields of an expired
   * hash not purged yet are deleted first, so they never come back. An absent (or expired) hash
   * is created only with `create`; returns whether the hash is live now.
   */
  #openFields(hashKey: string, now: number, ttlSeconds: number, create: boolean): boolean {
    const row = this.#s.getFieldsExpiry.get(hashKey) as { expires_at: number } | undefined;
    const live = row !== undefined && row.expires_at > now;
    if (row && !live) this.#dropFields(hashKey);
    if (!live && !create) return false;
    this.#s.putFieldsExpiry.run(hashKey, now + Math.ceil(ttlSeconds * 1000));
    return true;
  }

  #dropFields(hashKey: string): void {
    this.#s.deleteFields.run(hashKey);
    this.#s.deleteFieldsExpiry.run(hashKey);
  }

  #readReply(sessionKey: string, msgId: string, now: number): CachedReply | undefined {
    const row = this.#s.getReply.get(sessionKey, msgId, now) as { content_type: string; body: Buffer } | undefined;
    if (!row) return undefined;
    return { body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength), contentType: row.content_type };
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
      this.#s.purgeFields.run(now);
      this.#s.purgeFieldHashes.run(now);
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
