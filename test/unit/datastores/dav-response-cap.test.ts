// DAV_MAX_RESPONSE_BYTES: a DAV server (or OAuth2 token endpoint) that answers with a huge body
// must not make the gateway buffer it. A real HTTP server on 127.0.0.1 sends oversized bodies
// with a Content-Length, chunked without one, and without end; the gateway fails the request with
// BACKEND_RESPONSE_TOO_LARGE (SyncML 510), sends it once (no retry) and stops reading.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSettings } from '../../../src/config.js';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore, DavClient, OAuth2TokenSource } from '../../../src/datastores/index.js';
import { configureDavTransport, davTransportSettings, HttpTransport } from '../../../src/datastores/http-transport.js';
import { tokenRequest } from '../../../src/datastores/oauth2.js';
import { DEFAULT_DAV_MAX_RESPONSE_BYTES, OAUTH2_MAX_RESPONSE_BYTES, readCappedText } from '../../../src/datastores/response-cap.js';
import { Status, statusForError } from '../../../src/protocol/status.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Server {
  base: string;
  /** Requests received, per path. */
  hits: Map<string, number>;
  /** Bytes the handler managed to write before the gateway hung up (endless answers). */
  written: { bytes: number; closedEarly: boolean };
  close(): Promise<void>;
}

const MULTISTATUS = (entries: number, pad = 0): string =>
  '<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:">' +
  '<d:response><d:href>/c/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>' +
  '<d:sync-token>tok-1</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>' +
  Array.from({ length: entries }, (_, i) =>
    `<d:response><d:href>/c/item-${i}.vcf</d:href><d:propstat><d:prop><d:getetag>"e${i}${'x'.repeat(pad)}"</d:getetag>` +
    '<d:resourcetype/></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>').join('') +
  '</d:multistatus>';

const XML = { 'Content-Type': 'application/xml; charset=utf-8' };

/** Answers by path: `/len/<n>` n bytes with Content-Length, `/chunked/<n>` n bytes in 16 KiB chunks, `/endless` forever. */
async function startServer(extra: Record<string, Handler> = {}): Promise<Server> {
  const hits = new Map<string, number>();
  const written = { bytes: 0, closedEarly: false };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    req.resume();
    const [, kind, size] = path.split('/');
    const n = Number(size);
    if (extra[path]) return extra[path](req, res);
    if (kind === 'len') {
      res.writeHead(207, { ...XML, 'Content-Length': n });
      res.end(Buffer.alloc(n, 0x61));
    } else if (kind === 'chunked') {
      res.writeHead(207, XML);
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      let left = n;
      const pump = (): void => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!res.write(part)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (written.closedEarly ||= !res.writableFinished));
      pump();
    } else if (kind === 'endless') {
      res.writeHead(207, XML);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (!res.destroyed) {
          written.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => (written.closedEarly = true));
      pump();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    written,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const tooLarge = (e: unknown): boolean => isGatewayError(e, 'BACKEND_RESPONSE_TOO_LARGE');

const PROPFIND = { 'd:propfind': { _attributes: { 'xmlns:d': 'DAV:' }, 'd:prop': { 'd:getetag': {} } } };

describe('DAV response body cap (DAV_MAX_RESPONSE_BYTES)', function () {
  this.timeout(20_000);
  let srv: Server;
  beforeEach(async () => {
    srv = await startServer();
  });
  afterEach(() => srv.close());

  /** A client with retries on (fast back-off), so a retry would show in the server's count. */
  const client = (cap: number, fetch?: typeof globalThis.fetch): DavClient =>
    new DavClient({ maxResponseBytes: cap, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...(fetch ? { fetch } : {}) });

  const items = (c: DavClient, path: string): Promise<unknown> =>
    c.items({ url: `${srv.base}${path}`, method: 'PROPFIND', depth: '1', scope: 'collection', body: PROPFIND });

  it('the error code maps to SyncML 510 (data store failure)', async function () {
    const err = await items(client(64 * 1024), '/len/200000').then(() => undefined, (e: unknown) => e);
    assert.ok(tooLarge(err), `got ${String(err)}`);
    assert.equal(statusForError(err), Status.DATASTORE_FAILURE);
    assert.equal(statusForError(err), 510);
  });

  for (const via of ['node:http transport', 'injected fetch'] as const) {
    describe(`via the ${via}`, function () {
      const make = (cap: number): DavClient => client(cap, via === 'injected fetch' ? globalThis.fetch : undefined);

      it('a declared Content-Length over the cap fails at once, sent once (no retry)', async function () {
        const c = make(64 * 1024);
        await assert.rejects(items(c, '/len/1000000'), tooLarge);
        assert.equal(srv.hits.get('/len/1000000'), 1);
        assert.equal(c.requestCount, 1);
        assert.equal(c.retryCount, 0);
      });

      it('a chunked body without Content-Length is counted and cut at the cap, sent once', async function () {
        const c = make(64 * 1024);
        await assert.rejects(items(c, '/chunked/4000000'), (e: unknown) => tooLarge(e) && /more than 65536 bytes/.test((e as Error).message));
        assert.equal(srv.hits.get('/chunked/4000000'), 1);
        assert.equal(c.retryCount, 0);
      });

      it('an endless body: the gateway hangs up instead of reading on', async function () {
        const c = make(256 * 1024);
        await assert.rejects(items(c, '/endless'), tooLarge);
        for (let i = 0; i < 100 && !srv.written.closedEarly; i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(srv.written.closedEarly, 'the server saw the connection dropped');
        assert.ok(srv.written.bytes < 32 * 1024 * 1024, `server wrote ${srv.written.bytes} bytes before the hang-up`);
        assert.equal(srv.hits.get('/endless'), 1);
      });

      it('bodies up to the cap still work (exactly at the cap, and a real multistatus)', async function () {
        const c = make(64 * 1024);
        const body = MULTISTATUS(100);
        const exact = Buffer.byteLength(body);
        const at = await startServer({ '/ms': (_q, r) => r.writeHead(207, XML).end(body) });
        try {
          const capped = client(exact, via === 'injected fetch' ? globalThis.fetch : undefined);
          const ok = (await capped.items({ url: `${at.base}/ms`, method: 'PROPFIND', depth: '1', scope: 'collection', body: PROPFIND })) as unknown[];
          assert.equal(ok.length, 101);
          const under = client(exact - 1, via === 'injected fetch' ? globalThis.fetch : undefined);
          await assert.rejects(under.items({ url: `${at.base}/ms`, method: 'PROPFIND', depth: '1', scope: 'collection', body: PROPFIND }), tooLarge);
        } finally {
          await at.close();
        }
        // A HEAD's Content-Length announces a body that never comes: not refused.
        const head = await c.exchange('HEAD', `${srv.base}/len/1000000`, {});
        assert.equal(head.status, 207);
      });
    });
  }

  it('tsdav requests (davRequest through DavClient.fetch) are capped too', async function () {
    const c = client(64 * 1024);
    await assert.rejects(
      c.multistatus({ url: `${srv.base}/chunked/1000000`, method: 'PROPFIND', depth: '0', scope: 'collection', body: PROPFIND }),
      tooLarge,
    );
    assert.equal(srv.hits.get('/chunked/1000000'), 1);
  });

  it('DAV_MAX_RESPONSE_BYTES: setting (default 64 MiB), process-wide transport, a DavStore listing', async function () {
    assert.equal(loadSettings({}).davMaxResponseBytes, 64 * 1024 * 1024);
    assert.equal(DEFAULT_DAV_MAX_RESPONSE_BYTES, 64 * 1024 * 1024);
    assert.equal(loadSettings({ DAV_MAX_RESPONSE_BYTES: '100000' }).davMaxResponseBytes, 100000);
    assert.throws(() => loadSettings({ DAV_MAX_RESPONSE_BYTES: '0' }), /DAV_MAX_RESPONSE_BYTES/);
    assert.throws(() => new HttpTransport(4, 0), RangeError);
    const before = { ...davTransportSettings() };
    const big = MULTISTATUS(2000, 40); // ~300 kB
    const listing = await startServer({ '/c/': (_q, r) => r.writeHead(207, XML).end(big) });
    try {
      configureDavTransport({ maxResponseBytes: 128 * 1024 });
      assert.deepEqual(davTransportSettings(), { maxConnections: before.maxConnections, maxResponseBytes: 128 * 1024 });
      const store = createDavStore({ kind: 'contacts', collectionUrl: `${listing.base}/c/`, credentials: { username: 'u', password: 'p' }, retry: { baseDelayMs: 1 } });
      const err = await store.list().then(() => undefined, (e: unknown) => e);
      assert.ok(tooLarge(err), `got ${String(err)}`);
      assert.equal(statusForError(err), 510);
      assert.equal(listing.hits.get('/c/'), 1, 'not retried');
      configureDavTransport({ maxResponseBytes: 1024 * 1024 });
      const l = await store.list();
      assert.equal(l.items.length, 2000);
    } finally {
      configureDavTransport(before);
      await listing.close();
    }
  });

  it('readCappedText: Content-Length first, then streamed bytes; UTF-8 as res.text()', async function () {
    const text = 'grüße ✓ '.repeat(10);
    assert.equal(await readCappedText(new Response(text), 1000), text);
    assert.equal(await readCappedText(new Response(null, { status: 204 }), 1), '');
    await assert.rejects(readCappedText(new Response('x'.repeat(10), { headers: { 'Content-Length': '10' } }), 9), /Content-Length 10/);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(ctl) {
        pulled++;
        ctl.enqueue(new Uint8Array(1000));
      },
    });
    await assert.rejects(readCappedText(new Response(endless), 5000, 'test'), (e: unknown) => tooLarge(e) && /^test: /.test((e as Error).message));
    assert.ok(pulled < 20, `pulled ${pulled} chunks`);
  });
});

describe('OAuth2 token response cap (64 KiB)', function () {
  this.timeout(20_000);
  let srv: Server;
  const token = JSON.stringify({ access_token: 'ya29.ok', expires_in: 3600, token_type: 'Bearer' });
  const padded = (n: number): string => JSON.stringify({ access_token: 'ya29.big', expires_in: 3600, pad: 'x'.repeat(n) });
  beforeEach(async () => {
    srv = await startServer({
      '/token/ok': (_q, r) => r.writeHead(200, { 'Content-Type': 'application/json' }).end(token),
      '/token/len': (_q, r) => {
        const body = padded(OAUTH2_MAX_RESPONSE_BYTES);
        r.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      },
      '/token/chunked': (_q, r) => {
        r.writeHead(200, { 'Content-Type': 'application/json' });
        const body = padded(200 * 1024);
        for (let i = 0; i < body.length; i += 8192) r.write(body.slice(i, i + 8192));
        r.end();
      },
    });
  });
  afterEach(() => srv.close());

  it('a token answer over 64 KiB fails BACKEND_RESPONSE_TOO_LARGE (with and without Content-Length)', async function () {
    assert.equal(OAUTH2_MAX_RESPONSE_BYTES, 64 * 1024);
    await assert.rejects(tokenRequest(`${srv.base}/token/len`, { grant_type: 'refresh_token' }), (e: unknown) => tooLarge(e) && /Content-Length/.test((e as Error).message));
    await assert.rejects(tokenRequest(`${srv.base}/token/chunked`, { grant_type: 'refresh_token' }), tooLarge);
    const ok = await tokenRequest(`${srv.base}/token/ok`, { grant_type: 'refresh_token' });
    assert.equal(ok.access_token, 'ya29.ok');
  });

  it('a DAV request whose token refresh is too large fails once: no retry, no DAV request', async function () {
    const src = new OAuth2TokenSource({ clientId: 'c', clientSecret: 's', refreshToken: 'r', tokenUrl: `${srv.base}/token/chunked` });
    const c = new DavClient({ credentials: { tokenSource: src }, retry: { baseDelayMs: 1 } });
    const err = await c.exchange('PROPFIND', `${srv.base}/c/`, { Depth: '0' }).then(() => undefined, (e: unknown) => e);
    assert.ok(tooLarge(err), `got ${String(err)}`);
    assert.equal(statusForError(err), 510);
    assert.equal(src.refreshCount, 1);
    assert.equal(srv.hits.get('/token/chunked'), 1);
    assert.equal(srv.hits.get('/c/'), undefined);
  });
});
