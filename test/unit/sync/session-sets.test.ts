// The session's sets beside the session (sync/session-sets.ts), on the real SQLite store: small
// sets stay inline, large ones and a slow sync's match index move out once per message, members
// added while they move stay inline, and a hash that is gone is STATE_EXPIRED, never an empty set.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { INLINE_MAX_MEMBERS, SessionSets } from '../../../src/sync/session-sets.js';
import { emptyStats, type DatastoreSessionState } from '../../../src/sync/types.js';

function ds(over: Partial<DatastoreSessionState> = {}): DatastoreSessionState {
  return {
    name: 'contacts', mode: 'slow', clientUri: './contacts', serverUri: 'contacts', clientNext: '1', serverNext: 's1',
    deviceFormat: { type: 'text/x-vcard', version: '2.1' }, touched: [], claimed: [], seenLuids: [], outgoing: [],
    outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0, clientDone: false, serverDone: false, stats: emptyStats(), ...over,
  };
}

class CountingStore extends SqliteStateStore {
  puts = 0;
  gets = 0;
  override getSessionFields(hashKey: string, fields: readonly string[]): Promise<Array<string | undefined>> {
    this.gets++;
    return super.getSessionFields(hashKey, fields);
  }
  override putSessionFields(hashKey: string, fields: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void> {
    this.puts++;
    return super.putSessionFields(hashKey, fields, ttlSeconds);
  }
}

const paging = { sessionKey: 'tok', ttlSeconds: 3600 };
const hrefs = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `/c/${from + i}.vcf`);

describe('sync/session-sets: what grows with the collection, kept beside the session', function () {
  let state: CountingStore;
  beforeEach(function () {
    state = new CountingStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'session-sets-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('small sets stay inline and cost no state write; past the bound they move out, and later members follow each message', async function () {
    const s = ds({ mode: 'two-way', touched: hrefs(10) });
    await new SessionSets(state, paging).settle(s);
    assert.equal(state.puts, 0);
    assert.equal(s.sideSets as unknown, undefined);
    assert.equal(s.touched.length, 10);

    s.touched.push(...hrefs(INLINE_MAX_MEMBERS, 10));
    s.seenLuids.push('L1');
    await new SessionSets(state, paging).settle(s); // the next message
    assert.deepEqual([s.touched, s.claimed, s.seenLuids], [[], [], []]);
    assert.equal(s.sideSets?.prefix, 'sets:tok:contacts');
    s.touched.push('/c/new.vcf');
    const next = new SessionSets(state, paging);
    await next.settle(s);
    await next.settle(s); // once per message
    assert.deepEqual(s.touched, []);
    const all = await next.all(s, 'touched');
    assert.equal(all.size, INLINE_MAX_MEMBERS + 11);
    assert.ok(all.has('/c/new.vcf') && all.has('/c/0.vcf'));
    assert.deepEqual([...(await next.all(s, 'seenLuids'))], ['L1']);
    assert.deepEqual(await next.storedMembers(s, 'touched', ['/c/3.vcf', '/c/nope.vcf']), new Set(['/c/3.vcf']));
  });

  it('members added while the inline ones are being written stay inline for the next message', async function () {
    const s = ds({ touched: hrefs(INLINE_MAX_MEMBERS) });
    const sets = new SessionSets(state, paging);
    const settling = sets.settle(s);
    s.touched.push('/c/late.vcf'); // an item applied concurrently
    s.claimed.push('/c/late.vcf');
    await settling;
    assert.deepEqual(s.touched, ['/c/late.vcf']);
    assert.deepEqual(s.claimed, ['/c/late.vcf']);
    assert.equal((await sets.all(s, 'touched')).size, INLINE_MAX_MEMBERS + 1);
  });

  it('a message that is not saved leaves its members inline in the saved session; moving them again adds nothing twice', async function () {
    const saved = JSON.stringify(ds({ claimed: hrefs(INLINE_MAX_MEMBERS) }));
    for (let attempt = 0; attempt < 2; attempt++) {
      const s = JSON.parse(saved) as DatastoreSessionState;
      await new SessionSets(state, paging).settle(s); // the message fails after this: `saved` stays as it was
    }
    const s = JSON.parse(saved) as DatastoreSessionState;
    const sets = new SessionSets(state, paging);
    assert.equal((await sets.all(s, 'claimed')).size, INLINE_MAX_MEMBERS);
  });

  it('the match index is stored however small, and read per fingerprint', async function () {
    const s = ds();
    const sets = new SessionSets(state, paging);
    await sets.putMatchIndex(s, { 'name:anna': ['/c/1.vcf', '/c/2.vcf'], 'tel:123': ['/c/2.vcf'] });
    assert.equal(s.sideSets?.matchIndexBuilt, true);
    assert.deepEqual(await new SessionSets(state, paging).matchCandidates(s, ['tel:123', 'name:bob', 'name:anna']), [['/c/2.vcf'], [], ['/c/1.vcf', '/c/2.vcf']]);
  });

  it('an empty index (an empty server at slow-sync start) costs no read per device item', async function () {
    const s = ds();
    const sets = new SessionSets(state, paging);
    await sets.putMatchIndex(s, {});
    assert.equal(s.sideSets?.matchIndexEmpty, true);
    const before = state.gets;
    assert.deepEqual(await sets.matchCandidates(s, ['name:anna', 'tel:1']), [[], []]);
    assert.equal(state.gets, before);
    const t = ds();
    await sets.putMatchIndex(t, { 'name:anna': ['/c/1.vcf'] });
    assert.equal(t.sideSets?.matchIndexEmpty, undefined);
    assert.deepEqual(await sets.matchCandidates(t, ['name:anna']), [['/c/1.vcf']]);
    assert.equal(state.gets, before + 1);
  });

  it('a stored hash that is gone is STATE_EXPIRED (508), not an empty set', async function () {
    const s = ds({ touched: hrefs(INLINE_MAX_MEMBERS) });
    const sets = new SessionSets(state, paging);
    await sets.putMatchIndex(s, { 'name:anna': ['/c/1.vcf'] });
    for (const name of ['claimed', 'touched', 'match']) await state.deleteSessionFields(`${s.sideSets!.prefix}:${name}`);
    const expired = (err: unknown): boolean => isGatewayError(err, 'STATE_EXPIRED');
    await assert.rejects(sets.storedMembers(s, 'claimed', ['/c/1.vcf']), expired);
    await assert.rejects(sets.all(s, 'touched'), expired);
    await assert.rejects(sets.matchCandidates(s, ['name:anna']), expired);
    assert.deepEqual([...(await sets.all(s, 'seenLuids'))], [], 'a set that is there and empty is fine');
  });

  it('without paging everything stays inline, as before', async function () {
    const s = ds({ touched: hrefs(INLINE_MAX_MEMBERS * 2) });
    const sets = new SessionSets(state, undefined);
    await sets.settle(s);
    assert.equal(s.touched.length, INLINE_MAX_MEMBERS * 2);
    assert.equal((await sets.all(s, 'touched')).size, INLINE_MAX_MEMBERS * 2);
    assert.equal(state.puts, 0);
  });
});
