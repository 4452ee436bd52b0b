// OAuth2TokenSource against a real loopback token endpoint: caching, refresh before expiry,
// one refresh for concurrent callers, persistence through a TokenStore, revocation, and a
// DavStore using it (Bearer header; a 401 makes it fetch a new token once).
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore, OAuth2TokenSource } from '../../../src/datastores/index.js';
import type { TokenStore } from '../../../src/datastores/index.js';
import { startFakeOAuth } from './fake-oauth-server.js';
import type { FakeOAuth } from './fake-oauth-server.js';

function memoryStore(): TokenStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, get: async (k) => data.get(k), set: async (k, v) => void data.set(k, v) };
}

describe('OAuth2TokenSource', () => {
  let fake: FakeOAuth;
  beforeEach(async () => {
    fake = await startFakeOAuth();
  });
  afterEach(() => fake.close());

  const source = (refreshToken: string, over: ConstructorParameters<typeof OAuth2TokenSource>[1] = {}): OAuth2TokenSource =>
    new OAuth2TokenSource({ clientId: fake.clientId, clientSecret: fake.clientSecret, refreshToken, tokenUrl: fake.tokenUrl }, over);

  it('refreshes once, caches, and shares one refresh between concurrent callers', async () => {
    const src = source(fake.issueRefreshToken());
    const tokens = await Promise.all([src.getToken(), src.getToken(), src.getToken()]);
    assert.equal(new Set(tokens).size, 1);
    assert.ok(fake.valid(tokens[0]));
    assert.equal(await src.getToken(), tokens[0]);
    assert.equal(fake.calls.refresh_token, 1);
  });

  it('refreshes before expiry (skew) and not before', async () => {
    let now = Date.now();
    const src = source(fake.issueRefreshToken(), { now: () => now, skewSeconds: 60 });
    const first = await src.getToken();
    now += (3600 - 61) * 1000;
    assert.equal(await src.getToken(), first, 'still 61 s left: cached');
    now += 2000;
    const second = await src.getToken();
    assert.notEqual(second, first, 'within the skew: refreshed');
    assert.equal(fake.calls.refresh_token, 2);
  });

  it('persists the access token: a second source (another process) does not refresh', async () => {
    const rt = fake.issueRefreshToken();
    const store = memoryStore();
    const a = source(rt, { store });
    const t = await a.getToken();
    assert.equal(store.data.size, 1);
    const [key, value] = [...store.data][0];
    assert.ok(!key.includes(rt), 'the store key does not reveal the refresh token');
    assert.ok(!value.includes(rt));
    const b = source(rt, { store });
    assert.equal(await b.getToken(), t);
    assert.equal(fake.calls.refresh_token, 1);
    b.invalidate();
    assert.notEqual(await b.getToken(), t, 'after invalidate() the stored copy is not trusted');
    assert.equal(fake.calls.refresh_token, 2);
  });

  it('a revoked refresh token -> AUTH_FAILED telling the admin what to do', async () => {
    const rt = fake.issueRefreshToken();
    fake.revoke(rt);
    const src = source(rt, { label: 'mappings/bob.yaml' });
    await assert.rejects(src.getToken(), (err: unknown) => {
      assert.ok(isGatewayError(err, 'AUTH_FAILED'));
      assert.match(err.message, /revoked or has expired \(invalid_grant/);
      assert.match(err.message, /syncml-gateway oauth google/);
      assert.match(err.message, /mappings\/bob\.yaml/);
      assert.ok(!err.message.includes(rt), 'never shows the refresh token');
      assert.ok(!err.message.includes(fake.clientSecret));
      return true;
    });
  });

  it('a wrong client secret -> AUTH_FAILED; a 503 token endpoint -> BACKEND_UNAVAILABLE', async () => {
    const bad = new OAuth2TokenSource({ clientId: fake.clientId, clientSecret: 'nope', refreshToken: fake.issueRefreshToken(), tokenUrl: fake.tokenUrl });
    await assert.rejects(bad.getToken(), (e: unknown) => isGatewayError(e, 'AUTH_FAILED') && /invalid_client/.test(e.message));
    fake.failWith = 503;
    await assert.rejects(source(fake.issueRefreshToken()).getToken(), (e: unknown) => isGatewayError(e, 'BACKEND_UNAVAILABLE'));
  });

  it('DavStore with a token source: Bearer header, and a 401 gets one fresh token and a retry', async () => {
    const src = source(fake.issueRefreshToken());
    const seen: string[] = [];
    let reject = true;
    const dav = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      req.resume();
      req.on('end', () => {
        const tok = String(req.headers.authorization).replace(/^Bearer /, '');
        if (reject || !fake.valid(tok)) {
          reject = false; // the first token "was revoked" server-side
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
          return;
        }
        res.writeHead(207, { 'Content-Type': 'application/xml' }).end(
          '<d:multistatus xmlns:d="DAV:"><d:response><d:href>/c/</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>',
        );
      });
    });
    await new Promise<void>((r) => dav.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(dav.address() as AddressInfo).port}/c/`;
      const store = createDavStore({ kind: 'contacts', collectionUrl: url, credentials: { tokenSource: src } });
      const l = await store.list();
      assert.deepEqual(l.items, []);
      assert.equal(seen.length, 2);
      assert.match(seen[0], /^Bearer ya29\./);
      assert.notEqual(seen[0], seen[1], 'the retry carries a new token');
      assert.equal(fake.calls.refresh_token, 2);
      // A server that keeps refusing: one retry, then AUTH_FAILED (no loop).
      const stubborn = createServer((_q, r) => r.writeHead(401).end());
      await new Promise<void>((r) => stubborn.listen(0, '127.0.0.1', r));
      const s2 = createDavStore({ kind: 'contacts', collectionUrl: `http://127.0.0.1:${(stubborn.address() as AddressInfo).port}/c/`, credentials: { tokenSource: src } });
      await assert.rejects(s2.list(), (e: unknown) => isGatewayError(e, 'AUTH_FAILED'));
      assert.equal(s2.client.requestCount, 2);
      stubborn.closeAllConnections();
      stubborn.close();
    } finally {
      dav.closeAllConnections();
      dav.close();
    }
  });
});
