// The gateway's HTTP server keeps idle keep-alive connections longer than the clients and proxies
// in front of it, so a reused connection is never one the server has just closed (which a phone
// would see as "socket hang up" on a message the gateway never read).
import assert from 'node:assert/strict';
import http, { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../../src/http/listen.js';

describe('http: keep-alive', function () {
  this.timeout(20_000);

  it('a connection idle for 6 s (past Node\'s default 5 s) is still served, on the same socket', async function () {
    const sockets = new Set<unknown>();
    const server = createHttpServer((req, res) => {
      sockets.add(req.socket);
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<string> => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    try {
      assert.equal(await get(), 'ok');
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal(await get(), 'ok');
      assert.equal(sockets.size, 1, 'the idle connection was kept and reused');
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
