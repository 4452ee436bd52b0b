// The sync engine against an in-memory DataStore (a fake is fine here: the real CardDAV adapter
// has its own contract tests against Radicale and Xandikos) and the real SQLite state store:
// conflict policies, a 412 during a write, echo suppression and slow-sync matching.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { GatewayError } from '../../../src/errors.js';
import type { DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import { createLogger } from '../../../src/logger.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { emptyStats, type ConflictPolicy, type DatastoreSessionState, type SyncMode } from '../../../src/sync/types.js';

class MemoryStore implements DataStore {
  readonly kind = 'contacts' as const;
  readonly collectionUrl = 'http://dav.test/alice/contacts/';
  readonly items = new Map<string, { etag: string; data: string }>();
  #n = 0;
  /** Called before an update is applied; lets a test change the item "concurrently". */
  beforeUpdate?: (href: string) => void;

  put(href: string, data: string): ItemRef {
    const etag = `"${++this.#n}"`;
    this.items.set(href, { etag, data });
    return { href, etag };
  }
  async list(): Promise<Listing> {
    return { items: [...this.items].map(([href, v]) => ({ href, etag: v.etag })) };
  }
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    return hrefs.flatMap((h) => {
      const v = this.items.get(h);
      return v ? [{ href: h, ...v }] : [];
    });
  }
  async create(data: string, nameHint: string): Promise<ItemRef> {
    return this.put(`/alice/contacts/${nameHint}-${this.#n}.vcf`, data);
  }
  async update(href: string, data: string, ifMatch?: string): Promise<ItemRef> {
    this.beforeUpdate?.(href);
    const cur = this.items.get(href);
    if (!cur) throw new GatewayError('NOT_FOUND', href);
    if (ifMatch && cur.etag !== ifMatch) throw new GatewayError('ETAG_MISMATCH', `${href} changed`);
    return this.put(href, data);
  }
  async delete(href: string, ifMatch?: string): Promise<void> {
    const cur = this.items.get(href);
    if (cur && ifMatch && cur.etag !== ifMatch) throw new GatewayError('ETAG_MISMATCH', href);
    this.items.delete(href);
  }
}

const card = (fn: string, tel: string, extra = ''): string =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${fn.replace(/\s/g, '-')}\r\nN:${fn.split(' ')[1]};${fn.split(' ')[0]};;;\r\nFN:${fn}\r\nTEL;TYPE=CELL:${tel}\r\n${extra}END:VCARD\r\n`;
const card21 = (fn: string, tel: string): string =>
  `BEGIN:VCARD\r\nVERSION:2.1\r\nN:${fn.split(' ')[1]};${fn.split(' ')[0]}\r\nFN:${fn}\r\nTEL;CELL:${tel}\r\nEND:VCARD\r\n`;

function session(mode: SyncMode): DatastoreSessionState {
  return {
    name: 'contacts', mode, clientUri: './contacts', serverUri: 'contacts', clientNext: 'n', serverNext: 's',
    deviceFormat: { type: 'text/x-vcard', version: '2.1' }, touched: [], claimed: [], seenLuids: [], outgoing: [],
    outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0, clientDone: false, serverDone: false, stats: emptyStats(),
  };
}

describe('sync engine (DatastoreSync) with an in-memory DataStore and the SQLite state store', function () {
  const log = createLogger('silent');
  let state: SqliteStateStore;
  let store: MemoryStore;
  const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };

  beforeEach(async function () {
    state = new SqliteStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'sync-unit-')) });
    store = new MemoryStore();
  });
  afterEach(async function () {
    await state.close();
  });

  /** One item known to both sides (mapped), then changed on the server. */
  async function conflictSetup(policy: ConflictPolicy): Promise<{ sync: DatastoreSync; href: string }> {
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log, { conflict: policy });
    const s = session('slow');
    const out = await sync.applyAdd(s, 'L1', card21('Ada Lovelace', '+491701'), { type: 'text/x-vcard' });
    assert.equal(out.result, 'added');
    const href = 'guid' in out ? out.guid : '';
    store.put(href, store.items.get(href)!.data.replace('END:VCARD', 'NOTE:server edit\r\nEND:VCARD'));
    return { sync, href };
  }

  it('server-wins: the device change is not written (419) and the server version goes to the device', async function () {
    const { sync, href } = await conflictSetup('server-wins');
    const s = session('two-way');
    const before = store.items.get(href)!.data;
    const out = await sync.applyReplace(s, 'L1', card21('Ada Lovelace', '+491709'), { type: 'text/x-vcard' });
    assert.deepEqual(out, { result: 'conflict', resolution: 'server-won', guid: href });
    assert.equal(store.items.get(href)!.data, before);
    await sync.computeOutgoing(s);
    assert.deepEqual(s.outgoing, [{ op: 'Replace', href, luid: 'L1' }]);
  });

  it('client-wins: the device version is written; server fields it did not send are kept', async function () {
    const { sync, href } = await conflictSetup('client-wins');
    const out = await sync.applyReplace(session('two-way'), 'L1', card21('Ada Lovelace', '+491709'), { type: 'text/x-vcard' });
    assert.equal(out.result === 'conflict' && out.resolution, 'client-won');
    assert.match(store.items.get(href)!.data, /\+491709/);
    assert.match(store.items.get(href)!.data, /NOTE:server edit/);
  });

  it('duplicate: the device version becomes a new item, the server version goes to the device as an Add', async function () {
    const { sync, href } = await conflictSetup('duplicate');
    const s = session('two-way');
    const out = await sync.applyReplace(s, 'L1', card21('Ada Lovelace', '+491709'), { type: 'text/x-vcard' });
    assert.equal(out.result === 'conflict' && out.resolution, 'duplicated');
    assert.equal(store.items.size, 2);
    await sync.computeOutgoing(s);
    assert.deepEqual(s.outgoing, [{ op: 'Add', href }]);
  });

  it('a 412 between read and write (someone edits meanwhile) is resolved as a conflict, not a failure', async function () {
    const { sync, href } = await conflictSetup('merge');
    let once = true;
    store.beforeUpdate = (h) => {
      if (once && h === href) {
        once = false;
        store.put(h, store.items.get(h)!.data.replace('END:VCARD', 'X-CONCURRENT:yes\r\nEND:VCARD'));
      }
    };
    const out = await sync.applyReplace(session('two-way'), 'L1', card21('Ada Lovelace', '+491709'), { type: 'text/x-vcard' });
    assert.equal(out.result, 'conflict');
    const data = store.items.get(href)!.data;
    assert.match(data, /\+491709/);
    assert.match(data, /X-CONCURRENT:yes/, 'the concurrent edit survives');
  });

  it('a conversion warning repeated across the items of a Sync is logged once, then once more with the count', async function () {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done): void {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const sync = new DatastoreSync(store, state, key, contactsTranslator, createLogger('warn', sink));
    const s = session('slow');
    // vCard 3.0 has no room for a "/" in a property name: each card is stored with a stand-in name and a warning.
    const odd = (i: number): string => `BEGIN:VCARD\r\nVERSION:2.1\r\nN:P${i};Ada\r\nFN:Ada P${i}\r\nX-MESSAGING/AIM-ALL:ada${i}\r\nEND:VCARD\r\n`;
    await sync.batchMapWrites(async () => {
      for (let i = 0; i < 30; i++) assert.equal((await sync.applyAdd(s, `L${i}`, odd(i), { type: 'text/x-vcard' })).result, 'added');
    });
    const conversion = (): Array<Record<string, unknown>> => lines.filter((l) => String(l['msg']).startsWith('conversion: '));
    assert.equal(conversion().length, 2, JSON.stringify(conversion()));
    assert.equal(conversion()[0]!['luid'], 'L0');
    assert.match(String(conversion()[0]!['msg']), /X-MESSAGING\/AIM-ALL/);
    assert.match(String(conversion()[1]!['msg']), /X-MESSAGING\/AIM-ALL.*\(the same for 29 more item\(s\) in this message\)$/);
    assert.equal(conversion()[1]!['repeats'], 29);
    assert.deepEqual(conversion()[1]!['luids'], ['L1', 'L2', 'L3', 'L4', 'L5']);
    // Nothing of the items is lost by logging less: each is stored with the property under its stand-in name.
    assert.equal([...store.items.values()].filter((v) => /X-MESSAGING-AIM-ALL.*:ada\d+/.test(v.data)).length, 30);
    // The next Sync starts over; a warning that comes once gets no summary line.
    await sync.batchMapWrites(async () => {
      await sync.applyAdd(s, 'L30', odd(30), { type: 'text/x-vcard' });
    });
    assert.equal(conversion().length, 3);
    assert.equal(conversion()[2]!['luid'], 'L30');
  });

  it('slow sync pairs a device item with the server item of the same person instead of adding it again', async function () {
    store.put('/alice/contacts/x.vcf', card('Grace Hopper', '+49 170 222'));
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s = session('slow');
    const out = await sync.applyAdd(s, 'L7', card21('Grace Hopper', '+49170222'), { type: 'text/x-vcard' });
    assert.equal(out.result, 'merged');
    assert.equal(store.items.size, 1);
    await sync.computeOutgoing(s);
    assert.deepEqual(s.outgoing, [], 'nothing to send back: the item is paired');
  });

  it('slow sync: the map entries the device did not send again are removed in one state write', async function () {
    await state.putMapEntries(key, Array.from({ length: 30 }, (_, i) => ({ luid: `OLD${i}`, guid: `/c/${i}.vcf`, etag: '"1"' })));
    const deletes: number[] = [];
    const del = state.deleteMapEntries.bind(state);
    state.deleteMapEntries = (k, luids) => {
      deletes.push(luids.length);
      return del(k, luids);
    };
    await new DatastoreSync(store, state, key, contactsTranslator, log).computeOutgoing(session('slow'));
    assert.deepEqual(deletes, [30]);
    assert.deepEqual(await state.getMap(key), []);
  });

  it('echo suppression: what the gateway wrote for this device is not sent back next time', async function () {
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s1 = session('slow');
    await sync.applyAdd(s1, 'L1', card21('Alan Turing', '+491'), { type: 'text/x-vcard' });
    await sync.computeOutgoing(s1);
    const s2 = session('two-way');
    await new DatastoreSync(store, state, key, contactsTranslator, log).computeOutgoing(s2);
    assert.deepEqual(s2.outgoing, []);
  });

  it('MaxGUIDSize: hrefs longer than the device accepts become short temporary GUIDs, mapped back on Map', async function () {
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s = session('refresh-from-server');
    const long = '/alice/contacts/0a1b2c3d-4e5f-6789-abcd-ef0123456789.vcf';
    const ids = Array.from({ length: 40 }, () => sync.guidFor(s, long, 4));
    assert.ok(ids.every((g) => g.length <= 4));
    assert.equal(new Set(ids).size, 40, 'unique within the session');
    assert.equal(sync.guidFor(s, '/a.vcf', 64), '/a.vcf', 'short hrefs are sent as they are');
    s.awaitingMap[ids[0]!] = { op: 'Add', href: long, etag: '"1"' };
    assert.equal(await sync.applyMap(s, ids[0]!, 'PHONE-1'), true);
    assert.deepEqual((await state.getMap(key)).map((e) => [e.luid, e.guid]), [['PHONE-1', long]]);
  });

  it('slow sync, items applied concurrently: two device twins of one server item pair it once', async function () {
    store.put('/alice/contacts/x.vcf', card('Grace Hopper', '+49 170 222'));
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s = session('slow');
    const outs = await Promise.all(['L1', 'L2'].map((l) => sync.applyAdd(s, l, card21('Grace Hopper', '+49170222'), { type: 'text/x-vcard' })));
    assert.deepEqual(outs.map((o) => o.result).sort(), ['added', 'merged']);
    assert.equal(store.items.size, 2);
  });

  it('slow-sync matching rules per datastore: with only name+email, a name+phone twin is not paired', async function () {
    store.put('/alice/contacts/x.vcf', card('Grace Hopper', '+49 170 222'));
    const strict = new DatastoreSync(store, state, key, contactsTranslator, log, { conflict: 'newer-wins', match: ['name+email'] });
    const out = await strict.applyAdd(session('slow'), 'L8', card21('Grace Hopper', '+49170222'), { type: 'text/x-vcard' });
    assert.equal(out.result, 'added', 'no e-mail on either side: not the same by this rule');
    assert.equal(store.items.size, 2);
  });

  describe('a store that defers ETag reads (PUT answers without ETag)', function () {
    class NoEtagStore extends MemoryStore {
      lists = 0;
      override async create(data: string, nameHint: string): Promise<ItemRef> {
        return { ...(await super.create(data, nameHint)), etag: '' };
      }
      override async list(): Promise<Listing> {
        this.lists++;
        return super.list();
      }
    }

    for (const mode of ['slow', 'refresh-from-client'] as const) {
      it(`${mode}: the written items get their ETags from one listing, not one read each`, async function () {
        const noEtag = new NoEtagStore();
        const sync = new DatastoreSync(noEtag, state, key, contactsTranslator, log);
        const s = session(mode);
        for (let i = 0; i < 5; i++) await sync.applyAdd(s, `L${i}`, card21(`Person${i} Test`, `+4917${i}`), { type: 'text/x-vcard' });
        assert.ok((await state.getMap(key)).every((e) => e.etag === ''), 'mapped without ETag at first');
        const listsBefore = noEtag.lists;
        await sync.computeOutgoing(s);
        assert.equal(noEtag.lists - listsBefore, 1);
        const map = await state.getMap(key);
        assert.equal(map.length, 5);
        for (const e of map) assert.equal(e.etag, noEtag.items.get(e.guid)!.etag);
        const next = session('two-way');
        await new DatastoreSync(noEtag, state, key, contactsTranslator, log).computeOutgoing(next);
        assert.deepEqual(next.outgoing, [], 'nothing goes back to the device');
      });
    }

    it('a merged conflict keeps its empty ETag (the merged item must go back to the device)', async function () {
      const noEtag = new NoEtagStore();
      const sync = new DatastoreSync(noEtag, state, key, contactsTranslator, log);
      const s0 = session('slow');
      const out = await sync.applyAdd(s0, 'L1', card21('Ada Lovelace', '+491701'), { type: 'text/x-vcard' });
      await sync.computeOutgoing(s0);
      const href = 'guid' in out ? out.guid : '';
      noEtag.put(href, noEtag.items.get(href)!.data.replace('END:VCARD', 'NOTE:server edit\r\nEND:VCARD'));
      const s = session('two-way');
      const res = await sync.applyReplace(s, 'L1', card21('Ada Lovelace', '+491709'), { type: 'text/x-vcard' });
      assert.equal(res.result === 'conflict' && res.resolution, 'merged');
      await sync.computeOutgoing(s);
      assert.deepEqual(s.outgoing, [{ op: 'Replace', href, luid: 'L1' }]);
    });
  });

  it('prefetch: the server copies of a message\'s mapped items are read in batches, not one REPORT each', async function () {
    const sync = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s1 = session('slow');
    for (let i = 0; i < 120; i++) await sync.applyAdd(s1, `P${i}`, card21(`Person${i} Test`, `+49170${i}`), { type: 'text/x-vcard' });
    let fetches = 0;
    const realFetch = store.fetch.bind(store);
    store.fetch = async (hrefs) => { fetches++; return realFetch(hrefs); };
    const again = new DatastoreSync(store, state, key, contactsTranslator, log);
    const s2 = session('slow');
    await again.prefetch(s2, Array.from({ length: 120 }, (_, i) => `P${i}`));
    for (let i = 0; i < 120; i++) await again.applyReplace(s2, `P${i}`, card21(`Person${i} Test`, `+49170${i}`), { type: 'text/x-vcard' });
    assert.equal(fetches, 3, '120 items in batches of 50');
    assert.equal(store.items.size, 120);
  });
});
