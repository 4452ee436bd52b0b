// OAuth2 access tokens kept in the state store: shared by every gateway process, expiring with
// their lifetime.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tokenStoreOn } from '../../../src/main.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';

describe('OAuth2 token store on the state store', function () {
  it('two processes (two store handles on one file) see the same token; it expires with its TTL', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokens-'));
    const a = new SqliteStateStore({ stateDir: dir });
    const b = new SqliteStateStore({ stateDir: dir });
    try {
      await tokenStoreOn(a).set('google:alice', '{"access_token":"t1"}', 1);
      assert.equal(await tokenStoreOn(b).get('google:alice'), '{"access_token":"t1"}');
      assert.equal(await tokenStoreOn(b).get('google:bob'), undefined);
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(await tokenStoreOn(b).get('google:alice'), undefined, 'expired');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
