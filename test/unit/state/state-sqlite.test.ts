// Runs the StateStore contract on the embedded SQLite store, plus what only it has: the file,
// WAL mode, user_version migrations, and data surviving a close/re-open or a process crash.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isGatewayError } from '../../../src/errors.js';
import { createStateStore } from '../../../src/state/index.js';
import { IN_CHUNK, IN_LIST_SQL } from '../../../src/state/sqlite-schema.js';
import { DEFAULT_PAGE_CACHE_KIB, SQLITE_SCHEMA_VERSION, SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { stateStoreContract } from '../../contract/state-store.contract.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sgw-state-sqlite-'));
  dirs.push(d);
  return d;
}
after(function () {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

stateStoreContract('SqliteStateStore', async () => {
  const dir = tempDir();
  const store = new SqliteStateStore({ stateDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStateStore', function () {
  const ds = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };

  it('creates a missing state directory and uses WAL with user_version set', async function () {
    const dir = path.join(tempDir(), 'nested', 'state');
    const store = new SqliteStateStore({ stateDir: dir });
    await store.close();
    assert.ok(existsSync(path.join(dir, 'state.sqlite')));
    const db = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('keeps anchors, map, devices and sessions across close and re-open', async function () {
    const dir = tempDir();
    const a = new SqliteStateStore({ stateDir: dir });
    await a.putDevice(ds, { nextNonce: 'n1' });
    await a.commitAnchors(ds, { client: 'c1', server: 's1' }, { put: [{ luid: '1', guid: '/a', etag: '"1"', hash: 'h' }] });
    await a.putSession('sess', { step: 2 }, 60);
    await a.close();

    const b = new SqliteStateStore({ stateDir: dir });
    try {
      assert.deepEqual(await b.getAnchors(ds), { client: 'c1', server: 's1' });
      assert.deepEqual(await b.getMap(ds), [{ luid: '1', guid: '/a', etag: '"1"', hash: 'h' }]);
      assert.deepEqual(await b.getDevice(ds), { nextNonce: 'n1' });
      assert.deepEqual(await b.getSession('sess'), { step: 2 });
    } finally {
      await b.close();
    }
  });

  it('keeps a committed session when the process is killed (SIGKILL) right after the commit', async function () {
    this.timeout(30_000);
    const dir = tempDir();
    // A child process commits and kills itself without closing the database.
    const src = `
      import { SqliteStateStore } from ${JSON.stringify(fileURLToPath(new URL('../../../src/state/sqlite-store.ts', import.meta.url)))};
      const s = new SqliteStateStore({ stateDir: ${JSON.stringify(dir)} });
      const k = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
      const put = Array.from({ length: 100 }, (_, i) => ({ luid: String(i), guid: '/c/' + i, etag: 'e' }));
      await s.commitAnchors(k, { client: 'c9', server: 's9' }, { put });
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const store = new SqliteStateStore({ stateDir: dir });
    try {
      assert.deepEqual(await store.getAnchors(ds), { client: 'c9', server: 's9' });
      assert.equal((await store.getMap(ds)).length, 100);
    } finally {
      await store.close();
    }
  });

  it('upgrades a schema-1 file (no field digests) in place, keeping its map', async function () {
    const dir = tempDir();
    const ds = { account: 'alice', deviceId: 'old-phone', datastore: 'contacts' };
    const v1 = new SqliteStateStore({ stateDir: dir });
    await v1.commitAnchors(ds, { client: 'c1', server: 's1' }, { put: [{ luid: '1', guid: '/a', etag: '"1"', hash: 'h' }] });
    await v1.close();
    const db = new Database(path.join(dir, 'state.sqlite'));
    db.exec('ALTER TABLE map_entries DROP COLUMN fields; DROP TABLE session_fields; DROP TABLE session_hashes');
    db.pragma('user_version = 1');
    db.close();
    const v2 = new SqliteStateStore({ stateDir: dir });
    try {
      assert.deepEqual(await v2.getMap(ds), [{ luid: '1', guid: '/a', etag: '"1"', hash: 'h' }]);
      await v2.putMapEntries(ds, [{ luid: '2', guid: '/b', etag: '"2"', fields: 'TEL=x' }]);
      assert.deepEqual((await v2.getMap(ds)).find((e) => e.luid === '2'), { luid: '2', guid: '/b', etag: '"2"', fields: 'TEL=x' });
      await v2.putSessionFields('h', [['a', '1']], 60);
      assert.deepEqual(await v2.getSessionFields('h', ['a']), ['1']);
    } finally {
      await v2.close();
    }
  });

  it('upgrades a schema-2 file (no session fields) to schema 3, keeping its sessions', async function () {
    assert.equal(SQLITE_SCHEMA_VERSION, 3);
    const dir = tempDir();
    const v2 = new SqliteStateStore({ stateDir: dir });
    await v2.putSession('sess', { step: 1 }, 60);
    await v2.close();
    const db = new Database(path.join(dir, 'state.sqlite'));
    db.exec('DROP TABLE session_fields; DROP TABLE session_hashes');
    db.pragma('user_version = 2');
    db.close();
    const v3 = new SqliteStateStore({ stateDir: dir });
    try {
      assert.deepEqual(await v3.getSession('sess'), { step: 1 });
      await v3.putSessionFields('h', [['a', '1']], 60);
      assert.deepEqual(await v3.getSessionFields('h', ['a']), ['1']);
    } finally {
      await v3.close();
    }
    const check = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    try {
      assert.equal(check.pragma('user_version', { simple: true }), 3);
    } finally {
      check.close();
    }
  });

  it('looks up map entries and session fields by index probes, not by reading the whole map', async function () {
    const dir = tempDir();
    const store = new SqliteStateStore({ stateDir: dir });
    const ds = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
    await store.putMapEntries(ds, Array.from({ length: 2000 }, (_, i) => ({ luid: String(i), guid: `/c/${i}.vcf`, etag: 'e' })));
    await store.close();
    const db = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    try {
      const plan = (sql: string, n: number): string =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from({ length: n + 1 }, (_, i) => String(i))) as Array<{ detail: string }>)
          .map((r) => r.detail)
          .join('; ');
      for (const n of [1, 2, 64, IN_CHUNK]) {
        const marks = Array.from({ length: n }, () => '?').join(', ');
        assert.match(plan(IN_LIST_SQL.mapByLuids(marks), n), /^SEARCH map_entries USING PRIMARY KEY \(ds_id=\? AND luid=\?\)$/, `${n} LUIDs`);
        assert.match(plan(IN_LIST_SQL.mapByGuids(marks), n), /^SEARCH map_entries USING INDEX map_entries_guid \(ds_id=\? AND guid=\?\)$/, `${n} GUIDs`);
        assert.match(plan(IN_LIST_SQL.sessionFields(marks), n), /^SEARCH session_fields USING PRIMARY KEY \(hash_key=\? AND field=\?\)$/, `${n} fields`);
      }
    } finally {
      db.close();
    }
  });

  it("bounds SQLite's page cache to 2 MB, not better-sqlite3's 16 MB, and takes another bound", async function () {
    const store = new SqliteStateStore({ stateDir: tempDir() });
    const larger = new SqliteStateStore({ stateDir: tempDir(), pageCacheKiB: 8192 });
    try {
      assert.equal(DEFAULT_PAGE_CACHE_KIB, 2048);
      assert.equal(store.pageCacheKiB, 2048);
      assert.equal(larger.pageCacheKiB, 8192);
    } finally {
      await store.close();
      await larger.close();
    }
  });

  it('refuses a file written by a newer schema version', async function () {
    const dir = tempDir();
    const db = new Database(path.join(dir, 'state.sqlite'));
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => new SqliteStateStore({ stateDir: dir }),
      (err: unknown) => isGatewayError(err, 'STATE_FAILED') && /newer gateway/.test((err as Error).message),
    );
  });

  it('fails with STATE_FAILED when the state directory cannot be created', function () {
    const dir = tempDir();
    const file = path.join(dir, 'a-file');
    new Database(file).close();
    assert.throws(() => new SqliteStateStore({ stateDir: path.join(file, 'sub') }), (err: unknown) => isGatewayError(err, 'STATE_FAILED'));
  });

  it('purges expired sessions, replies and locks from the file when opened', async function () {
    const dir = tempDir();
    const a = new SqliteStateStore({ stateDir: dir });
    await a.putSession('s', {}, 1);
    await a.putCachedReply('s', '1', { body: new Uint8Array([1]), contentType: 't' }, 1);
    await a.acquireLock(ds, 'o', 1);
    await a.close();
    await new Promise((r) => setTimeout(r, 1100));
    await new SqliteStateStore({ stateDir: dir }).close();
    const db = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    try {
      for (const t of ['sessions', 'cached_replies', 'locks']) {
        assert.equal((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
      }
    } finally {
      db.close();
    }
  });

  it('purges expired session fields from the file when opened, and keeps live ones', async function () {
    const dir = tempDir();
    const a = new SqliteStateStore({ stateDir: dir });
    await a.putSessionFields('gone', Array.from({ length: 50 }, (_, i): [string, string] => [`f${i}`, 'x']), 1);
    await a.putSessionFields('kept', [['f', 'y']], 60);
    await a.close();
    await new Promise((r) => setTimeout(r, 1100));
    await new SqliteStateStore({ stateDir: dir }).close();
    const db = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT hash_key, field, value FROM session_fields').all(), [{ hash_key: 'kept', field: 'f', value: 'y' }]);
      assert.deepEqual(db.prepare('SELECT hash_key FROM session_hashes').all(), [{ hash_key: 'kept' }]);
    } finally {
      db.close();
    }
  });

  it('two stores on one file write and read one hash (two gateway processes on one machine)', async function () {
    const dir = tempDir();
    const a = new SqliteStateStore({ stateDir: dir });
    const b = new SqliteStateStore({ stateDir: dir });
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).putSessionFields('h', [[`f${i}`, `v${i}`]], 60)));
      const names = Array.from({ length: 10 }, (_, i) => `f${i}`);
      const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
      assert.deepEqual(await a.getSessionFields('h', names), values);
      assert.deepEqual(await b.getSessionFields('h', names), values);
      await b.deleteSessionFields('h');
      assert.deepEqual(await a.getSessionFields('h', ['f0', 'f1']), [undefined, undefined], 'a delete by one store is seen by the other');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two stores on one file share locks (two gateway processes on one machine)', async function () {
    const dir = tempDir();
    const a = new SqliteStateStore({ stateDir: dir });
    const b = new SqliteStateStore({ stateDir: dir });
    try {
      assert.equal(await a.acquireLock(ds, 'a', 30), true);
      assert.equal(await b.acquireLock(ds, 'b', 30), false);
      await a.releaseLock(ds, 'a');
      assert.equal(await b.acquireLock(ds, 'b', 30), true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('createStateStore picks SQLite when no Redis URL is given', async function () {
    const dir = tempDir();
    const store = await createStateStore({ stateDir: dir });
    try {
      // By name: createStateStore loads the store with a dynamic import, which tsx under mocha
      // resolves to another module instance than this file's static import.
      assert.equal(store.constructor.name, 'SqliteStateStore');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
