// The ID map's batched writes (IdMap.batched): one state write per client command instead of one
// per item, with the same final map as writing them one by one, and nothing lost on an error.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatastoreKey, MapEntry } from '../../../src/state/state-store.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { IdMap, MAX_PENDING_ENTRIES } from '../../../src/sync/id-map.js';

/** The real SQLite store, counting the map writes that reach it. */
class CountingStore extends SqliteStateStore {
  puts: number[] = [];
  override putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    this.puts.push(entries.length);
    return super.putMapEntries(key, entries);
  }
}

const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
const entry = (luid: string, guid: string, etag = 'e'): MapEntry => ({ luid, guid, etag });
const sorted = (m: MapEntry[]): string[] => m.map((e) => `${e.luid}=${e.guid}@${e.etag}`).sort();

describe('sync/id-map: batched writes', function () {
  let state: CountingStore;

  beforeEach(function () {
    state = new CountingStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'id-map-unit-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('writes the upserts of a batch in one state write, when the batch ends', async function () {
    const map = new IdMap(state, key);
    await map.batched(async () => {
      for (let i = 0; i < 50; i++) await map.put(entry(`L${i}`, `/c/${i}.vcf`));
      assert.deepEqual(state.puts, [], 'nothing written before the batch ends');
      assert.equal((await map.load()).byLuid.size, 50, 'the in-memory map sees the entries at once');
    });
    assert.deepEqual(state.puts, [50]);
    assert.equal((await state.getMap(key)).length, 50);
  });

  it('without a batch every upsert is written at once, as before', async function () {
    const map = new IdMap(state, key);
    await map.put(entry('L1', '/c/1.vcf'));
    await map.put(entry('L2', '/c/2.vcf'));
    assert.deepEqual(state.puts, [1, 1]);
  });

  it('ends with the same map as writing one by one (same LUID twice, a GUID moving to another LUID, a delete)', async function () {
    const ops = async (map: IdMap): Promise<void> => {
      await map.put(entry('A', '/c/a.vcf', '1'));
      await map.put(entry('B', '/c/b.vcf', '1'));
      await map.put(entry('A', '/c/a.vcf', '2'));
      await map.put(entry('C', '/c/b.vcf', '1')); // same GUID under another LUID replaces B
      await map.put(entry('D', '/c/d.vcf', '1'));
      await map.delete('D');
      await map.updateInPlace([entry('A', '/c/a.vcf', '3')]);
    };
    const one = new IdMap(state, key);
    await ops(one);
    const expected = sorted(await state.getMap(key));
    const other = { ...key, datastore: 'other' };
    const batched = new IdMap(state, other);
    state.puts = [];
    await batched.batched(() => ops(batched));
    assert.deepEqual(sorted(await state.getMap(other)), expected);
    assert.deepEqual(expected, ['A=/c/a.vcf@3', 'C=/c/b.vcf@1']);
    assert.deepEqual(state.puts, [2]);
  });

  it('deletes in a batch are one state write too, at its end', async function () {
    const map = new IdMap(state, key);
    await map.updateInPlace(Array.from({ length: 30 }, (_, i) => entry(`L${i}`, `/c/${i}.vcf`)));
    const deletes: number[] = [];
    const del = state.deleteMapEntries.bind(state);
    state.deleteMapEntries = (k, luids) => {
      deletes.push(luids.length);
      return del(k, luids);
    };
    await map.batched(async () => {
      for (let i = 0; i < 20; i++) await map.delete(`L${i}`);
      assert.deepEqual(deletes, [], 'nothing written before the batch ends');
      assert.equal((await map.load()).byLuid.size, 10, 'the in-memory map sees the deletes at once');
    });
    assert.deepEqual(deletes, [20]);
    assert.equal((await state.getMap(key)).length, 10);
  });

  it('an entry displaced by a GUID moving to another LUID stays removed when that LUID is written again', async function () {
    const ops = async (map: IdMap): Promise<void> => {
      await map.put(entry('A', '/c/a.vcf'));
      await map.put(entry('B', '/c/a.vcf')); // removes A (same GUID)
      await map.put(entry('B', '/c/b.vcf'));
    };
    const one = new IdMap(state, key);
    await one.put(entry('A', '/c/a.vcf'));
    await ops(one);
    const expected = sorted(await state.getMap(key));
    assert.deepEqual(expected, ['B=/c/b.vcf@e']);
    const other = { ...key, datastore: 'other' };
    const batched = new IdMap(state, other);
    await batched.put(entry('A', '/c/a.vcf'));
    await batched.batched(() => ops(batched));
    assert.deepEqual(sorted(await state.getMap(other)), expected);
  });

  it('writes what the batch did before an error, then rethrows the error', async function () {
    const map = new IdMap(state, key);
    await assert.rejects(map.batched(async () => {
      await map.put(entry('L1', '/c/1.vcf'));
      throw new Error('DAV down');
    }), /DAV down/);
    assert.deepEqual(sorted(await state.getMap(key)), ['L1=/c/1.vcf@e']);
  });

  it('a nested batch is written by the outer one', async function () {
    const map = new IdMap(state, key);
    await map.batched(async () => {
      await map.batched(async () => map.put(entry('L1', '/c/1.vcf')));
      assert.deepEqual(state.puts, []);
      await map.put(entry('L2', '/c/2.vcf'));
    });
    assert.deepEqual(state.puts, [2]);
  });

  it('a reset drops upserts not yet written', async function () {
    const map = new IdMap(state, key);
    await map.put(entry('OLD', '/c/old.vcf'));
    await map.batched(async () => {
      await map.put(entry('L1', '/c/1.vcf'));
      await map.reset();
    });
    assert.deepEqual(await state.getMap(key), []);
  });

  it(`holds back at most ${MAX_PENDING_ENTRIES} entries: a crash inside a long command leaves few items unmapped`, async function () {
    const map = new IdMap(state, key);
    const n = MAX_PENDING_ENTRIES * 2 + 5;
    await map.batched(async () => {
      for (let i = 0; i < n; i++) await map.put(entry(`L${i}`, `/c/${i}.vcf`));
      assert.deepEqual(state.puts, [MAX_PENDING_ENTRIES, MAX_PENDING_ENTRIES], 'written in bounded groups while the command runs');
    });
    assert.deepEqual(state.puts, [MAX_PENDING_ENTRIES, MAX_PENDING_ENTRIES, 5]);
    assert.equal((await state.getMap(key)).length, n);
  });
});
