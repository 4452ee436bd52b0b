// ReadinessChecker against a loopback HTTP server: which answers count as "up", one probe per
// origin, results cached, user info never sent, a dead state store or server makes it not ready.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReadinessChecker } from '../../../src/metrics/index.js';

describe('metrics: ReadinessChecker', function () {
  let server: Server;
  let base: string;
  let status = 207;
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];

  before(async function () {
    server = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      res.statusCode = status;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async function () {
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(function () {
    seen.length = 0;
    status = 207;
  });

  it('probes each DAV origin once with OPTIONS, without the user info of the URL; 401 counts as up', async function () {
    status = 401;
    const r = new ReadinessChecker({
      pingState: async () => undefined,
      davUrls: () => [`${base}/`, `${base}/alice/contacts/`, `http://alice:pw@127.0.0.1:${new URL(base).port}/x/`],
      cacheMs: 0,
    });
    const report = await r.check();
    assert.equal(report.ready, true);
    assert.deepEqual(report.checks.map((c) => c.name), ['state', `dav ${base}`]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'OPTIONS');
    assert.equal(seen[0]!.headers.authorization, undefined);
  });

  it('a 5xx answer, a refused connection or a failing state store is "not ready", with the reason', async function () {
    status = 503;
    // A port nobody listens on: open one and close it.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = new ReadinessChecker({ pingState: async () => { throw new Error('STATE_FAILED: redis down'); }, davUrls: () => [base, `${closedUrl}/`], cacheMs: 0 });
    const report = await dead.check();
    assert.equal(report.ready, false);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    assert.deepEqual(byName.get('state'), { name: 'state', ok: false, detail: 'STATE_FAILED: redis down' });
    assert.deepEqual(byName.get(`dav ${base}`), { name: `dav ${base}`, ok: false, detail: 'HTTP 503' });
    assert.equal(byName.get(`dav ${closedUrl}`)?.detail, 'ECONNREFUSED');
  });

  it('caches the result for cacheMs (probes do not reach the DAV server each time)', async function () {
    const r = new ReadinessChecker({ pingState: async () => undefined, davUrls: () => [base], cacheMs: 60_000 });
    for (let i = 0; i < 5; i++) assert.equal((await r.check()).ready, true);
    assert.equal(seen.length, 1);
  });

  it('a server that does not answer within the timeout is "not ready" (timeout)', async function () {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      const r = new ReadinessChecker({ pingState: async () => undefined, davUrls: () => [url], timeoutMs: 200, cacheMs: 0 });
      const t0 = Date.now();
      const report = await r.check();
      assert.equal(report.ready, false);
      assert.equal(report.checks[1]?.detail, 'timeout');
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
