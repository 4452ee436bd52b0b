// A server that sends no ETag after PUT (DAViCal does so for vCards): Radicale behind a loopback
// proxy that strips the ETag header from PUT answers. The sync engine must not ask for each
// item's ETag (one PROPFIND per write before), yet end up with the server's real ETags.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDavStore } from '../../../src/datastores/index.js';
import { createLogger } from '../../../src/logger.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { emptyStats, type DatastoreSessionState, type SyncMode } from '../../../src/sync/types.js';
import { generateContacts21, startRadicale } from '../../support/index.js';
import type { DavServerHandle } from '../../support/index.js';

function session(mode: SyncMode): DatastoreSessionState {
  return {
    name: 'contacts', mode, clientUri: './contacts', serverUri: 'contacts', clientNext: 'n', serverNext: 's',
    deviceFormat: { type: 'text/x-vcard', version: '2.1' }, touched: [], claimed: [], seenLuids: [], outgoing: [],
    outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0, clientDone: false, serverDone: false, stats: emptyStats(),
  };
}

/** Forwards to `target`, dropping ETag from PUT answers. */
async function etaglessProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const headers = { ...r.headers };
      if (req.method === 'PUT') delete headers.etag;
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('Radicale without ETags in PUT answers (proxy): ETags read in one batch', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let proxy: { url: string; close(): Promise<void> };
  let state: SqliteStateStore;

  before(async function () {
    dav = await startRadicale();
    proxy = await etaglessProxy(dav.baseUrl);
    state = new SqliteStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'deferred-etags-')) });
  });
  after(async function () {
    await state?.close();
    await proxy?.close();
    await dav?.dispose();
  });

  for (const deferEtag of [false, true]) {
    it(`slow sync of 20 contacts, deferEtag ${deferEtag}: ${deferEtag ? 'no' : 'one'} PROPFIND per item, real ETags mapped`, async function () {
      const requests: string[] = [];
      const collection = dav.collections.contacts.replace(dav.baseUrl, proxy.url);
      const store = createDavStore({
        kind: 'contacts', collectionUrl: collection, credentials: { username: dav.user, password: dav.password }, deferEtag,
        onRequest: (e) => requests.push(`${e.method} ${e.status ?? '-'}`),
      });
      const key = { account: 'alice', deviceId: `dev-${deferEtag}`, datastore: 'contacts' };
      const sync = new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent'));
      const s = session('slow');
      const contacts = generateContacts21(20, deferEtag ? 7 : 8).map((c, i) => ({ ...c, text: c.text.replace(/^N[;:].*$/m, `N:Proxy${deferEtag ? 'D' : 'A'}${i};Test;;;`) }));
      for (const [i, c] of contacts.entries()) {
        const out = await sync.applyAdd(s, `L${i}`, c.text, { type: 'text/x-vcard', version: '2.1' });
        assert.ok(out.result === 'added' || out.result === 'merged', JSON.stringify(out));
      }
      await sync.computeOutgoing(s);
      const propfinds = requests.filter((r) => r.startsWith('PROPFIND')).length;
      const puts = requests.filter((r) => r.startsWith('PUT')).length;
      assert.equal(puts, 20);
      // Both variants list the collection (matching, then the server's changes); the old way
      // adds one PROPFIND Depth 0 per written item.
      if (deferEtag) assert.ok(propfinds <= 2, requests.join(', '));
      else assert.ok(propfinds >= 20, requests.join(', '));
      const real = new Map((await dav.listItems('contacts')).map((it) => [decodeURIComponent(it.href), it.etag]));
      const map = await state.getMap(key);
      assert.equal(map.length, 20);
      for (const e of map) assert.equal(e.etag, real.get(decodeURIComponent(e.guid)), e.guid);
      const next = session('two-way');
      await new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent')).computeOutgoing(next);
      assert.deepEqual(next.outgoing.filter((o) => o.op !== 'Add'), [], 'none of our items goes back as changed');
    });
  }
});
