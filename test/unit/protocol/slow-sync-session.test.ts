// A slow sync over many messages with the real Sync command, sync layer and SQLite state store:
// the session state saved after each message stays the same size however many items went
// before (touched/claimed/seenLuids and the match index live beside it: sync/session-sets.ts), a
// message reads only its own items' map entries (no whole-map read until the package ends), and
// the outcome (pairings, creations, stale entries, what the server sends back) is the same as
// with everything inline, also when a message fails and is sent again. Issue 15: at 10,000 items
// both were O(collection) per message.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountMapping } from '../../../src/accounts/mappings.js';
import type { ItemCmd, SyncCmd } from '../../../src/codec/model.js';
import { createLogger } from '../../../src/logger.js';
import { onSync } from '../../../src/protocol/commands/sync.js';
import type { EngineDeps } from '../../../src/protocol/message-context.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { SessionSets } from '../../../src/sync/session-sets.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import type { DatastoreSessionState } from '../../../src/sync/types.js';
import { context, CountingStateStore, datastore, MemoryDataStore, session } from './support.js';



const card21 = (i: number): string => `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person${i};Test\r\nFN:Test Person${i}\r\nTEL;CELL:+49170${i}\r\nEND:VCARD\r\n`;
const card30 = (i: number): string => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:srv-${i}\r\nN:Person${i};Test;;;\r\nFN:Test Person${i}\r\nTEL;TYPE=CELL:+49170${i}\r\nEND:VCARD\r\n`;
const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
const mapping = { account: 'alice', datastores: [{ name: 'contacts', kind: 'contacts', refreshGuard: { maxShare: 0.5, allow: false } }] } as unknown as AccountMapping;

interface Run {
  sessionSizes: number[];
  wholeMapReadsDuringSync: number;
  serverItems: string[];
  map: string[];
  outgoing: string[];
  stats: DatastoreSessionState['stats'];
  state: CountingStateStore;
  ds: DatastoreSessionState;
}

/**
 * The server holds cards 0..serverN-1 and a map entry for an item the phone no longer has; the
 * phone sends cards 0..phoneN-1 (so the first serverN pair, the rest are new) in messages of
 * `perMessage` Adds. Each message gets a fresh sync layer and the session as saved (JSON). With
 * `failAt`, that message's session is not saved and the message comes again.
 */
async function slowSync(opts: { paging: boolean; phoneN: number; serverN: number; perMessage: number; failAt?: number }): Promise<Run> {
  const state = new CountingStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'slow-sync-session-')) });
  const store = new MemoryDataStore((_hint, n) => `/alice/contacts/new-${n}.vcf`);
  for (let i = 0; i < opts.serverN; i++) store.items.set(`/alice/contacts/srv-${i}.vcf`, card30(i));
  await state.putMapEntries(key, [{ luid: 'gone', guid: '/alice/contacts/srv-0.vcf', etag: '"1"' }]);
  let saved = JSON.stringify(session([datastore({ mode: 'slow', clientDone: false })]));
  const syncFor = (): DatastoreSync => new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent'), {
    conflict: 'newer-wins', ...(opts.paging ? { queue: { sessionKey: 'token', ttlSeconds: 3600 } } : {}),
  });
  const sessionSizes: number[] = [];
  let cmdId = 10;
  let resent = false;
  for (let from = 0, msgNo = 0; from < opts.phoneN; msgNo++) {
    const sess = JSON.parse(saved) as ReturnType<typeof session>;
    const ds = sess.datastores[0]!;
    const sync = syncFor();
    const ctx = { ...context(sess, sync, 1_000_000), mapping, deps: { state } as unknown as EngineDeps };
    const adds: ItemCmd[] = [];
    for (let i = from; i < Math.min(from + opts.perMessage, opts.phoneN); i++) adds.push({ kind: 'Add', cmdId: String(cmdId++), items: [{ source: { locURI: `L${i}` }, data: card21(i) }] });
    await onSync(ctx, { kind: 'Sync', cmdId: '5', target: { locURI: 'contacts' }, source: { locURI: './contacts' }, commands: adds } as SyncCmd);
    const codes = ctx.reply.build(ctx.msg.header, '1.2').body.flatMap((c) => (c.kind === 'Status' && c.cmd === 'Add' ? [c.data] : []));
    // A resent Add whose LUID the failed try mapped already is applied as a Replace (200).
    assert.ok(codes.every((c) => c === '201' || (resent && c === '200')), `message ${msgNo}: ${codes.join(',')}`);
    resent = msgNo === opts.failAt;
    if (msgNo === opts.failAt) {
      opts.failAt = undefined; // the message failed before its session was saved: the phone sends it again
      continue;
    }
    saved = JSON.stringify(sess);
    sessionSizes.push(Buffer.byteLength(JSON.stringify(ds)));
    from += opts.perMessage;
  }
  const wholeMapReadsDuringSync = state.wholeMapReads;
  const sess = JSON.parse(saved) as ReturnType<typeof session>;
  const ds = sess.datastores[0]!;
  ds.clientDone = true;
  const sync = syncFor();
  await sync.computeOutgoing(ds);
  const outgoing = (await sync.takeOutgoing(ds, 10_000)).map((c) => `${c.change.op} ${c.change.href}`).sort();
  return {
    sessionSizes, wholeMapReadsDuringSync, state, ds, outgoing, stats: ds.stats,
    serverItems: [...store.items.keys()].sort(),
    map: (await state.getMap(key)).map((e) => `${e.luid}=${e.guid}`).sort(),
  };
}

describe('protocol: a slow sync over many messages keeps its session small', function () {
  const runs: Run[] = [];
  afterEach(async function () {
    for (const r of runs.splice(0)) await r.state.close();
  });

  it('the saved session does not grow with the items before it; no whole-map read until the package ends', async function () {
    const r = await slowSync({ paging: true, phoneN: 400, serverN: 150, perMessage: 20 });
    runs.push(r);
    assert.equal(r.sessionSizes.length, 20);
    const first = r.sessionSizes[0]!;
    const last = r.sessionSizes.at(-1)!;
    // Inline, each message adds ~20 hrefs to touched and claimed and ~20 LUIDs: ~2 KB a message.
    assert.ok(last <= first + 300, `session grew from ${first} to ${last} bytes over ${r.sessionSizes.length} messages`);
    assert.equal(r.wholeMapReadsDuringSync, 0);
    assert.equal(r.stats.matched, 150);
    assert.equal(r.stats.clientAdded, 250);
  });

  it('pairs, creates, drops stale entries and sends back the same as with everything inline', async function () {
    const inline = await slowSync({ paging: false, phoneN: 120, serverN: 60, perMessage: 10 });
    const paged = await slowSync({ paging: true, phoneN: 120, serverN: 60, perMessage: 10 });
    runs.push(inline, paged);
    const inlineGrew = inline.sessionSizes.at(-1)! - inline.sessionSizes[0]!;
    assert.ok(inlineGrew > 5000, `inline the session grows (${inlineGrew} bytes): the comparison means something`);
    assert.deepEqual(paged.serverItems, inline.serverItems);
    assert.deepEqual(paged.map, inline.map);
    assert.ok(!paged.map.some((m) => m.startsWith('gone=')), 'the stale entry of an item the phone no longer has is gone');
    assert.deepEqual(paged.outgoing, inline.outgoing);
    assert.deepEqual(paged.stats, inline.stats);
  });

  it('a message sent again after its session was not saved pairs and creates nothing twice', async function () {
    const clean = await slowSync({ paging: true, phoneN: 100, serverN: 50, perMessage: 10 });
    const failed = await slowSync({ paging: true, phoneN: 100, serverN: 50, perMessage: 10, failAt: 3 });
    runs.push(clean, failed);
    assert.equal(failed.serverItems.length, clean.serverItems.length, 'no duplicate on the server');
    assert.equal(failed.map.length, clean.map.length);
    assert.deepEqual(failed.outgoing, clean.outgoing);
  });

  it('the sets beside the session are deleted with it', async function () {
    const r = await slowSync({ paging: true, phoneN: 30, serverN: 10, perMessage: 10 });
    runs.push(r);
    const prefix = r.ds.sideSets!.prefix;
    const count = async (name: string): Promise<number> => {
      let n = 0;
      for await (const page of r.state.scanSessionFields(`${prefix}:${name}`)) n += page.length;
      return n;
    };
    assert.ok((await count('touched')) > 0 && (await count('claimed')) > 0 && (await count('match')) > 0);
    await SessionSets.discard(r.state, r.ds);
    assert.deepEqual([await count('touched'), await count('claimed'), await count('seenLuids'), await count('match')], [0, 0, 0, 0]);
    assert.equal(r.ds.sideSets, undefined);
  });
});
