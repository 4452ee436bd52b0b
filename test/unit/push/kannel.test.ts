// The Kannel sendsms transport against a loopback HTTP server: one request per SMS part, Kannel's
// error answers as typed errors, and a reply that never ends is cut at a few KB, not read on.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSan } from '../../../src/codec/san.js';
import { wapPushSegments, wspPushPdu } from '../../../src/codec/wap-push.js';
import { isGatewayError } from '../../../src/errors.js';
import { KannelTransport, type PushMessage } from '../../../src/push/transports.js';

describe('push Kannel transport', function () {
  let server: Server;
  let url: string;
  let answer: 'accepted' | 'error' | 'endless' = 'accepted';
  const seen: URL[] = [];

  before(async function () {
    server = createServer((req, res) => {
      seen.push(new URL(req.url!, 'http://x'));
      if (answer === 'accepted') return void res.writeHead(202).end('0: Accepted for delivery');
      if (answer === 'error') return void res.writeHead(403).end('Authorization failed for sendsms');
      res.writeHead(202, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(16 * 1024);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cgi-bin/sendsms`;
  });
  after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  const san = encodeSan({ version: 12, uiMode: 'background', initiator: 'server', sessionId: 77, serverId: 'srv', syncs: [] });
  const pdu = wspPushPdu(san);
  const msg: PushMessage = { phone: '+4917000001', account: 'alice', deviceId: 'd1', sessionId: 77, san, contentType: 'application/vnd.syncml.ds.notification', pdu, segments: wapPushSegments(pdu) };
  const kannel = (): KannelTransport => new KannelTransport({ url, username: 'u', password: 'p' }, 5_000);

  it('sends each SMS part as one sendsms request with its UDH', async function () {
    answer = 'accepted';
    seen.length = 0;
    await kannel().send(msg);
    assert.equal(seen.length, msg.segments.length);
    assert.equal(seen[0]!.searchParams.get('to'), '+4917000001');
    const udh = Array.from(msg.segments[0]!.udh, (b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
    assert.ok(seen[0]!.search.includes(`udh=${udh}&`), seen[0]!.search);
  });

  it("fails with Kannel's answer when it refuses", async function () {
    answer = 'error';
    await assert.rejects(kannel().send(msg), (err: unknown) => isGatewayError(err, 'BACKEND_UNAVAILABLE') && /403: Authorization failed/.test(err.message));
  });

  it('stops reading a reply that never ends (BACKEND_RESPONSE_TOO_LARGE, well before the timeout)', async function () {
    answer = 'endless';
    const t0 = Date.now();
    await assert.rejects(kannel().send(msg), (err: unknown) => isGatewayError(err, 'BACKEND_RESPONSE_TOO_LARGE'));
    assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
  });
});
