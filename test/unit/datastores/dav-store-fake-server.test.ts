// DavStore/DavClient against a scripted loopback HTTP server: headers, timeout, concurrency
// bound, and server behaviours Radicale/Xandikos do not show (no ETag on PUT, Location, 5xx).
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore, DEFAULT_USER_AGENT, verifyDavCredentials } from '../../../src/datastores/index.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface Fake {
  url: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  handler: Handler;
  server: Server;
}

async function startFake(): Promise<Fake> {
  const fake = { requests: [], handler: () => undefined } as unknown as Fake;
  fake.server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      fake.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      fake.handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  const { port } = fake.server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}/alice/contacts/`;
  return fake;
}

const multistatus = (inner: string): string =>
  `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">${inner}</d:multistatus>`;
const ok = (href: string, props: string): string =>
  `<d:response><d:href>${href}</d:href><d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return isGatewayError(err) ? err.code : `not a GatewayError: ${String(err)}`;
  }
}

describe('DavStore against a scripted server', () => {
  let fake: Fake;
  beforeEach(async () => {
    fake = await startFake();
  });
  afterEach(async () => {
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  const vcard = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a@b\r\nFN:x\r\nEND:VCARD\r\n';

  it('sends Basic auth (UTF-8), the User-Agent and Depth; bearer tokens too', async () => {
    fake.handler = (_req, _body, res) => {
      res.writeHead(207, { 'Content-Type': 'application/xml' }).end(multistatus(ok('/alice/contacts/', '<d:getetag>"c"</d:getetag>')));
    };
    await createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { username: 'jörg', password: 'pä:ss' } }).list();
    const h = fake.requests[0].headers;
    assert.equal(h.authorization, `Basic ${Buffer.from('jörg:pä:ss', 'utf8').toString('base64')}`);
    assert.equal(h['user-agent'], DEFAULT_USER_AGENT);
    assert.match(DEFAULT_USER_AGENT, /^syncml-dav-gateway\/\d+\.\d+\.\d+/);
    assert.equal(h.depth, '1');
    await createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 'tok' }, userAgent: 'ua/1' }).list();
    assert.equal(fake.requests[1].headers.authorization, 'Bearer tok');
    assert.equal(fake.requests[1].headers['user-agent'], 'ua/1');
  });

  it('a server that does not answer -> BACKEND_UNAVAILABLE after timeoutMs', async () => {
    fake.handler = () => undefined; // never respond
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' }, timeoutMs: 300, retry: false });
    const t0 = performance.now();
    assert.equal(await codeOf(s.list()), 'BACKEND_UNAVAILABLE');
    const ms = performance.now() - t0;
    assert.ok(ms >= 250 && ms < 2000, `took ${ms.toFixed(0)} ms`);
  });

  it('keeps at most `concurrency` requests in flight across parallel multiget batches', async () => {
    let inFlight = 0;
    let max = 0;
    fake.handler = (_req, body, res) => {
      inFlight++;
      max = Math.max(max, inFlight);
      const hrefs = [...body.matchAll(/<d:href>([^<]+)<\/d:href>/g)].map((m) => m[1]);
      setTimeout(() => {
        inFlight--;
        res.writeHead(207, { 'Content-Type': 'application/xml' }).end(
          multistatus(hrefs.map((h) => ok(h, `<d:getetag>"${h}"</d:getetag><card:address-data>${vcard}</card:address-data>`)).join('')),
        );
      }, 30);
    };
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' }, concurrency: 2, batchSize: 10 });
    const hrefs = Array.from({ length: 95 }, (_, i) => `/alice/contacts/${i}.vcf`);
    const got = await s.fetch(hrefs);
    assert.equal(got.length, 95);
    assert.equal(fake.requests.length, 10);
    assert.equal(max, 2);
    assert.equal(got[0].data, vcard, 'data comes back with its final CRLF');
  });

  it('create without ETag in the PUT answer asks for it with PROPFIND; Location wins', async () => {
    fake.handler = (req, _body, res) => {
      if (req.method === 'PUT') {
        res.writeHead(201, { Location: '/alice/contacts/renamed.vcf' }).end();
      } else {
        res.writeHead(207, { 'Content-Type': 'application/xml' }).end(
          multistatus(ok('/alice/contacts/renamed.vcf', '<d:getetag>"e1"</d:getetag>')),
        );
      }
    };
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' } });
    const ref = await s.create(vcard, 'h');
    assert.deepEqual(ref, { href: '/alice/contacts/renamed.vcf', etag: '"e1"' });
    assert.equal(fake.requests[0].url, '/alice/contacts/a-b.vcf');
    assert.equal(fake.requests[0].headers['if-none-match'], '*');
    assert.match(String(fake.requests[0].headers['content-type']), /^text\/vcard/);
    assert.equal(fake.requests[1].method, 'PROPFIND');
    assert.equal(fake.requests[1].url, '/alice/contacts/renamed.vcf');
  });

  it('with deferEtag, a create without ETag in the answer costs one request and returns etag \'\'', async () => {
    fake.handler = (_req, _body, res) => res.writeHead(201).end();
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' }, deferEtag: true });
    assert.deepEqual(await s.create(vcard, 'h'), { href: '/alice/contacts/a-b.vcf', etag: '' });
    assert.deepEqual(await s.update('/alice/contacts/a-b.vcf', vcard, '"x"'), { href: '/alice/contacts/a-b.vcf', etag: '' });
    assert.deepEqual(fake.requests.map((r) => r.method), ['PUT', 'PUT']);
  });

  it('update sends If-Match; events are PUT as text/calendar', async () => {
    fake.handler = (_req, _body, res) => res.writeHead(204, { ETag: '"n"' }).end();
    const s = createDavStore({ kind: 'events', collectionUrl: fake.url, credentials: { bearer: 't' } });
    const ref = await s.update('/alice/contacts/e.ics', 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', '"o"');
    assert.deepEqual(ref, { href: '/alice/contacts/e.ics', etag: '"n"' });
    assert.equal(fake.requests[0].headers['if-match'], '"o"');
    assert.match(String(fake.requests[0].headers['content-type']), /^text\/calendar/);
  });

  it('maps 5xx, HTML login pages and 401 on the collection', async () => {
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' }, retry: false });
    fake.handler = (_req, _body, res) => res.writeHead(503).end('maintenance');
    assert.equal(await codeOf(s.list()), 'BACKEND_UNAVAILABLE');
    assert.equal(await codeOf(s.fetch(['/alice/contacts/x.vcf'])), 'BACKEND_UNAVAILABLE');
    fake.handler = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>');
    assert.equal(await codeOf(s.list()), 'BACKEND_UNAVAILABLE');
    fake.handler = (_req, _body, res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic' }).end();
    assert.equal(await codeOf(s.list()), 'AUTH_FAILED');
    assert.equal(await codeOf(s.delete('/alice/contacts/x.vcf')), 'AUTH_FAILED');
  });

  it('a 207 answer to PUT with an inner 412 precondition is a rejection (Xandikos style)', async () => {
    fake.handler = (_req, _body, res) =>
      res.writeHead(207, { 'Content-Type': 'text/xml' }).end(
        '<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>x</ns0:href><ns0:status>HTTP/1.1 412 Precondition Failed</ns0:status>' +
          '<ns0:error><ns1:valid-address-data xmlns:ns1="urn:ietf:params:xml:ns:carddav"/></ns0:error>' +
          '<ns0:responsedescription>bad vcard</ns0:responsedescription></ns0:response></ns0:multistatus>',
      );
    const s = createDavStore({ kind: 'contacts', collectionUrl: fake.url, credentials: { bearer: 't' } });
    assert.equal(await codeOf(s.create(vcard, 'x')), 'REJECTED_BY_SERVER');
  });

  it('verifyDavCredentials: 207 true, 401/403 false, 500 throws', async () => {
    const creds = { username: 'a', password: 'b' };
    for (const [status, want] of [[207, true], [401, false], [403, false]] as const) {
      fake.handler = (_req, _body, res) => res.writeHead(status, { 'Content-Type': 'application/xml' }).end(multistatus(''));
      assert.equal(await verifyDavCredentials(fake.url, creds), want, String(status));
    }
    assert.equal(fake.requests.at(-1)?.headers.depth, '0');
    fake.handler = (_req, _body, res) => res.writeHead(500).end();
    assert.equal(await codeOf(verifyDavCredentials(fake.url, creds)), 'BACKEND_UNAVAILABLE');
  });
});
