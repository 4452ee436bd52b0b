// Contract suite for StateStore: every implementation runs it (test/unit/state/state-sqlite.test.ts,
// test/integration/state-redis.test.ts), so a new backend is one short runner file.
// Each test uses fresh account names, so one store instance serves the whole suite.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { isGatewayError } from '../../src/errors.js';
import type { DatastoreKey, DeviceKey, MapEntry, StateStore } from '../../src/state/state-store.js';

export interface StoreFixture {
  store: StateStore;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const byLuid = (a: MapEntry, b: MapEntry): number => (a.luid < b.luid ? -1 : a.luid > b.luid ? 1 : 0);
const sorted = (m: MapEntry[]): MapEntry[] => [...m].sort(byLuid);

async function rejectsWithStateFailed(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => isGatewayError(err, 'STATE_FAILED'));
}

async function pagesOf(it: AsyncIterable<Array<[string, string]>>): Promise<Array<Array<[string, string]>>> {
  const pages: Array<Array<[string, string]>> = [];
  for await (const page of it) pages.push(page);
  return pages;
}

const byField = (a: readonly [string, string], b: readonly [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function stateStoreContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`StateStore contract: ${name}`, function () {
    let fx: StoreFixture;
    let store: StateStore;
    // A fresh account per test: tests never see each other's data.
    let account: string;
    let dev: DeviceKey;
    let ds: DatastoreKey;

    before(async function () {
      fx = await make();
      store = fx.store;
    });
    after(async function () {
      await fx?.cleanup();
    });
    beforeEach(function () {
      account = `acct-${randomUUID()}`;
      dev = { account, deviceId: 'IMEI:350000000000001' };
      ds = { ...dev, datastore: 'contacts' };
    });

    describe('missing data', function () {
      it('getters return undefined or [] and never throw', async function () {
        assert.equal(await store.getAnchors(ds), undefined);
        assert.deepEqual(await store.getMap(ds), []);
        assert.equal(await store.getDevice(dev), undefined);
        assert.deepEqual(await store.listDevices(account), []);
        assert.equal(await store.getSession(`s-${randomUUID()}`), undefined);
        assert.equal(await store.getCachedReply(`s-${randomUUID()}`, '1'), undefined);
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['1'], guids: ['/a'] }), []);
        assert.deepEqual(await store.getSessionFields(`h-${randomUUID()}`, ['a', 'b']), [undefined, undefined]);
        assert.deepEqual(await pagesOf(store.scanSessionFields(`h-${randomUUID()}`)), []);
      });

      it('deletes, resets, forgets and releases of unknown things are no-ops', async function () {
        await store.deleteMapEntries(ds, ['nope']);
        await store.resetDatastore(ds);
        await store.forgetDevice(dev);
        await store.deleteSession(`s-${randomUUID()}`);
        await store.releaseLock(dev, 'nobody');
        await store.deleteSessionFields(`h-${randomUUID()}`);
        assert.deepEqual(await store.getMap(ds), []);
        assert.deepEqual(await store.listDevices(account), []);
      });

      it('ping resolves', async function () {
        await store.ping();
      });
    });

    describe('map', function () {
      it('round-trips entries, with and without hash and field digests', async function () {
        const entries: MapEntry[] = [
          { luid: '1', guid: '/dav/addressbooks/alice/contacts/a.vcf', etag: '"e1"', hash: 'h1' },
          { luid: '2', guid: '/dav/addressbooks/alice/contacts/b.vcf', etag: 'W/"e2"' },
          { luid: '3', guid: '/dav/addressbooks/alice/contacts/c.vcf', etag: '"e3"', hash: 'h3', fields: 'EMAIL=abc;TEL=def' },
          { luid: '4', guid: '/dav/addressbooks/alice/contacts/d.vcf', etag: '"e4"', fields: 'FN=xyz' },
        ];
        await store.putMapEntries(ds, entries);
        const got = sorted(await store.getMap(ds));
        assert.deepEqual(got, entries);
        assert.equal('hash' in got[1], false, 'an entry stored without hash comes back without the property');
        assert.equal('hash' in got[3], false, 'fields without hash: still no hash');
      });

      it('upserts by LUID: a new GUID/etag replaces the old one and frees the old GUID', async function () {
        await store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: '1', hash: 'x' }]);
        await store.putMapEntries(ds, [{ luid: '1', guid: '/b', etag: '2' }]);
        assert.deepEqual(await store.getMap(ds), [{ luid: '1', guid: '/b', etag: '2' }]);
        // The old GUID is free: another LUID may take it without disturbing LUID 1.
        await store.putMapEntries(ds, [{ luid: '2', guid: '/a', etag: '3' }]);
        assert.deepEqual(sorted(await store.getMap(ds)), [
          { luid: '1', guid: '/b', etag: '2' },
          { luid: '2', guid: '/a', etag: '3' },
        ]);
      });

      it('an entry with the same GUID but another LUID replaces the old entry', async function () {
        await store.putMapEntries(ds, [
          { luid: '1', guid: '/a', etag: '1' },
          { luid: '2', guid: '/b', etag: '1' },
        ]);
        // The phone re-added the item after a slow sync and reports a new LUID for it.
        await store.putMapEntries(ds, [{ luid: '9', guid: '/a', etag: '2' }]);
        assert.deepEqual(sorted(await store.getMap(ds)), [
          { luid: '2', guid: '/b', etag: '1' },
          { luid: '9', guid: '/a', etag: '2' },
        ]);
        // Deleting the replaced LUID must not remove the GUID's new owner.
        await store.deleteMapEntries(ds, ['1']);
        assert.equal((await store.getMap(ds)).length, 2);
      });

      it('within one batch the later of two entries for one GUID wins', async function () {
        await store.putMapEntries(ds, [
          { luid: '1', guid: '/a', etag: '1' },
          { luid: '2', guid: '/a', etag: '2' },
        ]);
        assert.deepEqual(await store.getMap(ds), [{ luid: '2', guid: '/a', etag: '2' }]);
      });

      it('deleteMapEntries removes only the given LUIDs and ignores unknown ones', async function () {
        await store.putMapEntries(ds, [
          { luid: '1', guid: '/a', etag: '1' },
          { luid: '2', guid: '/b', etag: '1' },
          { luid: '3', guid: '/c', etag: '1' },
        ]);
        await store.deleteMapEntries(ds, ['1', '3', 'unknown']);
        assert.deepEqual(await store.getMap(ds), [{ luid: '2', guid: '/b', etag: '1' }]);
        // A deleted entry's GUID can be mapped again.
        await store.putMapEntries(ds, [{ luid: '4', guid: '/a', etag: '1' }]);
        assert.equal((await store.getMap(ds)).length, 2);
      });

      it('keeps datastores, devices and accounts apart', async function () {
        const other: DatastoreKey[] = [
          { ...ds, datastore: 'calendar' },
          { ...ds, deviceId: 'IMEI:350000000000002' },
          { ...ds, account: `${account}-b` },
        ];
        await store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: 'mine' }]);
        for (const k of other) await store.putMapEntries(k, [{ luid: '1', guid: '/a', etag: k.datastore + k.deviceId }]);
        assert.deepEqual(await store.getMap(ds), [{ luid: '1', guid: '/a', etag: 'mine' }]);
        await store.resetDatastore(ds);
        for (const k of other) assert.equal((await store.getMap(k)).length, 1);
      });

      it('ids with key-syntax characters neither collide nor break', async function () {
        // `a|b`/`c` versus `a`/`b|c`: a naive "account|device" key would merge them.
        const k1: DatastoreKey = { account: `${account}|x`, deviceId: 'y', datastore: 'c:d' };
        const k2: DatastoreKey = { account, deviceId: 'x|y', datastore: 'c:d' };
        const k3: DatastoreKey = { account: `{${account}}`, deviceId: '}{%7B:', datastore: 'c' };
        const k4: DatastoreKey = { account: `{${account}}`, deviceId: '}{%7B:', datastore: 'c:d:map' };
        for (const [i, k] of [k1, k2, k3, k4].entries()) {
          await store.putMapEntries(k, [{ luid: `ü-${i}`, guid: `/é/${i} space`, etag: `${i}` }]);
        }
        for (const [i, k] of [k1, k2, k3, k4].entries()) {
          assert.deepEqual(await store.getMap(k), [{ luid: `ü-${i}`, guid: `/é/${i} space`, etag: `${i}` }]);
        }
        const listed = await store.listDevices(`{${account}}`);
        assert.deepEqual(listed.map((d) => [d.deviceId, d.datastores]), [['}{%7B:', ['c', 'c:d:map']]]);
      });

      it('handles a 2,000-entry batch', async function () {
        const entries = Array.from({ length: 2000 }, (_, i) => ({ luid: String(i), guid: `/c/${i}.vcf`, etag: `"${i}"` }));
        await store.putMapEntries(ds, entries);
        assert.equal((await store.getMap(ds)).length, 2000);
      });

      it('behaves like a LUID-keyed map with unique GUIDs (property)', async function () {
        this.timeout(120_000);
        const luid = fc.constantFrom('1', '2', '3', '4', '5');
        const guid = fc.constantFrom('/a', '/b', '/c', '/d');
        const op = fc.oneof(
          fc.record({ put: fc.array(fc.record({ luid, guid, etag: fc.constantFrom('1', '2') }), { maxLength: 4 }) }),
          fc.record({ del: fc.array(luid, { maxLength: 3 }) }),
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { maxLength: 8 }), async (ops) => {
            const k: DatastoreKey = { ...ds, datastore: `prop-${run++}` };
            const model = new Map<string, MapEntry>();
            for (const o of ops) {
              if ('put' in o) {
                await store.putMapEntries(k, o.put);
                for (const e of o.put) {
                  for (const [l, m] of model) if (m.guid === e.guid && l !== e.luid) model.delete(l);
                  model.set(e.luid, { ...e }); // fc.record objects have a null prototype
                }
              } else {
                await store.deleteMapEntries(k, o.del);
                for (const l of o.del) model.delete(l);
              }
            }
            assert.deepEqual(sorted(await store.getMap(k)), sorted([...model.values()]));
          }),
          { numRuns: 40 },
        );
      });
    });

    describe('map lookups (getMapEntries)', function () {
      const e1: MapEntry = { luid: '1', guid: '/c/a.vcf', etag: '"e1"', hash: 'h1', fields: 'TEL=x' };
      const e2: MapEntry = { luid: '2', guid: '/c/b.vcf', etag: '"e2"' };
      const e3: MapEntry = { luid: '3', guid: '/c/c.vcf', etag: '"e3"', hash: 'h3' };

      it('finds entries by LUID, whole, leaving out LUIDs not mapped', async function () {
        await store.putMapEntries(ds, [e1, e2, e3]);
        const got = sorted(await store.getMapEntries(ds, { luids: ['3', 'nope', '1'] }));
        assert.deepEqual(got, [e1, e3]);
        assert.equal('fields' in got[1], false, 'an entry without field digests comes back without the property');
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['2'] }), [e2]);
        assert.equal('hash' in (await store.getMapEntries(ds, { luids: ['2'] }))[0], false);
      });

      it('finds entries by GUID, leaving out GUIDs not mapped', async function () {
        await store.putMapEntries(ds, [e1, e2, e3]);
        assert.deepEqual(sorted(await store.getMapEntries(ds, { guids: ['/c/c.vcf', '/c/zz.vcf', '/c/a.vcf'] })), [e1, e3]);
        assert.deepEqual(await store.getMapEntries(ds, { guids: ['/c/b.vcf'] }), [e2]);
        // A GUID is not a LUID and the other way round.
        assert.deepEqual(await store.getMapEntries(ds, { guids: ['1'], luids: ['/c/a.vcf'] }), []);
      });

      it('gives an entry found by both its LUID and its GUID (or twice in one list) once', async function () {
        await store.putMapEntries(ds, [e1, e2, e3]);
        const got = await store.getMapEntries(ds, { luids: ['1', '2', '1'], guids: ['/c/a.vcf', '/c/c.vcf', '/c/b.vcf', '/c/c.vcf'] });
        assert.equal(got.length, 3, JSON.stringify(got));
        assert.deepEqual(sorted(got), [e1, e2, e3]);
      });

      it('follows moves: a GUID re-mapped to another LUID, and a LUID given another GUID', async function () {
        await store.putMapEntries(ds, [e1, e2]);
        await store.putMapEntries(ds, [{ luid: '9', guid: '/c/a.vcf', etag: '"e9"' }]);
        assert.deepEqual(await store.getMapEntries(ds, { guids: ['/c/a.vcf'] }), [{ luid: '9', guid: '/c/a.vcf', etag: '"e9"' }]);
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['1'] }), [], 'the replaced LUID is gone');
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['9'], guids: ['/c/a.vcf'] }), [{ luid: '9', guid: '/c/a.vcf', etag: '"e9"' }]);
        await store.putMapEntries(ds, [{ luid: '2', guid: '/c/new.vcf', etag: '"e2b"' }]);
        assert.deepEqual(await store.getMapEntries(ds, { guids: ['/c/b.vcf'] }), [], 'the old GUID of LUID 2 is free');
        assert.deepEqual(await store.getMapEntries(ds, { guids: ['/c/new.vcf'] }), [{ luid: '2', guid: '/c/new.vcf', etag: '"e2b"' }]);
        await store.deleteMapEntries(ds, ['9']);
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['9'], guids: ['/c/a.vcf'] }), []);
      });

      it('an empty lookup, an unknown datastore and other datastores give nothing', async function () {
        await store.putMapEntries(ds, [e1]);
        await store.putMapEntries({ ...ds, datastore: 'calendar' }, [{ luid: '7', guid: '/e/7.ics', etag: '7' }]);
        assert.deepEqual(await store.getMapEntries(ds, {}), []);
        assert.deepEqual(await store.getMapEntries(ds, { luids: [], guids: [] }), []);
        assert.deepEqual(await store.getMapEntries({ ...ds, datastore: 'notes' }, { luids: ['1'], guids: ['/c/a.vcf'] }), []);
        assert.deepEqual(await store.getMapEntries(ds, { luids: ['7'], guids: ['/e/7.ics'] }), []);
        assert.deepEqual(await store.getMapEntries({ ...ds, deviceId: 'other' }, { luids: ['1'] }), []);
      });

      it('looks up thousands of LUIDs and GUIDs in one call', async function () {
        const all = Array.from({ length: 2500 }, (_, i) => ({ luid: String(i), guid: `/c/${i}.vcf`, etag: `"${i}"` }));
        await store.putMapEntries(ds, all);
        // LUIDs 0..1499 and GUIDs of 1000..2299 (overlapping 1000..1499), plus unmapped ones.
        const luids = [...all.slice(0, 1500).map((e) => e.luid), ...Array.from({ length: 50 }, (_, i) => `x${i}`)];
        const guids = [...all.slice(1000, 2300).map((e) => e.guid), ...Array.from({ length: 50 }, (_, i) => `/none/${i}`)];
        const got = await store.getMapEntries(ds, { luids, guids });
        assert.equal(got.length, 2300);
        assert.deepEqual(
          got.map((e) => Number(e.luid)).sort((a, b) => a - b),
          Array.from({ length: 2300 }, (_, i) => i),
        );
        for (const e of got) assert.deepEqual(e, all[Number(e.luid)]);
      });
    });

    describe('anchors', function () {
      it('commitAnchors stores anchors; a later commit overwrites them', async function () {
        await store.commitAnchors(ds, { client: '20240101T000000Z', server: '1' });
        assert.deepEqual(await store.getAnchors(ds), { client: '20240101T000000Z', server: '1' });
        await store.commitAnchors(ds, { client: '20240102T000000Z', server: '2' });
        assert.deepEqual(await store.getAnchors(ds), { client: '20240102T000000Z', server: '2' });
        assert.equal(await store.getAnchors({ ...ds, datastore: 'calendar' }), undefined);
      });

      it('commitAnchors applies map changes with the anchors (puts, then deletes)', async function () {
        await store.putMapEntries(ds, [
          { luid: '1', guid: '/a', etag: '1' },
          { luid: '2', guid: '/b', etag: '1' },
        ]);
        await store.commitAnchors(
          ds,
          { client: 'c1', server: 's1' },
          { put: [{ luid: '3', guid: '/c', etag: '1', hash: 'h' }, { luid: '4', guid: '/b', etag: '2' }], deleteLuids: ['1'] },
        );
        assert.deepEqual(await store.getAnchors(ds), { client: 'c1', server: 's1' });
        assert.deepEqual(sorted(await store.getMap(ds)), [
          { luid: '3', guid: '/c', etag: '1', hash: 'h' },
          { luid: '4', guid: '/b', etag: '2' },
        ]);
      });

      it('commitAnchors is all-or-nothing: a bad entry leaves anchors and map untouched', async function () {
        await store.commitAnchors(ds, { client: 'c1', server: 's1' }, { put: [{ luid: '1', guid: '/a', etag: '1' }] });
        const bad = { luid: '3', guid: undefined, etag: '1' } as unknown as MapEntry;
        await rejectsWithStateFailed(
          store.commitAnchors(
            ds,
            { client: 'c2', server: 's2' },
            { put: [{ luid: '2', guid: '/b', etag: '1' }, bad], deleteLuids: ['1'] },
          ),
        );
        assert.deepEqual(await store.getAnchors(ds), { client: 'c1', server: 's1' });
        assert.deepEqual(await store.getMap(ds), [{ luid: '1', guid: '/a', etag: '1' }]);
      });

      it('putMapEntries is all-or-nothing too', async function () {
        const bad = { luid: '3', guid: '/c', etag: 7 } as unknown as MapEntry;
        await rejectsWithStateFailed(store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: '1' }, bad]));
        assert.deepEqual(await store.getMap(ds), []);
      });

      it('resetDatastore removes anchors and map of that datastore only', async function () {
        const cal = { ...ds, datastore: 'calendar' };
        await store.commitAnchors(ds, { client: 'c', server: 's' }, { put: [{ luid: '1', guid: '/a', etag: '1' }] });
        await store.commitAnchors(cal, { client: 'c', server: 's' }, { put: [{ luid: '1', guid: '/a', etag: '1' }] });
        await store.resetDatastore(ds);
        assert.equal(await store.getAnchors(ds), undefined);
        assert.deepEqual(await store.getMap(ds), []);
        assert.deepEqual(await store.getAnchors(cal), { client: 'c', server: 's' });
        assert.equal((await store.getMap(cal)).length, 1);
        assert.deepEqual((await store.listDevices(account))[0].datastores, ['calendar']);
        // The datastore starts over cleanly: the old GUID is free again.
        await store.putMapEntries(ds, [{ luid: '2', guid: '/a', etag: '1' }]);
        assert.deepEqual(await store.getMap(ds), [{ luid: '2', guid: '/a', etag: '1' }]);
      });
    });

    describe('devices', function () {
      it('putDevice/getDevice round-trip and overwrite', async function () {
        const devInf = { man: 'Nokia', mod: '6310i', dataStores: [{ sourceRef: './contacts', rx: ['text/x-vcard'] }] };
        await store.putDevice(dev, { devInf, nextNonce: 'bm9uY2U=' });
        assert.deepEqual(await store.getDevice(dev), { devInf, nextNonce: 'bm9uY2U=' });
        await store.putDevice(dev, { lastSync: '2024-05-01T10:00:00.000Z' });
        assert.deepEqual(await store.getDevice(dev), { lastSync: '2024-05-01T10:00:00.000Z' });
      });

      it('listDevices lists per account (sorted) and across accounts, with datastores', async function () {
        const other = `${account}-b`;
        const d2 = { account, deviceId: 'IMEI:350000000000000' };
        await store.putDevice(dev, { lastSync: 'x' });
        await store.putDevice(d2, {});
        await store.commitAnchors({ ...dev, datastore: 'contacts' }, { client: 'c', server: 's' });
        await store.putMapEntries({ ...dev, datastore: 'calendar' }, [{ luid: '1', guid: '/e', etag: '1' }]);
        // A device known only by its anchors is listed too, with an empty record.
        await store.commitAnchors({ account: other, deviceId: 'sc-pim-1', datastore: 'notes' }, { client: 'c', server: 's' });

        assert.deepEqual(await store.listDevices(account), [
          { account, deviceId: 'IMEI:350000000000000', record: {}, datastores: [] },
          { account, deviceId: 'IMEI:350000000000001', record: { lastSync: 'x' }, datastores: ['calendar', 'contacts'] },
        ]);
        assert.deepEqual(await store.listDevices(other), [
          { account: other, deviceId: 'sc-pim-1', record: {}, datastores: ['notes'] },
        ]);
        const all = (await store.listDevices()).filter((d) => d.account === account || d.account === other);
        assert.deepEqual(
          all.map((d) => `${d.account}/${d.deviceId}`),
          [`${account}/IMEI:350000000000000`, `${account}/IMEI:350000000000001`, `${other}/sc-pim-1`],
        );
      });

      it('forgetDevice removes record, anchors and maps of that device only', async function () {
        const d2 = { account, deviceId: 'other' };
        for (const d of [dev, d2]) {
          await store.putDevice(d, { lastSync: 'x' });
          await store.commitAnchors({ ...d, datastore: 'contacts' }, { client: 'c', server: 's' }, { put: [{ luid: '1', guid: '/a', etag: '1' }] });
          await store.putMapEntries({ ...d, datastore: 'calendar' }, [{ luid: '1', guid: '/e', etag: '1' }]);
        }
        await store.forgetDevice(dev);
        assert.equal(await store.getDevice(dev), undefined);
        assert.equal(await store.getAnchors(ds), undefined);
        assert.deepEqual(await store.getMap(ds), []);
        assert.deepEqual(await store.getMap({ ...dev, datastore: 'calendar' }), []);
        assert.deepEqual((await store.listDevices(account)).map((d) => d.deviceId), ['other']);
        assert.deepEqual(await store.getAnchors({ ...d2, datastore: 'contacts' }), { client: 'c', server: 's' });
        // A forgotten device that syncs again starts from scratch and is listed again.
        await store.putMapEntries(ds, [{ luid: '5', guid: '/a', etag: '1' }]);
        assert.deepEqual(await store.getMap(ds), [{ luid: '5', guid: '/a', etag: '1' }]);
        assert.deepEqual((await store.listDevices(account)).map((d) => d.deviceId), ['IMEI:350000000000001', 'other']);
      });
    });

    describe('sessions', function () {
      it('put/get/overwrite/delete', async function () {
        const key = `s-${randomUUID()}`;
        const state = { msgId: 3, nested: { list: [1, 'two', null], flag: true }, text: 'Grüße' };
        await store.putSession(key, state, 60);
        assert.deepEqual(await store.getSession(key), state);
        await store.putSession(key, { msgId: 4 }, 60);
        assert.deepEqual(await store.getSession(key), { msgId: 4 });
        await store.deleteSession(key);
        assert.equal(await store.getSession(key), undefined);
      });

      it('a session expires after its TTL', async function () {
        const key = `s-${randomUUID()}`;
        await store.putSession(key, { a: 1 }, 1);
        assert.deepEqual(await store.getSession(key), { a: 1 });
        await sleep(1200);
        assert.equal(await store.getSession(key), undefined);
      });

      it('putSession refreshes the TTL', async function () {
        const key = `s-${randomUUID()}`;
        await store.putSession(key, { a: 1 }, 1);
        await sleep(600);
        await store.putSession(key, { a: 2 }, 1);
        await sleep(600);
        assert.deepEqual(await store.getSession(key), { a: 2 });
      });
    });

    describe('session fields', function () {
      let h: string;
      beforeEach(function () {
        h = `h-${randomUUID()}`;
      });

      it('round-trip: values come in the order asked for, undefined where absent', async function () {
        await store.putSessionFields(h, [['a', '1'], ['b', 'Grüße'], ['/c/é 1.vcf', ''], ['d', '{"x":[1]}']], 60);
        assert.deepEqual(await store.getSessionFields(h, ['/c/é 1.vcf', 'x', 'a', 'b', 'a', 'd']), ['', undefined, '1', 'Grüße', '1', '{"x":[1]}']);
        assert.deepEqual(await store.getSessionFields(h, []), []);
        assert.deepEqual(await store.getSessionFields(h, ['A']), [undefined], 'field names are case-sensitive');
      });

      it('put upserts: later values replace earlier ones, other fields stay', async function () {
        await store.putSessionFields(h, [['a', '1'], ['b', '2']], 60);
        await store.putSessionFields(h, [['b', '3'], ['c', '4'], ['d', 'x'], ['d', 'y']], 60);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b', 'c', 'd']), ['1', '3', '4', 'y']);
        await store.putSessionFields(h, [], 60);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b', 'c', 'd']), ['1', '3', '4', 'y'], 'an empty put changes nothing');
      });

      it('scan gives every field exactly once, in pages of at most pageSize', async function () {
        this.timeout(60_000);
        const fields = Array.from({ length: 1234 }, (_, i): [string, string] => [`/c/${i}.vcf`, `v${i}`]);
        await store.putSessionFields(h, fields, 60);
        const pages = await pagesOf(store.scanSessionFields(h, 100));
        assert.ok(pages.length >= 13, `${pages.length} pages`);
        for (const p of pages) assert.ok(p.length >= 1 && p.length <= 100, `a page of ${p.length}`);
        const got = pages.flat();
        assert.equal(got.length, 1234);
        assert.deepEqual([...got].sort(byField), [...fields].sort(byField));
        // The default page size.
        const byDefault = await pagesOf(store.scanSessionFields(h));
        assert.ok(byDefault.length >= 3 && byDefault.every((p) => p.length >= 1 && p.length <= 500), byDefault.map((p) => p.length).join());
        assert.equal(new Set(byDefault.flat().map(([f]) => f)).size, 1234);
      });

      it('scan gives each field once while fields are written between pages', async function () {
        this.timeout(60_000);
        const before = Array.from({ length: 300 }, (_, i): [string, string] => [`old-${i}`, 'x']);
        await store.putSessionFields(h, before, 60);
        const seen: string[] = [];
        let round = 0;
        for await (const page of store.scanSessionFields(h, 50)) {
          seen.push(...page.map(([f]) => f));
          // Overwrite the old fields and add as many new ones (the hash grows while being scanned).
          const more = Array.from({ length: 100 }, (_, i): [string, string] => [`new-${round}-${i}`, 'y']);
          await store.putSessionFields(h, [...before.map(([f]): [string, string] => [f, `r${round}`]), ...more], 60);
          round++;
        }
        assert.equal(new Set(seen).size, seen.length, 'no field twice');
        for (const [f] of before) assert.ok(seen.includes(f), `${f} missing`);
      });

      it('scan of an empty or missing hash yields no page', async function () {
        assert.deepEqual(await pagesOf(store.scanSessionFields(h, 10)), []);
        await store.putSessionFields(h, [], 60);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h, 10)), [], 'an empty put creates nothing');
        await store.putSessionFields(h, [['a', '1']], 60);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h, 10)), [[['a', '1']]]);
        await store.deleteSessionFields(h);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h, 10)), []);
      });

      it('the hash expires after its TTL as a whole, and its fields never come back', async function () {
        const other = `${h}-b`;
        await store.putSessionFields(h, [['a', '1'], ['b', '2']], 1);
        await store.putSessionFields(other, [['a', '1'], ['b', '1']], 1);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), ['1', '2']);
        await sleep(1200);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), [undefined, undefined]);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h)), []);
        // Writing to the expired hash starts a new one: the old fields stay gone.
        await store.putSessionFields(h, [['c', '3']], 60);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b', 'c']), [undefined, undefined, '3']);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h)), [[['c', '3']]]);
        // Rewriting a field of the expired hash brings back none of the others.
        await store.putSessionFields(other, [['a', '2']], 60);
        assert.deepEqual(await store.getSessionFields(other, ['a', 'b']), ['2', undefined]);
        assert.deepEqual(await pagesOf(store.scanSessionFields(other)), [[['a', '2']]]);
        await store.putSessionFields(`${h}-c`, [['a', '1']], 1);
        await sleep(1200);
        await store.putSessionFields(`${h}-c`, [], 60);
        assert.deepEqual(await store.getSessionFields(`${h}-c`, ['a']), [undefined], 'an empty put does not revive an expired hash');
      });

      it('put and an empty put refresh the TTL of the whole hash', async function () {
        this.timeout(10_000);
        await store.putSessionFields(h, [['a', '1']], 1);
        await sleep(600);
        await store.putSessionFields(h, [['b', '2']], 1);
        await sleep(600);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), ['1', '2'], 'a put refreshed the fields put before it');
        await store.putSessionFields(h, [['b', '3']], 1);
        await sleep(600);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), ['1', '3'], 'a put that only overwrites a field refreshed the hash');
        await store.putSessionFields(h, [], 1);
        await sleep(600);
        assert.deepEqual(await store.getSessionFields(h, ['a']), ['1'], 'an empty put refreshed the hash');
        await sleep(600);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), [undefined, undefined]);
      });

      it('delete removes the hash, and that hash only', async function () {
        await store.putSessionFields(h, [['a', '1'], ['b', '2']], 60);
        await store.putSessionFields(`${h}-b`, [['a', 'other']], 60);
        await store.deleteSessionFields(h);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), [undefined, undefined]);
        assert.deepEqual(await pagesOf(store.scanSessionFields(h)), []);
        assert.deepEqual(await store.getSessionFields(`${h}-b`, ['a']), ['other']);
        await store.putSessionFields(h, [['b', 'new']], 60);
        assert.deepEqual(await store.getSessionFields(h, ['a', 'b']), [undefined, 'new'], 'a put after delete starts an empty hash');
      });

      it('fields of one hash never show in another, nor in sessions of the same key', async function () {
        const hashes = [h, `${h}:fields`, `{${h}}`, `${h}|x`, `${h}x`, `${h}:reply:1`, `${h}%7B`];
        for (const [i, k] of hashes.entries()) await store.putSessionFields(k, [['f', `v${i}`], [`own-${i}`, k]], 60);
        for (const [i, k] of hashes.entries()) {
          assert.deepEqual(await store.getSessionFields(k, ['f', `own-${i}`, `own-${(i + 1) % hashes.length}`]), [`v${i}`, k, undefined], k);
          assert.deepEqual((await pagesOf(store.scanSessionFields(k))).flat().sort(byField), [['f', `v${i}`], [`own-${i}`, k]], k);
        }
        await store.putSession(h, { s: 1 }, 60);
        await store.deleteSession(h);
        assert.deepEqual(await store.getSessionFields(h, ['f']), ['v0'], 'deleteSession leaves the fields of that key alone');
        await store.putSession(h, { s: 2 }, 60);
        await store.deleteSessionFields(h);
        assert.deepEqual(await store.getSession(h), { s: 2 }, 'and deleteSessionFields the session');
      });

      it('refuses bad input with STATE_FAILED', async function () {
        await rejectsWithStateFailed(store.putSessionFields(h, [['a', '1']], 0));
        await rejectsWithStateFailed(store.putSessionFields(h, [['a', 1 as unknown as string]], 60));
        await rejectsWithStateFailed(store.putSessionFields(h, [['a', '1']], -1));
        await rejectsWithStateFailed(pagesOf(store.scanSessionFields(h, 0)));
        assert.deepEqual(await store.getSessionFields(h, ['a']), [undefined], 'nothing was written');
      });
    });

    describe('cached replies', function () {
      it('round-trips bytes and content type per message id', async function () {
        const key = `s-${randomUUID()}`;
        const wbxml = new Uint8Array([0x02, 0xa4, 0x01, 0x6a, 0x00, 0xff, 0x80, 0x0d, 0x0a]);
        await store.putCachedReply(key, '1', { body: wbxml, contentType: 'application/vnd.syncml+wbxml' }, 60);
        await store.putCachedReply(key, '2', { body: new TextEncoder().encode('<SyncML/>'), contentType: 'application/vnd.syncml+xml' }, 60);
        const r1 = await store.getCachedReply(key, '1');
        assert.ok(r1);
        assert.equal(r1.contentType, 'application/vnd.syncml+wbxml');
        assert.ok(r1.body instanceof Uint8Array);
        assert.deepEqual([...r1.body], [...wbxml]);
        assert.equal(new TextDecoder().decode((await store.getCachedReply(key, '2'))?.body), '<SyncML/>');
        assert.equal(await store.getCachedReply(key, '3'), undefined);
        assert.equal(await store.getCachedReply(`${key}-other`, '1'), undefined);
      });

      it('a slice of a larger buffer is stored as just the slice', async function () {
        const key = `s-${randomUUID()}`;
        const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
        await store.putCachedReply(key, '1', { body: whole.subarray(2, 5), contentType: 't' }, 60);
        assert.deepEqual([...((await store.getCachedReply(key, '1'))?.body ?? [])], [1, 2, 3]);
      });

      it('a cached reply expires after its TTL, each on its own', async function () {
        const key = `s-${randomUUID()}`;
        await store.putCachedReply(key, '1', { body: new Uint8Array([1]), contentType: 't' }, 1);
        await sleep(600);
        await store.putCachedReply(key, '2', { body: new Uint8Array([2]), contentType: 't' }, 1);
        await sleep(600);
        assert.equal(await store.getCachedReply(key, '1'), undefined);
        assert.ok(await store.getCachedReply(key, '2'));
      });

      it('deleteSession drops the cached replies of that session', async function () {
        const key = `s-${randomUUID()}`;
        await store.putSession(key, {}, 60);
        await store.putCachedReply(key, '1', { body: new Uint8Array([1]), contentType: 't' }, 60);
        await store.putCachedReply(`${key}-x`, '1', { body: new Uint8Array([1]), contentType: 't' }, 60);
        await store.deleteSession(key);
        assert.equal(await store.getCachedReply(key, '1'), undefined);
        assert.ok(await store.getCachedReply(`${key}-x`, '1'));
      });
    });

    describe('locks', function () {
      it('only one owner holds a device lock; the holder may re-acquire', async function () {
        assert.equal(await store.acquireLock(dev, 'a', 30), true);
        assert.equal(await store.acquireLock(dev, 'b', 30), false);
        assert.equal(await store.acquireLock(dev, 'a', 30), true);
        // Another device of the same account is independent.
        assert.equal(await store.acquireLock({ ...dev, deviceId: 'other' }, 'b', 30), true);
      });

      it('release is owner-checked', async function () {
        assert.equal(await store.acquireLock(dev, 'a', 30), true);
        await store.releaseLock(dev, 'b');
        assert.equal(await store.acquireLock(dev, 'b', 30), false);
        await store.releaseLock(dev, 'a');
        assert.equal(await store.acquireLock(dev, 'b', 30), true);
        // A late release by the previous holder does not free the new holder's lock.
        await store.releaseLock(dev, 'a');
        assert.equal(await store.acquireLock(dev, 'c', 30), false);
      });

      it('an expired lock can be taken by another owner', async function () {
        assert.equal(await store.acquireLock(dev, 'a', 1), true);
        assert.equal(await store.acquireLock(dev, 'b', 1), false);
        await sleep(1200);
        assert.equal(await store.acquireLock(dev, 'b', 30), true);
        assert.equal(await store.acquireLock(dev, 'a', 30), false);
      });

      it('re-acquiring refreshes the TTL', async function () {
        assert.equal(await store.acquireLock(dev, 'a', 1), true);
        await sleep(600);
        assert.equal(await store.acquireLock(dev, 'a', 1), true);
        await sleep(600);
        assert.equal(await store.acquireLock(dev, 'b', 1), false);
      });

      it('of many concurrent acquirers exactly one wins', async function () {
        const owners = Array.from({ length: 20 }, (_, i) => `owner-${i}`);
        const won = await Promise.all(owners.map((o) => store.acquireLock(dev, o, 30)));
        assert.equal(won.filter(Boolean).length, 1);
      });
    });

    describe('lockAndLoad and saveMessage (one round trip per message)', function () {
      const reply = (b: number): { body: Uint8Array; contentType: string } => ({ body: new Uint8Array([0x02, b, 0xff]), contentType: 'application/vnd.syncml+wbxml' });

      it('lockAndLoad takes the lock like acquireLock and reads nothing when it is held by another', async function () {
        const key = `s-${randomUUID()}`;
        await store.putSession(key, { n: 1 }, 60);
        assert.deepEqual(await store.lockAndLoad(dev, 'a', 30, { sessionKey: key }), { locked: true, session: { n: 1 }, reply: undefined });
        assert.deepEqual(await store.lockAndLoad(dev, 'b', 30, { sessionKey: key, replyId: '1' }), { locked: false });
        assert.equal(await store.acquireLock(dev, 'b', 30), false, 'the lock is held by a');
        assert.equal((await store.lockAndLoad(dev, 'a', 30, { sessionKey: key })).locked, true, 'the holder may re-acquire');
        await store.releaseLock(dev, 'a');
        assert.equal(await store.acquireLock(dev, 'b', 30), true);
      });

      it('lockAndLoad returns the session and the cached reply asked for, undefined for missing ones', async function () {
        const key = `s-${randomUUID()}`;
        await store.putSession(key, { phase: 'sync', list: [1, 'x'] }, 60);
        await store.putCachedReply(key, '2:h', reply(7), 60);
        const got = await store.lockAndLoad<{ phase: string }>(dev, 'a', 30, { sessionKey: key, replyId: '2:h' });
        assert.ok(got.locked);
        assert.deepEqual(got.session, { phase: 'sync', list: [1, 'x'] });
        assert.equal(got.reply?.contentType, 'application/vnd.syncml+wbxml');
        assert.ok(got.reply?.body instanceof Uint8Array);
        assert.deepEqual([...(got.reply?.body ?? [])], [0x02, 7, 0xff]);
        const none = await store.lockAndLoad(dev, 'a', 30, { sessionKey: `${key}-none`, replyId: '3:h' });
        assert.deepEqual(none, { locked: true, session: undefined, reply: undefined });
      });

      it('lockAndLoad sets the lock TTL', async function () {
        assert.equal((await store.lockAndLoad(dev, 'a', 1, { sessionKey: 'none' })).locked, true);
        assert.equal((await store.lockAndLoad(dev, 'b', 1, { sessionKey: 'none' })).locked, false);
        await sleep(1200);
        assert.equal((await store.lockAndLoad(dev, 'b', 30, { sessionKey: 'none' })).locked, true);
      });

      it('saveMessage writes session, alias and reply, then releases the lock of its owner only', async function () {
        const key = `s-${randomUUID()}`;
        const alias = `alias-${randomUUID()}`;
        assert.equal(await store.acquireLock(dev, 'a', 30), true);
        await store.saveMessage({ sessionKey: key, session: { n: 2 }, aliasKey: alias, ttlSeconds: 60, reply: { msgId: '1:h', ...reply(3) }, release: { key: dev, owner: 'b' } });
        assert.equal(await store.acquireLock(dev, 'b', 30), false, 'another owner does not release the lock');
        await store.saveMessage({ sessionKey: key, session: { n: 3 }, aliasKey: alias, ttlSeconds: 60, release: { key: dev, owner: 'a' } });
        assert.equal(await store.acquireLock(dev, 'b', 30), true, 'the owner released it');
        assert.deepEqual(await store.getSession(key), { n: 3 });
        assert.equal(await store.getSession(alias), key);
        assert.deepEqual([...((await store.getCachedReply(key, '1:h'))?.body ?? [])], [0x02, 3, 0xff]);
        await store.deleteSession(key);
        assert.equal(await store.getCachedReply(key, '1:h'), undefined, 'deleteSession finds replies saved this way');
      });

      it('saveMessage without release keeps the lock; everything it wrote expires after its TTL', async function () {
        const key = `s-${randomUUID()}`;
        const alias = `alias-${randomUUID()}`;
        assert.equal(await store.acquireLock(dev, 'a', 30), true);
        await store.saveMessage({ sessionKey: key, session: { n: 1 }, aliasKey: alias, ttlSeconds: 1, reply: { msgId: '1', ...reply(1) } });
        assert.equal(await store.acquireLock(dev, 'b', 30), false);
        assert.deepEqual(await store.getSession(key), { n: 1 });
        await sleep(1200);
        assert.equal(await store.getSession(key), undefined);
        assert.equal(await store.getSession(alias), undefined);
        assert.equal(await store.getCachedReply(key, '1'), undefined);
      });
    });

    describe('counters (failed-authentication rate limits)', function () {
      it('counts in a fixed window; by = 0 reads without creating', async function () {
        assert.equal(await store.incrementCounter('c:none', 1, 0), 0);
        assert.equal(await store.incrementCounter('c:a', 1), 1);
        assert.equal(await store.incrementCounter('c:a', 1), 2);
        assert.equal(await store.incrementCounter('c:a', 1, 0), 2);
        assert.equal(await store.incrementCounter('c:b', 1), 1, 'counters are independent');
        await sleep(1200);
        assert.equal(await store.incrementCounter('c:a', 1, 0), 0, 'the window ended');
        assert.equal(await store.incrementCounter('c:a', 30), 1);
      });

      it('concurrent increments are all counted', async function () {
        const n = await Promise.all(Array.from({ length: 20 }, () => store.incrementCounter('c:race', 30)));
        assert.deepEqual([...n].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      });
    });

    describe('after close', function () {
      it('every method rejects with STATE_FAILED', async function () {
        const own = await make();
        await own.store.close();
        try {
          await rejectsWithStateFailed(own.store.getMap(ds));
          await rejectsWithStateFailed(own.store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: '1' }]));
          await rejectsWithStateFailed(own.store.getSession('x'));
          await rejectsWithStateFailed(own.store.acquireLock(dev, 'a', 1));
          await rejectsWithStateFailed(own.store.lockAndLoad(dev, 'a', 1, { sessionKey: 'x' }));
          await rejectsWithStateFailed(own.store.saveMessage({ sessionKey: 'x', session: {}, aliasKey: 'y', ttlSeconds: 1 }));
          await rejectsWithStateFailed(own.store.getMapEntries(ds, { luids: ['1'] }));
          await rejectsWithStateFailed(own.store.putSessionFields('h', [['a', '1']], 1));
          await rejectsWithStateFailed(own.store.getSessionFields('h', ['a']));
          await rejectsWithStateFailed(pagesOf(own.store.scanSessionFields('h')));
          await rejectsWithStateFailed(own.store.deleteSessionFields('h'));
          await rejectsWithStateFailed(own.store.ping());
        } finally {
          await own.cleanup();
        }
      });
    });
  });
}
