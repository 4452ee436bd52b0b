// `syncml-gateway oauth google` end to end against a local fake authorization server: consent
// URL with PKCE and state, loopback redirect, code exchange, YAML snippet, and the refresh
// token it printed actually works with OAuth2TokenSource.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { runOAuth } from '../../../src/cli/oauth.js';
import { OAuth2TokenSource } from '../../../src/datastores/index.js';
import { isGatewayError } from '../../../src/errors.js';
import { startFakeOAuth } from '../datastores/fake-oauth-server.js';
import type { FakeOAuth } from '../datastores/fake-oauth-server.js';

async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('syncml-gateway oauth google', () => {
  let fake: FakeOAuth;
  beforeEach(async () => {
    fake = await startFakeOAuth();
  });
  afterEach(() => fake.close());

  const run = (lines: string[], extra: string[] = []): Promise<void> =>
    runOAuth(['google', '--auth-url', fake.authUrl, '--token-url', fake.tokenUrl, '--timeout', '10', ...extra], {
      out: (l) => lines.push(l),
      env: { GOOGLE_CLIENT_ID: fake.clientId, GOOGLE_CLIENT_SECRET: fake.clientSecret },
    });

  it('prints the consent URL, takes the redirect, exchanges the code and prints the snippet', async () => {
    const lines: string[] = [];
    const done = run(lines);
    const consent = new URL(await waitFor(() => lines.find((l) => l.startsWith(fake.authUrl))));
    const q = consent.searchParams;
    assert.equal(q.get('client_id'), fake.clientId);
    assert.equal(q.get('access_type'), 'offline');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(q.get('scope')!, /auth\/carddav .*auth\/calendar/);
    assert.ok(!consent.toString().includes(fake.clientSecret), 'the secret never goes into the URL');
    // A forged redirect with the wrong state is refused and the flow keeps waiting.
    const forged = await fetch(`${q.get('redirect_uri')}?code=evil&state=wrong`);
    assert.equal(forged.status, 400);
    // The "browser": the fake server consents and redirects to the loopback listener.
    const page = await fetch(consent);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Authorization received/);
    await done;
    const out = lines.join('\n');
    assert.match(out, /provider: google/);
    assert.match(out, /clientSecret: \$\{GOOGLE_CLIENT_SECRET\}/);
    assert.match(out, new RegExp(`tokenUrl: ${fake.tokenUrl}`));
    const refresh = /^GOOGLE_REFRESH_TOKEN=(\S+)$/m.exec(out)?.[1];
    assert.ok(refresh);
    assert.equal(fake.calls.authorization_code, 1);
    const src = new OAuth2TokenSource({ clientId: fake.clientId, clientSecret: fake.clientSecret, refreshToken: refresh, tokenUrl: fake.tokenUrl });
    assert.ok(fake.valid(await src.getToken()));
  });

  it('an error redirect (user said no) -> AUTH_FAILED; missing client id -> CONFIG_INVALID', async () => {
    const lines: string[] = [];
    const done = run(lines);
    done.catch(() => undefined); // checked below; avoids an unhandled-rejection warning
    const consent = new URL(await waitFor(() => lines.find((l) => l.startsWith(fake.authUrl))));
    const back = `${consent.searchParams.get('redirect_uri')}?error=access_denied&state=${consent.searchParams.get('state')}`;
    await (await fetch(back)).text();
    await assert.rejects(done, (e: unknown) => isGatewayError(e, 'AUTH_FAILED') && /access_denied/.test(e.message));
    await assert.rejects(runOAuth(['google'], { env: {}, out: () => undefined }), (e: unknown) => isGatewayError(e, 'CONFIG_INVALID'));
  });
});
