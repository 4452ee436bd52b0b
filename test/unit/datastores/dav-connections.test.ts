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
});
