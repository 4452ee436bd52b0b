// A listing is read as it arrives (MultistatusReader fed by the transport's bodyReader): a real
// HTTP server on 127.0.0.1 sends a large multistatus in odd pieces (a UTF-8 character cut in
// two), fails once in the middle of one, or answers with something that is not a multistatus.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore, DavClient } from '../../../src/datastores/index.js';

const COLLECTION = '/alice/contacts/';

/** A Radicale-like listing of `n` members, each href with a raw (not percent-encoded) `ü`. */
function listing(n: number): Buffer {
  const member = (i: number): string =>
    `<response><href>${COLLECTION}müller-${i}.vcf</href><propstat><prop><getetag>"${i.toString(16).padStart(64, '0')}"</getetag><resourcetype /></prop>` +
    '<status>HTTP/1.1 200 OK</status></propstat><propstat><prop><CS:getctag /><sync-token /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>';
  return Buffer.from(
    '<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<multistatus xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/">' +
      `<response><href>${COLLECTION}</href><propstat><prop><resourcetype><collection /></resourcetype><sync-token>http://radicale.org/ns/sync/tök</sync-token></prop>` +
      '<status>HTTP/1.1 200 OK</status></propstat></response>' +
      Array.from({ length: n }, (_, i) => member(i)).join('') +
      '</multistatus>',
  );
}

type Handler = (res: http.ServerResponse, attempt: number) => void;

async function serve(handler: Handler): Promise<{ url: string; attempts(): number; close(): Promise<void> }> {
  let attempts = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(res, ++attempts));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${COLLECTION}`,
    attempts: () => attempts,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Writes `body` in pieces of `size` bytes and cut at `cuts` too, a few ms apart so that each piece
 * arrives on its own, then ends (or drops the connection after `stopAfter` bytes).
 */
function writeInPieces(res: http.ServerResponse, body: Buffer, size: number, { stopAfter = Infinity, cuts = [] as number[] } = {}): void {
  res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
  const ends = [...new Set([...cuts, ...Array.from({ length: Math.ceil(body.length / size) }, (_, i) => Math.min(body.length, (i + 1) * size))])].sort((a, b) => a - b);
  let at = 0;
  const next = (): void => {
    if (at >= stopAfter) {
      res.socket?.destroy();
      return;
    }
    const end = ends.shift();
    if (end === undefined) {
      res.end();
      return;
    }
    res.write(body.subarray(at, end));
    at = end;
    setTimeout(next, 2);
  };
  next();
}

describe('DAV listing read as it arrives', function () {
  this.timeout(20_000);
  const n = 6000; // ~1.6 MB: streamed (past 256 KB), in many pieces
  const body = listing(n);

  it('a large listing in odd-sized pieces (a UTF-8 character cut in two): every member, its ETag and the sync-token', async function () {
    // Cuts inside `ü` (2 bytes) past the first 256 KB, where the body is streamed: the decoder must carry the half over.
    const umlauts = [400_000, 800_000, 1_200_000].map((from) => body.indexOf('ü', from) + 1);
    const server = await serve((res) => writeInPieces(res, body, 60_000, { cuts: umlauts }));
    try {
      const got = await createDavStore({ kind: 'contacts', collectionUrl: server.url, credentials: { bearer: 't' }, retry: false }).list();
      assert.equal(got.items.length, n);
      assert.equal(got.version, 'http://radicale.org/ns/sync/tök');
      assert.deepEqual(got.items, Array.from({ length: n }, (_, i) => ({ href: `${COLLECTION}m%C3%BCller-${i}.vcf`, etag: `"${i.toString(16).padStart(64, '0')}"` })));
    } finally {
      await server.close();
    }
  });

  it('a body cut off in the middle is asked for again, and only the second answer counts (no member twice)', async function () {
    const server = await serve((res, attempt) => writeInPieces(res, body, 64 * 1024, { stopAfter: attempt === 1 ? 700_000 : Infinity }));
    try {
      const store = createDavStore({ kind: 'contacts', collectionUrl: server.url, credentials: { bearer: 't' }, retry: { retries: 2, baseDelayMs: 10 } });
      const got = await store.list();
      assert.equal(server.attempts(), 2);
      assert.equal(got.items.length, n);
      assert.equal(new Set(got.items.map((i) => i.href)).size, n);
    } finally {
      await server.close();
    }
  });

  it('a body cut off between two responses, then an empty answer: an error, not the members read so far', async function () {
    const cut = body.indexOf('</response>', 700_000) + '</response>'.length;
    const server = await serve((res, attempt) => {
      if (attempt === 1) return writeInPieces(res, body, 64 * 1024, { stopAfter: cut, cuts: [cut] });
      res.writeHead(204);
      res.end();
    });
    try {
      const store = createDavStore({ kind: 'contacts', collectionUrl: server.url, credentials: { bearer: 't' }, retry: { retries: 2, baseDelayMs: 10 } });
      await assert.rejects(store.list(), (err: unknown) => isGatewayError(err, 'BACKEND_UNAVAILABLE') && /not a DAV multistatus/.test((err as Error).message));
      assert.equal(server.attempts(), 2);
    } finally {
      await server.close();
    }
  });

  it('eachItem hands over responses while the body is still arriving', async function () {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await serve((res) => {
      res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
      res.write(body.subarray(0, 400_000));
      void held.then(() => res.end(body.subarray(400_000)));
    });
    try {
      const client = new DavClient({ credentials: { bearer: 't' }, retry: false });
      let seen = 0;
      const done = client.eachItem({ url: server.url, method: 'PROPFIND', depth: '1', scope: 'collection', body: { 'd:propfind': { _attributes: { 'xmlns:d': 'DAV:' }, 'd:prop': { 'd:getetag': {} } } } }, () => () => {
        seen++;
        if (seen === 100) release();
      });
      const answer = await done;
      assert.equal(seen, n + 1, 'the collection and every member');
      assert.deepEqual(Object.keys(answer.raw.multistatus), []);
    } finally {
      await server.close();
    }
  });

  it('a 207 labelled XML that is not a multistatus (a login page, 600 KB) fails as a bad answer', async function () {
    const html = Buffer.from(`<html><body>${'login '.repeat(100_000)}</body></html>`);
    const server = await serve((res) => writeInPieces(res, html, 50_000));
    try {
      await assert.rejects(
        createDavStore({ kind: 'contacts', collectionUrl: server.url, credentials: { bearer: 't' }, retry: false }).list(),
        (err: unknown) => isGatewayError(err, 'BACKEND_UNAVAILABLE') && /: 502 not a DAV multistatus response/.test((err as Error).message),
      );
    } finally {
      await server.close();
    }
  });
});
