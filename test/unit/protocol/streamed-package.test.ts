// The outgoing package is streamed: the real sync layer (DatastoreSync) under the real package
// builder, with a small MaxMsgSize, sends a refresh of a whole collection over many messages. Every
// item arrives once and in listing order, and bodies are read from the store a batch at a time
// (never the whole collection at once), so memory does not grow with the collection. With the
// queue paged out of the session (sync/outgoing-queue.ts) the session stays small, and a page
// that expired fails the datastore with 508.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command, ItemCmd, SyncCmd } from '../../../src/codec/model.js';
import type { DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import { createLogger } from '../../../src/logger.js';
import { sendServerChanges } from '../../../src/protocol/package-builder.js';
import type { SessionState } from '../../../src/protocol/session.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { context, datastore, session } from './support.js';

/** A read-only collection that records the size of every body read. */
class CountingStore implements DataStore {
  readonly kind = 'contacts' as const;
  readonly collectionUrl = 'http://dav.test/alice/contacts/';
  readonly fetchSizes: number[] = [];
  readonly #items = new Map<string, string>();

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const href = `/alice/contacts/c${String(i).padStart(4, '0')}.vcf`;
      this.#items.set(href, `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c${i}\r\nN:Person${i};Test;;;\r\nFN:Test Person${i}\r\nTEL;TYPE=CELL:+49170${i}\r\nEND:VCARD\r\n`);
    }
  }
  async list(): Promise<Listing> {
    return { items: [...this.#items.keys()].map((href) => ({ href, etag: `"${href}"` })) };
  }
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    this.fetchSizes.push(hrefs.length);
    return hrefs.flatMap((href) => {
      const data = this.#items.get(href);
      return data ? [{ href, etag: `"${href}"`, data }] : [];
    });
  }
  create(): Promise<ItemRef> {
    throw new Error('read-only');
  }
  update(): Promise<ItemRef> {
    throw new Error('read-only');
  }
  delete(): Promise<void> {
    throw new Error('read-only');
  }
}

describe('protocol/package-builder with the real sync layer: a refresh streamed over small messages', function () {
  let state: SqliteStateStore;
  beforeEach(function () {
    state = new SqliteStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'streamed-package-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('every server item arrives once, in listing order, and bodies are read a batch at a time', async function () {
    const n = 300;
    const store = new CountingStore(n);
    const ds = datastore({ mode: 'refresh-from-server' });
    const sess = session([ds]);
    const sync = new DatastoreSync(store, state, { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' }, contactsTranslator, createLogger('silent'));
    const sent: string[] = [];
    let messages = 0;
    while (!ds.serverDone && messages < 1000) {
      const ctx = context(sess, sync, 2000); // a few items per message
      await sendServerChanges(ctx);
      messages++;
      const syncCmd = ctx.reply.build(ctx.msg.header, '1.2').body.find((c): c is SyncCmd => c.kind === 'Sync');
      for (const cmd of (syncCmd?.commands ?? []) as ItemCmd[]) {
        assert.equal(cmd.kind, 'Add');
        assert.match(String(cmd.items[0]!.data), /^BEGIN:VCARD/);
        sent.push(cmd.items[0]!.source!.locURI);
      }
    }
    assert.equal(ds.serverDone, true);
    assert.ok(messages > 20, `expected many messages, got ${messages}`);
    assert.deepEqual(sent, (await store.list()).items.map((i) => i.href));
    assert.ok(Math.max(...store.fetchSizes) <= 25, `largest body read: ${Math.max(...store.fetchSizes)} items`);
    // Only what the device has not confirmed yet is kept per sent item (no bodies).
    for (const change of Object.values(sess.sent)) assert.equal('data' in change, false);
  });

  /** A refresh of `n` items with the queue paged out of the session (as the engine sets it up). */
  function pagedRefresh(n: number): { store: CountingStore; sync: DatastoreSync; sess: SessionState } {
    const store = new CountingStore(n);
    const sync = new DatastoreSync(store, state, { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' }, contactsTranslator, createLogger('silent'),
      { conflict: 'newer-wins', queue: { sessionKey: 'token', ttlSeconds: 3600 } });
    return { store, sync, sess: session([datastore({ mode: 'refresh-from-server' })]) };
  }

  /** One message: the session as saved and read back between messages (JSON), and what went out. */
  async function message(sess: SessionState, sync: DatastoreSync, budget: number): Promise<{ sess: SessionState; body: Command[]; bytes: number }> {
    const next = JSON.parse(JSON.stringify(sess)) as SessionState;
    // The device confirmed and mapped what it got (keeps the session size about the queue).
    next.sent = {};
    for (const ds of next.datastores) ds.awaitingMap = {};
    const ctx = context(next, sync, budget);
    await sendServerChanges(ctx);
    return { sess: next, body: ctx.reply.build(ctx.msg.header, '1.2').body, bytes: Buffer.byteLength(JSON.stringify(next)) };
  }

  it('a long queue is paged out of the session: the session stays small, every item arrives once and in order', async function () {
    const n = 1500;
    const { store, sync, sess: first } = pagedRefresh(n);
    let sess = first;
    const sent: string[] = [];
    let peak = 0;
    let inlinePeak = 0;
    let noc: number | undefined;
    for (let messages = 0; !sess.datastores[0]!.serverDone && messages < 2000; messages++) {
      const m = await message(sess, sync, 6000);
      sess = m.sess;
      peak = Math.max(peak, m.bytes);
      inlinePeak = Math.max(inlinePeak, Buffer.byteLength(JSON.stringify(sess.datastores[0]!.outgoing)));
      const syncCmd = m.body.find((c): c is SyncCmd => c.kind === 'Sync');
      noc ??= syncCmd?.numberOfChanges;
      for (const cmd of (syncCmd?.commands ?? []) as ItemCmd[]) sent.push(cmd.items[0]!.source!.locURI);
    }
    assert.equal(sess.datastores[0]!.serverDone, true);
    assert.equal(noc, n, 'NumberOfChanges counts the paged part too');
    assert.deepEqual(sent, (await store.list()).items.map((i) => i.href));
    assert.ok(sess.datastores[0]!.outgoingPages, 'the queue was paged');
    // ~200 inline changes of ~48 bytes, plus one message's sent records: far below the whole
    // queue (1500 changes, ~72 KB).
    assert.ok(inlinePeak < 12_000, `peak inline queue ${inlinePeak} bytes`);
    assert.ok(peak < 30_000, `peak session ${peak} bytes`);
    assert.ok(await state.getSession('queue:token:contacts:1'), 'pages stay until the session ends');
  });

  it('a page gone when needed fails the datastore with 508 (Alert 100 with the reason); what went out before stays sent', async function () {
    const { store, sync, sess: first } = pagedRefresh(700);
    let sess = first;
    const sent: string[] = [];
    let failure: Command | undefined;
    for (let messages = 0; !sess.datastores[0]!.serverDone && messages < 2000; messages++) {
      if (messages === 1) await state.deleteSession('queue:token:contacts:2'); // expired meanwhile
      const m = await message(sess, sync, 6000);
      sess = m.sess;
      const syncCmd = m.body.find((c): c is SyncCmd => c.kind === 'Sync');
      for (const cmd of (syncCmd?.commands ?? []) as ItemCmd[]) sent.push(cmd.items[0]!.source!.locURI);
      failure ??= m.body.find((c) => c.kind === 'Alert' && c.data === '100');
    }
    const ds = sess.datastores[0]!;
    assert.equal(ds.failed, true, 'the datastore is failed: its anchors are not committed');
    assert.equal(ds.serverDone, true);
    assert.ok(sent.length >= 200 && sent.length <= 400, `${sent.length} sent: at most the inline part and page 1`);
    assert.deepEqual(sent, (await store.list()).items.slice(0, sent.length).map((i) => i.href));
    assert.ok(failure && failure.kind === 'Alert', 'the device is told');
    assert.match(String(failure.items[0]!.data), /^508 STATE_EXPIRED/);
  });
});
