// The webhook transport against a loopback HTTP server: the JSON it posts, and failures as
// typed errors (the service retries them).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSan } from '../../../src/codec/san.js';
import { wapPushSegments, wspPushPdu } from '../../../src/codec/wap-push.js';
import { GatewayError } from '../../../src/errors.js';
import { WebhookTransport, type PushMessage } from '../../../src/push/transports.js';

describe('push webhook transport', function () {
  let server: Server;
  let url: string;
  let status = 200;
  let endless = false;
  let endlessOpen = false;
  const got: Array<{ auth?: string; body: Record<string, unknown> }> = [];

  before(async function () {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        got.push({ ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body: JSON.parse(text) as Record<string, unknown> });
        if (!endless) return void res.writeHead(status).end(status === 200 ? '' : status === 401 ? `token ${req.headers.authorization ?? ''} not accepted` : 'quota exceeded for +4917000001');
        // A 200 whose body never ends: the transport must let go of it, not hold the connection.
        res.writeHead(status, { 'content-type': 'text/plain' });
        endlessOpen = true;
        res.on('close', () => (endlessOpen = false));
        const chunk = 'x'.repeat(16 * 1024);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  });
  after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  const san = encodeSan({ version: 12, uiMode: 'background', initiator: 'server', sessionId: 77, serverId: 'srv', syncs: [] });
  const pdu = wspPushPdu(san);
  const msg: PushMessage = { phone: '+4917000001', account: 'alice', deviceId: 'd1', sessionId: 77, san, contentType: 'application/vnd.syncml.ds.notification', pdu, segments: wapPushSegments(pdu) };

  it('posts phone, SAN (base64 and hex), WSP PDU and SMS parts with the bearer token', async function () {
    await new WebhookTransport({ url, token: 't0k' }).send(msg);
    const { auth, body } = got.at(-1)!;
    assert.equal(auth, 'Bearer t0k');
    assert.equal(body['phone'], '+4917000001');
    assert.equal(body['wdpPort'], 2948);
    assert.deepEqual(body['san'], { base64: Buffer.from(san).toString('base64'), hex: Buffer.from(san).toString('hex').toUpperCase() });
    assert.deepEqual(body['sms'], [{ udh: '0605040B8423F0', data: Buffer.from(pdu).toString('hex').toUpperCase() }]);
  });

  it('a non-2xx answer or no server is BACKEND_UNAVAILABLE; the webhook\'s reason is in the message', async function () {
    status = 500;
    await assert.rejects(new WebhookTransport({ url }).send(msg), (e: unknown) => e instanceof GatewayError && e.code === 'BACKEND_UNAVAILABLE' && e.message === 'push webhook answered 500: quota exceeded for +4917000001');
    status = 200;
    await assert.rejects(new WebhookTransport({ url: 'http://127.0.0.1:1/x' }).send(msg), (e: unknown) => e instanceof GatewayError && e.code === 'BACKEND_UNAVAILABLE');
  });

  it('a webhook error answer that echoes the bearer token does not carry it into the error', async function () {
    status = 401;
    try {
      await assert.rejects(new WebhookTransport({ url, token: 's3cret-t0k' }).send(msg), (e: unknown) =>
        e instanceof GatewayError && e.message === 'push webhook answered 401: token Bearer [token] not accepted');
    } finally {
      status = 200;
    }
  });

  it('a 2xx answer whose body never ends: send() returns and the connection is let go at once', async function () {
    endless = true;
    try {
      await new WebhookTransport({ url }).send(msg);
      const t0 = Date.now();
      while (endlessOpen && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(endlessOpen, false, 'the webhook connection is still being read from');
    } finally {
      endless = false;
    }
  });
});
