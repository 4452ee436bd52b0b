// DavClient politeness against a scripted loopback server: 503/429 with Retry-After, bounded
// retries and time budget, which methods are repeated after a dropped connection, keep-alive.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore } from '../../../src/datastores/index.js';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, retryableStatus } from '../../../src/datastores/retry.js';

type Step = (req: IncomingMessage, res: ServerResponse) => void;

interface Scripted {
  url: string;
  server: Server;
  /** One step per request; the last one repeats. */
  steps: Step[];
  requests: Array<{ method: string; at: number }>;
  connections: number;
}

async function scripted(steps: Step[]): Promise<Scripted> {
  const s = { steps, requests: [], connections: 0 } as unknown as Scripted;
  s.server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const step = s.steps[Math.min(s.requests.length, s.steps.length - 1)];
      s.requests.push({ method: req.method ?? '', at: performance.now() });
      step(req, res);
    });
  });
  s.server.on('connection', () => s.connections++);
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/alice/contacts/`;
  return s;
}

const MS = '<d:multistatus xmlns:d="DAV:"><d:response><d:href>/alice/contacts/</d:href><d:propstat><d:prop><d:getetag>"c"</d:getetag><d:sync-token>tok-1</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>';
const ok207: Step = (_q, res) => res.writeHead(207, { 'Content-Type': 'application/xml' }).end(MS);
const busy = (status: number, retryAfter?: string): Step => (_q, res) =>
  res.writeHead(status, retryAfter === undefined ? {} : { 'Retry-After': retryAfter }).end('busy');
const drop: Step = (req) => req.socket.destroy();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return isGatewayError(err) ? err.code : String(err);
  }
}

describe('DAV politeness: retries, Retry-After, keep-alive', () => {
  let s: Scripted | undefined;
  afterEach(async () => {
    if (!s) return;
    s.server.closeAllConnections();
    await new Promise((r) => s!.server.close(r));
    s = undefined;
  });

  it('503 + Retry-After: 1 then 207: waits about a second, then succeeds (2 requests)', async () => {
    s = await scripted([busy(503, '1'), ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' } });
    const listing = await store.list();
    assert.equal(listing.version, 'tok-1');
    assert.equal(s.requests.length, 2);
    const gap = s.requests[1].at - s.requests[0].at;
    assert.ok(gap >= 950 && gap < 2000, `waited ${gap.toFixed(0)} ms`);
    assert.equal(store.client.requestCount, 2);
    assert.equal(store.client.retryCount, 1);
  });

  it('429 with an HTTP-date Retry-After is honoured too', async () => {
    s = await scripted([busy(429, new Date(Date.now() + 1500).toUTCString()), ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' } });
    await store.list();
    const gap = s.requests[1].at - s.requests[0].at;
    // HTTP-dates have whole seconds: between 0.5 and 1.5 s from now.
    assert.ok(gap >= 400 && gap < 2000, `waited ${gap.toFixed(0)} ms`);
  });

  it('a Retry-After beyond the bound is not waited for: BACKEND_UNAVAILABLE at once', async () => {
    s = await scripted([busy(503, '3600')]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' } });
    const t0 = performance.now();
    assert.equal(await codeOf(store.list()), 'BACKEND_UNAVAILABLE');
    assert.ok(performance.now() - t0 < 500);
    assert.equal(s.requests.length, 1);
  });

  it('503 for ever: exactly `retries` retries with growing back-off, then BACKEND_UNAVAILABLE', async () => {
    s = await scripted([busy(503)]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' }, retry: { retries: 3, baseDelayMs: 40 } });
    assert.equal(await codeOf(store.list()), 'BACKEND_UNAVAILABLE');
    assert.equal(s.requests.length, 4);
    const gaps = s.requests.slice(1).map((r, i) => r.at - s!.requests[i].at);
    // Back-off 40·2^n, half of it random: [20,40], [40,80], [80,160] (+ scheduling slack).
    assert.ok(gaps[0] >= 18 && gaps[2] >= 75, `gaps ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
  });

  it('the total budget stops retries early', async () => {
    s = await scripted([busy(503, '1')]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' }, retry: { retries: 5, maxTotalMs: 1500 } });
    const t0 = performance.now();
    assert.equal(await codeOf(store.list()), 'BACKEND_UNAVAILABLE');
    assert.equal(s.requests.length, 2, 'one wait of 1 s fits in 1.5 s, a second does not');
    assert.ok(performance.now() - t0 < 1500);
  });

  it('a dropped connection is retried for PROPFIND/REPORT but never for PUT', async () => {
    s = await scripted([drop, ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' }, retry: { baseDelayMs: 10 } });
    await store.list();
    assert.equal(s.requests.length, 2);
    s.requests.length = 0;
    s.steps = [drop, (_q, res) => res.writeHead(201, { ETag: '"n"' }).end()];
    const vcard = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:x\r\nEND:VCARD\r\n';
    assert.equal(await codeOf(store.create(vcard, 'x')), 'BACKEND_UNAVAILABLE');
    assert.equal(s.requests.length, 1, 'a PUT that may have been stored is not sent again');
  });

  it('a timeout is retried for reads (within the budget)', async () => {
    s = await scripted([() => undefined, ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' }, timeoutMs: 200, retry: { baseDelayMs: 10 } });
    await store.list();
    assert.equal(s.requests.length, 2);
  });

  it('502 is retried for reads only; 500 and 404 are never retried', async () => {
    s = await scripted([busy(502), ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' }, retry: { baseDelayMs: 10 } });
    await store.list();
    assert.equal(s.requests.length, 2);
    s.requests.length = 0;
    s.steps = [busy(500)];
    assert.equal(await codeOf(store.list()), 'BACKEND_UNAVAILABLE');
    assert.equal(s.requests.length, 1);
    assert.equal(retryableStatus(502, 'PUT'), false);
    assert.equal(retryableStatus(503, 'PUT'), true, 'a 503 PUT was not acted on');
  });

  it('keeps the connection alive: 10 sequential requests do not open 10 sockets', async () => {
    s = await scripted([ok207]);
    const store = createDavStore({ kind: 'contacts', collectionUrl: s.url, credentials: { bearer: 't' } });
    for (let i = 0; i < 10; i++) await store.list();
    assert.equal(s.requests.length, 10);
    // Node's fetch (undici) opens a second socket right after the first exchange, then reuses.
    assert.ok(s.connections <= 2, `${s.connections} connections`);
  });

  it('parseRetryAfter and backoffDelay', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 10:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(backoffDelay(DEFAULT_RETRY, 0, () => 0), 250);
    assert.equal(backoffDelay(DEFAULT_RETRY, 2, () => 1), 2000);
    assert.equal(backoffDelay(DEFAULT_RETRY, 10, () => 1), DEFAULT_RETRY.maxDelayMs);
  });
});
