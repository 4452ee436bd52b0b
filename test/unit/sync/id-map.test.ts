// The ID map's batched writes (IdMap.batched): one state write per client command instead of one
// per item, with the same final map as writing them one by one, and nothing lost on an error.
// Its lookups (IdMap.preload/byLuid/byGuid): only the entries a message is about are read, and
// what memory holds of the message's own changes wins over the store's older copy.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatastoreKey, MapEntry, MapLookup } from '../../../src/state/state-store.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { IdMap, MAX_PENDING_ENTRIES } from '../../../src/sync/id-map.js';

/** The real SQLite store, counting the map writes that reach it. */
class CountingStore extends SqliteStateStore {
  puts: number[] = [];
  wholeReads = 0;
  lookups: number[] = [];
  override getMap(key: DatastoreKey): Promise<MapEntry[]> {
    this.wholeReads++;
    return super.getMap(key);
  }
  override getMapEntries(key: DatastoreKey, lookup: MapLookup): Promise<MapEntry[]> {
    this.lookups.push((lookup.luids?.length ?? 0) + (lookup.guids?.length ?? 0));
    return super.getMapEntries(key, lookup);
  }
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

describe('sync/id-map: lookups without reading the whole map', function () {
  let state: CountingStore;

  beforeEach(function () {
    state = new CountingStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'id-map-lookup-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('reads only the entries a message asks for, each once, in one read per preload', async function () {
    await state.putMapEntries(key, Array.from({ length: 2000 }, (_, i) => entry(`L${i}`, `/c/${i}.vcf`, `e${i}`)));
    const map = new IdMap(state, key);
    await map.preload({ luids: ['L5', 'L7', 'L9', 'nope'] });
    assert.deepEqual(state.lookups, [4]);
    assert.deepEqual(await map.byLuid('L7'), entry('L7', '/c/7.vcf', 'e7'));
    assert.equal(await map.byLuid('nope'), undefined);
    assert.deepEqual(await map.byGuid('/c/9.vcf'), entry('L9', '/c/9.vcf', 'e9'), 'an entry read by LUID is known by GUID too');
    assert.deepEqual(state.lookups, [4], 'known entries and known absences cost no read');
    assert.deepEqual(await map.byGuid('/c/1999.vcf'), entry('L1999', '/c/1999.vcf', 'e1999'));
    assert.deepEqual(state.lookups, [4, 1]);
    assert.equal(state.wholeReads, 0);
    assert.equal((await map.load()).byLuid.size, 2000);
    assert.equal(state.wholeReads, 1);
    await map.byLuid('L1500');
    await map.preload({ guids: ['/c/3.vcf'] });
    assert.deepEqual(state.lookups, [4, 1], 'after a whole read nothing more is read');
  });

  it("memory's changes not yet written win over the store's older entries", async function () {
    await state.putMapEntries(key, [entry('L1', '/c/1.vcf'), entry('L2', '/c/2.vcf'), entry('L3', '/c/3.vcf')]);
    const map = new IdMap(state, key);
    state.puts.length = 0;
    await map.batched(async () => {
      await map.put(entry('L1', '/c/2.vcf', 'moved')); // /c/2.vcf moves from L2 to L1; /c/1.vcf loses its LUID
      await map.delete('L3');
      assert.deepEqual(state.puts, [], 'nothing written yet');
      assert.equal(await map.byLuid('L2'), undefined, 'the store still has L2 -> /c/2.vcf, but that GUID moved');
      assert.equal(await map.byGuid('/c/1.vcf'), undefined, 'the store still has L1 -> /c/1.vcf, but L1 moved');
      assert.equal(await map.byLuid('L3'), undefined, 'deleted in memory');
      assert.equal(await map.byGuid('/c/3.vcf'), undefined);
      assert.deepEqual(await map.byGuid('/c/2.vcf'), entry('L1', '/c/2.vcf', 'moved'));
      assert.deepEqual(sorted([...(await map.load()).byLuid.values()]), ['L1=/c/2.vcf@moved']);
    });
    assert.deepEqual(sorted(await state.getMap(key)), ['L1=/c/2.vcf@moved']);
  });

  it('an entry put over a GUID whose owner memory never read, then deleted in the same batch, still removes that owner', async function () {
    await state.putMapEntries(key, [entry('A', '/c/2.vcf')]);
    const map = new IdMap(state, key);
    state.lookups.length = 0;
    await map.batched(async () => {
      await map.put(entry('D', '/c/2.vcf')); // the store's rule: A goes
      assert.deepEqual(state.lookups, [], 'no read per put');
      await map.delete('D');
    });
    assert.deepEqual(await state.getMap(key), []);
  });

  it('any mix of lookups, whole reads, upserts and deletes, batched or not, sees and leaves the same map as a plain model', async function () {
    this.timeout(120_000);
    const luid = fc.constantFrom('A', 'B', 'C', 'D', 'E');
    const guid = fc.constantFrom('/1', '/2', '/3', '/4', '/5');
    const op = fc.oneof(
      fc.record({ op: fc.constant('put' as const), luid, guid, etag: fc.constantFrom('x', 'y') }),
      fc.record({ op: fc.constant('delete' as const), luid }),
      fc.record({ op: fc.constant('byLuid' as const), luid }),
      fc.record({ op: fc.constant('byGuid' as const), guid }),
      fc.record({ op: fc.constant('preload' as const), luids: fc.array(luid, { maxLength: 3 }), guids: fc.array(guid, { maxLength: 3 }) }),
      fc.record({ op: fc.constant('load' as const) }),
    );
    const initial = fc.uniqueArray(fc.tuple(luid, guid), { selector: ([, g]) => g, maxLength: 5 })
      .map((pairs) => pairs.filter(([l], i) => pairs.findIndex(([l2]) => l2 === l) === i));
    let run = 0;
    await fc.assert(fc.asyncProperty(initial, fc.array(op, { maxLength: 25 }), fc.boolean(), async (init, ops, batched) => {
      const k = { ...key, deviceId: `IMEI:prop-${run++}` };
      await state.putMapEntries(k, init.map(([l, g]) => entry(l, g, 'init')));
      // The model: LUID -> entry, a GUID under one LUID at most (an upsert moves it).
      const model = new Map(init.map(([l, g]) => [l, entry(l, g, 'init')]));
      const map = new IdMap(state, k);
      const body = async (): Promise<void> => {
        for (const o of ops) {
          if (o.op === 'put') {
            for (const [l, e] of model) if (e.guid === o.guid && l !== o.luid) model.delete(l);
            model.set(o.luid, entry(o.luid, o.guid, o.etag));
            await map.put(entry(o.luid, o.guid, o.etag));
          } else if (o.op === 'delete') {
            model.delete(o.luid);
            await map.delete(o.luid);
          } else if (o.op === 'byLuid') {
            assert.deepEqual(await map.byLuid(o.luid), model.get(o.luid));
          } else if (o.op === 'byGuid') {
            assert.deepEqual(await map.byGuid(o.guid), [...model.values()].find((e) => e.guid === o.guid));
          } else if (o.op === 'preload') {
            await map.preload({ luids: o.luids, guids: o.guids });
          } else {
            assert.deepEqual(sorted([...(await map.load()).byLuid.values()]), sorted([...model.values()]));
          }
        }
      };
      if (batched) await map.batched(body);
      else await body();
      assert.deepEqual(sorted(await state.getMap(k)), sorted([...model.values()]));
    }), { numRuns: 1000 });
  });
});
