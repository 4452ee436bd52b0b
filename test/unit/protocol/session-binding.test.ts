// The stored form of a session: a passthrough DAV password only sealed (bound to the token),
// gateway-held credentials never stored; tokens and log ids.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AccountMapping } from '../../../src/accounts/mappings.js';
import { SecretBox } from '../../../src/state/secret-box.js';
import { aliasKey, newSessionToken, openSession, sealSession, sessionLogId } from '../../../src/protocol/session-binding.js';
import { datastore, session } from './support.js';

const passthrough = { account: 'alice', auth: { mode: 'passthrough' }, datastores: [] } as unknown as AccountMapping;
const box = new SecretBox(randomBytes(32).toString('base64'));

describe('protocol/session-binding', function () {
  it('passthrough: the password is stored only sealed and opens only with the same token', function () {
    const s = session([datastore()], { dav: { username: 'alice', password: 'pw-secret' } });
    const stored = sealSession(s, passthrough, 'tok1', box);
    assert.ok(!JSON.stringify(stored).includes('pw-secret'));
    assert.ok(stored.davSealed);
    assert.deepEqual(openSession(stored, passthrough, 'tok1', box).dav, { username: 'alice', password: 'pw-secret' });
    assert.throws(() => openSession(stored, passthrough, 'tok2', box));
  });

  it('passthrough without a secret box: no password stored, and the session cannot be continued', function () {
    const s = session([datastore()], { dav: { username: 'alice', password: 'pw-secret' } });
    const stored = sealSession(s, passthrough, 'tok1', undefined);
    assert.ok(!JSON.stringify(stored).includes('pw-secret'));
    assert.throws(() => openSession(stored, passthrough, 'tok1', undefined), /authenticate again/);
  });

  it('tokens are random and long; log ids and alias keys do not contain them', function () {
    const a = newSessionToken();
    assert.equal(a.length, 24);
    assert.notEqual(a, newSessionToken());
    assert.ok(!sessionLogId(a).includes(a) && sessionLogId(a) === sessionLogId(a));
    assert.equal(aliasKey('alice', 'IMEI:1', '7'), aliasKey('alice', 'IMEI:1', '7'));
    assert.notEqual(aliasKey('alice', 'IMEI:1', '7'), aliasKey('alice', 'IMEI:1', '8'));
  });
});
