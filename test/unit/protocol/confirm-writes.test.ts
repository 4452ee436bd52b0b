// The device's Status confirmations of server changes are written to the ID map once per run of
// Status commands, not once per item (issue 15: in a refresh or a two-way sync with server
// changes every confirmed Replace or Delete cost one SQLite transaction or Redis round trip).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StatusCmd } from '../../../src/codec/model.js';
import type { DataStore } from '../../../src/datastores/datastore.js';
import { createLogger } from '../../../src/logger.js';
import { onStatus } from '../../../src/protocol/commands/status.js';
import { runCommands } from '../../../src/protocol/dispatch.js';
import type { SessionState } from '../../../src/protocol/session.js';
import type { DatastoreKey, MapEntry } from '../../../src/state/state-store.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { MAX_PENDING_ENTRIES } from '../../../src/sync/id-map.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { context, datastore, session } from './support.js';

class CountingState extends SqliteStateStore {
  puts: number[] = [];
  deletes: number[] = [];
  override putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    this.puts.push(entries.length);
    return super.putMapEntries(key, entries);
  }
  override deleteMapEntries(key: DatastoreKey, luids: readonly string[]): Promise<void> {
    this.deletes.push(luids.length);
    return super.deleteMapEntries(key, luids);
  }
}

const status = (cmdRef: number, data = '200'): StatusCmd => ({ kind: 'Status', cmdId: String(cmdRef), msgRef: '4', cmdRef: String(cmdRef), cmd: 'Replace', data, targetRefs: [], sourceRefs: [], items: [] });
const sorted = (m: MapEntry[]): string[] => m.map((e) => `${e.luid}=${e.guid}@${e.etag}`).sort();

describe('protocol: one map write per run of Status commands', function () {
  let state: CountingState;
  const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };

  beforeEach(function () {
    state = new CountingState({ stateDir: mkdtempSync(path.join(tmpdir(), 'confirm-writes-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  /** A session that sent `replaces` Replaces (L0…) then `deletes` Deletes of mapped items, in message 4 from command 10. */
  async function sentSession(k: DatastoreKey, replaces: number, deletes: number): Promise<{ sess: SessionState; sync: DatastoreSync }> {
    const n = replaces + deletes;
    await state.putMapEntries(k, Array.from({ length: n }, (_, i) => ({ luid: `L${i}`, guid: `/c/${i}.vcf`, etag: '"1"' })));
    state.puts = [];
    state.deletes = [];
    const sent: SessionState['sent'] = {};
    for (let i = 0; i < n; i++) {
      sent[`4:${10 + i}:0`] = i < replaces
        ? { ds: 'contacts', op: 'Replace', href: `/c/${i}.vcf`, luid: `L${i}`, etag: '"2"', hash: `h${i}` }
        : { ds: 'contacts', op: 'Delete', href: `/c/${i}.vcf`, luid: `L${i}` };
    }
    const sync = new DatastoreSync({} as DataStore, state, k, contactsTranslator, createLogger('silent'));
    return { sess: session([datastore()], { sent }), sync };
  }

  it('20 confirmed Replaces and 20 confirmed Deletes in one message: one upsert and one delete write, same map as one by one', async function () {
    const { sess, sync } = await sentSession(key, 20, 20);
    const statuses = Array.from({ length: 40 }, (_, i) => status(10 + i));
    await runCommands(context(sess, sync, 100_000), statuses);
    assert.deepEqual(state.puts, [20]);
    assert.deepEqual(state.deletes, [20]);
    assert.deepEqual(sess.sent, {});
    const batched = sorted(await state.getMap(key));
    assert.equal(batched.length, 20);
    assert.ok(batched.every((e) => e.endsWith('@"2"')));

    // One by one (each Status on its own, no run): the same map, 40 writes.
    const other = { ...key, datastore: 'other' };
    const one = await sentSession(other, 20, 20);
    const ctx = context(one.sess, one.sync, 100_000);
    for (const st of statuses) await onStatus(ctx, st);
    assert.equal(state.puts.length + state.deletes.length, 40);
    assert.deepEqual(sorted(await state.getMap(other)), batched);
  });

  it(`holds back at most ${MAX_PENDING_ENTRIES} confirmations: a crash inside a long run loses few`, async function () {
    const n = MAX_PENDING_ENTRIES * 2 + 5;
    const { sess, sync } = await sentSession(key, 0, n);
    await runCommands(context(sess, sync, 100_000), Array.from({ length: n }, (_, i) => status(10 + i)));
    assert.deepEqual(state.deletes, [MAX_PENDING_ENTRIES, MAX_PENDING_ENTRIES, 5]);
    assert.deepEqual(await state.getMap(key), []);
  });

  it('a refused or gone change writes nothing; a gone Delete still removes the entry', async function () {
    const { sess, sync } = await sentSession(key, 2, 2);
    await runCommands(context(sess, sync, 100_000), [status(10, '500'), status(11, '200'), status(12, '404'), status(13, '500')]);
    assert.deepEqual(state.puts, [1]);
    assert.deepEqual(state.deletes, [1]);
    assert.deepEqual(sorted(await state.getMap(key)), ['L1=/c/1.vcf@"2"', 'L0=/c/0.vcf@"1"', 'L3=/c/3.vcf@"1"'].sort());
  });
});
