// The outgoing package is streamed: the real sync layer (DatastoreSync) under the real package
// builder, with a small MaxMsgSize, sends a refresh of a whole collection over many messages. Every
// item arrives once and in listing order, and bodies are read from the store a batch at a time
// (never the whole collection at once), so memory does not grow with the collection.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ItemCmd, SyncCmd } from '../../../src/codec/model.js';
import type { DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import { createLogger } from '../../../src/logger.js';
import { sendServerChanges } from '../../../src/protocol/package-builder.js';
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
});
