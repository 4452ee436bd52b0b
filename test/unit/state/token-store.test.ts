// OAuth2 access tokens kept in the state store: shared by every gateway process, expiring with
// their lifetime, and sealed at rest (a bearer token is as good as a password).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tokenStoreOn } from '../../../src/main.js';
import { SecretBox } from '../../../src/state/secret-box.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';

const box = new SecretBox('a test passphrase of enough length');

describe('OAuth2 token store on the state store', function () {
  it('two processes (two store handles on one file) see the same token; it expires with its TTL', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokens-'));
    const a = new SqliteStateStore({ stateDir: dir });
    const b = new SqliteStateStore({ stateDir: dir });
    try {
      await tokenStoreOn(a, box).set('google:alice', '{"access_token":"t1"}', 1);
      assert.equal(await tokenStoreOn(b, box).get('google:alice'), '{"access_token":"t1"}');
      assert.equal(await tokenStoreOn(b, box).get('google:bob'), undefined);
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(await tokenStoreOn(b, box).get('google:alice'), undefined, 'expired');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps no access token in clear on disk; a value sealed under another key or name reads as missing', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokens-'));
    const store = new SqliteStateStore({ stateDir: dir });
    const token = 'ya29.SECRET-ACCESS-TOKEN-VALUE';
    try {
      await tokenStoreOn(store, box).set('google:alice', JSON.stringify({ accessToken: token }), 600);
      const raw = await store.getSession<string>('oauth2:google:alice');
      assert.ok(raw && !raw.includes(token), 'stored sealed');
      await store.close();
      for (const f of readdirSync(dir)) {
        const bytes = readFileSync(path.join(dir, f));
        assert.ok(!bytes.includes(Buffer.from(token)), `${f} holds the token in clear`);
        assert.ok(!bytes.includes(Buffer.from(Buffer.from(token).toString('base64'))), `${f} holds the token in base64`);
      }
      const again = new SqliteStateStore({ stateDir: dir });
      try {
        assert.equal(await tokenStoreOn(again, new SecretBox('another passphrase, other key')).get('google:alice'), undefined);
        // A sealed value moved under another account's name does not open there.
        await again.putSession('oauth2:google:bob', await again.getSession<string>('oauth2:google:alice'), 600);
        assert.equal(await tokenStoreOn(again, box).get('google:bob'), undefined);
        assert.equal(JSON.parse((await tokenStoreOn(again, box).get('google:alice'))!).accessToken, token);
      } finally {
        await again.close();
      }
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  });
});
