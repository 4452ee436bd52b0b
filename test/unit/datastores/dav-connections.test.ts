// DAV_MAX_CONNECTIONS: requests in flight to one DAV server are bounded per process, and a quarter
// of the slots is kept for small requests (credential checks, listings, sync-collection REPORTs),
// so a login does not wait behind a slow sync's PUTs.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpTransport } from '../../../src/datastores/http-transport.js';
import { LaneLimiter } from '../../../src/datastores/limit.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DAV connections per server', function () {
  it('LaneLimiter: bulk holds at most size - reserved slots; priority waiters go first', async function () {
    const l = new LaneLimiter(4, 1);
    const gates: Array<() => void> = [];
    const started: string[] = [];
    const job = (name: string) => () => new Promise<void>((r) => {
      started.push(name);
      gates.push(r);
    });
    const all = ['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => l.run('bulk', job(n)));
    await tick();
    assert.deepEqual(started, ['b1', 'b2', 'b3'], 'one slot stays free for priority');
    all.push(l.run('priority', job('p1')));
    await tick();
    assert.deepEqual(started, ['b1', 'b2', 'b3', 'p1']);
    all.push(l.run('priority', job('p2')));
    await tick();
    assert.equal(l.inFlight, 4);
    gates.shift()!(); // b1 ends: the waiting priority request goes before b4
    await tick();
    await tick();
    assert.deepEqual(started.slice(4), ['p2']);
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    await Promise.all(all);
    assert.deepEqual(started, ['b1', 'b2', 'b3', 'p1', 'p2', 'b4', 'b5']);
    assert.equal(l.inFlight, 0);
  });

  it('HttpTransport: a PROPFIND is answered while PUTs fill the bound, and no more than the bound reach the server', async function () {
    let open = 0;
    let peak = 0;
    const held: http.ServerResponse[] = [];
    const server = http.createServer((req, res) => {
      open++;
      peak = Math.max(peak, open);
      res.on('finish', () => open--);
      req.resume();
      if (req.method === 'PUT') held.push(res);
      else res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const transport = new HttpTransport(8);
    try {
      const puts = Array.from({ length: 30 }, (_, i) =>
        transport.request({ method: 'PUT', url: `${base}/c/${i}.vcf`, headers: {}, body: 'BEGIN:VCARD', timeoutMs: 10_000 }));
      while (held.length < 6) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(held.length, 6, 'bulk writes use 8 - 2 reserved connections');
      assert.deepEqual(transport.load(base), { inFlight: 6, waiting: 24 });
      const check = await transport.request({ method: 'PROPFIND', url: `${base}/`, headers: {}, timeoutMs: 2_000 });
      assert.equal(check.status, 200, 'the credential check did not wait for the PUTs');
      while (held.length > 0 || transport.load(base).inFlight > 0) {
        held.shift()?.end('done');
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal((await Promise.all(puts)).length, 30);
      assert.ok(peak <= 8, `peak ${peak}`);
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  describe('a kept-alive socket the server has closed', function () {
    // The server answers the first request on each connection and drops the connection when a
    // second request arrives on it: what the client sees when a server closes an idle socket
    // just as it is reused.
    async function droppingServer(): Promise<{ base: string; seen: string[]; close: () => Promise<void> }> {
      const seen: string[] = [];
      const served = new WeakSet<object>();
      const server = http.createServer((req, res) => {
        if (served.has(req.socket)) {
          seen.push(`${req.method} dropped`);
          req.socket.destroy();
          return;
        }
        served.add(req.socket);
        seen.push(`${req.method} answered`);
        req.resume();
        req.on('end', () => res.end('ok'));
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        seen,
        close: async () => {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
        },
      };
    }

    it('a PROPFIND on it goes out again at once on a new socket and succeeds (one request to the caller)', async function () {
      const srv = await droppingServer();
      const transport = new HttpTransport(1);
      try {
        const first = await transport.request({ method: 'GET', url: `${srv.base}/a`, headers: {}, timeoutMs: 5000 });
        assert.equal(first.status, 200);
        const second = await transport.request({ method: 'PROPFIND', url: `${srv.base}/a`, headers: { Depth: '1' }, timeoutMs: 5000 });
        assert.equal(second.status, 200);
        assert.equal(transport.staleSocketRetries, 1);
        assert.deepEqual(srv.seen, ['GET answered', 'PROPFIND dropped', 'PROPFIND answered']);
      } finally {
        transport.close();
        await srv.close();
      }
    });

    it('a PUT on it is not sent again: the caller gets the reset (the PUT may have been stored)', async function () {
      const srv = await droppingServer();
      const transport = new HttpTransport(1);
      try {
        await transport.request({ method: 'GET', url: `${srv.base}/a`, headers: {}, timeoutMs: 5000 });
        await assert.rejects(
          transport.request({ method: 'PUT', url: `${srv.base}/b.vcf`, headers: {}, body: 'BEGIN:VCARD', timeoutMs: 5000 }),
          (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || err.code === 'EPIPE',
        );
        assert.equal(transport.staleSocketRetries, 0);
        assert.deepEqual(srv.seen, ['GET answered', 'PUT dropped']);
      } finally {
        transport.close();
        await srv.close();
      }
    });
  });
});
