// The outgoing queue paged out of the session (src/sync/outgoing-queue.ts) against the embedded
// (SQLite) state store: a long queue keeps at most INLINE_MAX changes in the session, the rest in
// pages read back in order; requeued changes go back at the head; a session saved before paging
// (whole queue inline) still runs; a page gone when needed is STATE_EXPIRED (SyncML 508).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { statusForError } from '../../../src/protocol/status.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import {
  discardOutgoingPages, dropQueued, INLINE_MAX, OutgoingQueue, PAGE_SIZE, PAGE_TTL_MARGIN_SECONDS, pageTtlSeconds, queuedCount,
} from '../../../src/sync/outgoing-queue.js';
import { emptyStats, type DatastoreSessionState, type OutgoingChange } from '../../../src/sync/types.js';

function ds(over: Partial<DatastoreSessionState> = {}): DatastoreSessionState {
  return {
    name: 'contacts', mode: 'refresh-from-server', clientUri: './contacts', serverUri: 'contacts', clientNext: '2', serverNext: 's2',
    deviceFormat: { type: 'text/x-vcard', version: '2.1' }, touched: [], claimed: [], seenLuids: [], outgoing: [],
    outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0, clientDone: true, serverDone: false, stats: emptyStats(), ...over,
  };
}

const changes = (n: number): OutgoingChange[] =>
  Array.from({ length: n }, (_, i) => ({ op: 'Add', href: `/alice/contacts/c${String(i).padStart(5, '0')}.vcf` }));

/** Saved and read back as the runner does between messages (JSON through the store). */
async function roundTrip(state: SqliteStateStore, s: DatastoreSessionState): Promise<DatastoreSessionState> {
  await state.putSession('sess-token', s, 600);
  return (await state.getSession<DatastoreSessionState>('sess-token'))!;
}

/** Take everything, `max` at a time, with a session save between takes. */
async function drain(q: OutgoingQueue, state: SqliteStateStore, s0: DatastoreSessionState, max: number): Promise<{ hrefs: string[]; maxInline: number }> {
  let s = s0;
  const hrefs: string[] = [];
  let maxInline = s.outgoing.length;
  while (queuedCount(s) > 0) {
    const taken = await q.take(s, max);
    assert.ok(taken.length > 0 && taken.length <= max);
    hrefs.push(...taken.map((c) => c.href));
    maxInline = Math.max(maxInline, s.outgoing.length);
    s = await roundTrip(state, s);
  }
  return { hrefs, maxInline };
}

describe('sync/outgoing-queue: a long queue of server changes paged out of the session', function () {
  let state: SqliteStateStore;
  const paging = { sessionKey: 'sess-token', ttlSeconds: 3600 };
  beforeEach(function () {
    state = new SqliteStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'outgoing-queue-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('keeps at most INLINE_MAX changes inline and the rest in pages of PAGE_SIZE, under queue:<session>:<datastore>:<n>', async function () {
    const s = ds();
    const all = changes(1000);
    await new OutgoingQueue(state, paging).fill(s, all);
    assert.equal(s.outgoing.length, INLINE_MAX);
    assert.deepEqual(s.outgoing, all.slice(0, INLINE_MAX));
    assert.equal(queuedCount(s), 1000);
    assert.deepEqual(s.outgoingPages, { prefix: 'queue:sess-token:contacts', next: 1, last: Math.ceil((1000 - INLINE_MAX) / PAGE_SIZE), count: 1000 - INLINE_MAX });
    assert.deepEqual(await state.getSession('queue:sess-token:contacts:1'), all.slice(INLINE_MAX, INLINE_MAX + PAGE_SIZE));
    // The session holds a bounded part of the queue, whatever its length.
    const big = ds();
    await new OutgoingQueue(state, { sessionKey: 'other', ttlSeconds: 3600 }).fill(big, changes(10_000));
    assert.ok(JSON.stringify(big).length < JSON.stringify(s).length * 1.1, 'session size does not grow with the queue');
  });

  it('a short queue stays inline, with no pages', async function () {
    const s = ds();
    await new OutgoingQueue(state, paging).fill(s, changes(INLINE_MAX));
    assert.equal(s.outgoing.length, INLINE_MAX);
    assert.equal(s.outgoingPages, undefined);
    assert.equal(await state.getSession('queue:sess-token:contacts:1'), undefined);
  });

  it('takes every change once and in order across pages, with the session saved between takes', async function () {
    const q = new OutgoingQueue(state, paging);
    const s = ds();
    const all = changes(1234);
    await q.fill(s, all);
    const { hrefs, maxInline } = await drain(q, state, s, 25);
    assert.deepEqual(hrefs, all.map((c) => c.href));
    assert.ok(maxInline <= INLINE_MAX + 25, `inline part peaked at ${maxInline}`);
  });

  it('requeued changes go back at the head, before the rest of the page and the pages after it', async function () {
    const q = new OutgoingQueue(state, paging);
    let s = ds();
    const all = changes(700);
    await q.fill(s, all);
    const sent: string[] = [];
    // Drain the inline part to the edge of page 1, then take across it and requeue part.
    while (s.outgoing.length > 10) sent.push(...(await q.take(s, 19)).map((c) => c.href)); // 200 - 10 * 19 = 10 left
    assert.equal(s.outgoingPages!.next, 1);
    s = await roundTrip(state, s);
    const batch = await q.take(s, 25); // the last inline ones and the head of page 1
    assert.equal(s.outgoingPages!.next, 2);
    sent.push(...batch.slice(0, 5).map((c) => c.href));
    q.requeue(s, batch.slice(5));
    s = await roundTrip(state, s);
    sent.push(...(await drain(q, state, s, 25)).hrefs);
    assert.deepEqual(sent, all.map((c) => c.href));
  });

  it('runs a session saved before paging (the whole queue inline, no page refs)', async function () {
    const q = new OutgoingQueue(state, paging);
    const all = changes(900);
    const old = JSON.parse(JSON.stringify(ds({ outgoing: all, outgoingComputed: true }))) as DatastoreSessionState;
    assert.equal(old.outgoingPages, undefined);
    assert.equal(queuedCount(old), 900);
    const batch = await q.take(old, 25);
    q.requeue(old, batch.slice(10));
    const { hrefs } = await drain(q, state, old, 25);
    assert.deepEqual([...batch.slice(0, 10).map((c) => c.href), ...hrefs], all.map((c) => c.href));
  });

  it('a page gone when it is needed is STATE_EXPIRED, which SyncML reports as 508', async function () {
    const q = new OutgoingQueue(state, paging);
    const s = ds();
    await q.fill(s, changes(800));
    await state.deleteSession('queue:sess-token:contacts:2'); // as if it had expired
    const taken: OutgoingChange[] = [];
    let err: unknown;
    try {
      for (;;) taken.push(...(await q.take(s, 25)));
    } catch (e) {
      err = e;
    }
    assert.ok(isGatewayError(err, 'STATE_EXPIRED'), String(err));
    assert.equal(statusForError(err), 508);
    assert.equal(taken.length, INLINE_MAX + PAGE_SIZE, 'everything before the missing page went out');
    dropQueued(s);
    assert.equal(queuedCount(s), 0);
  });

  it('discardOutgoingPages deletes every page, read or not', async function () {
    const q = new OutgoingQueue(state, paging);
    const s = ds();
    await q.fill(s, changes(1000));
    await q.take(s, 300); // page 1 read
    await discardOutgoingPages(state, s);
    assert.equal(s.outgoingPages, undefined);
    for (let n = 1; n <= 4; n++) assert.equal(await state.getSession(`queue:sess-token:contacts:${n}`), undefined);
  });

  it('without paging settings the queue stays inline (as before)', async function () {
    const s = ds();
    await new OutgoingQueue(state).fill(s, changes(1000));
    assert.equal(s.outgoing.length, 1000);
    assert.equal(s.outgoingPages, undefined);
  });

  it('pages are kept for max(session TTL, resume TTL) + 6 h', function () {
    assert.equal(pageTtlSeconds(600, 86_400), 86_400 + PAGE_TTL_MARGIN_SECONDS);
    assert.equal(pageTtlSeconds(600), 600 + PAGE_TTL_MARGIN_SECONDS);
    assert.equal(PAGE_TTL_MARGIN_SECONDS, 6 * 3600);
  });
});
