import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { KEY_FILE_NAME, loadSecretBox, SecretBox } from '../../../src/state/secret-box.js';

describe('state: SecretBox (AES-256-GCM)', function () {
  const box = new SecretBox(randomBytes(32).toString('base64'));

  it('seals and opens; the sealed text contains neither the value nor its base64', function () {
    const secret = 'p@ss-wörd-1234';
    const sealed = box.seal(secret, 'dav:abc');
    assert.equal(box.open(sealed, 'dav:abc'), secret);
    assert.ok(!sealed.includes(secret) && !sealed.includes(Buffer.from(secret).toString('base64')));
    assert.notEqual(box.seal(secret, 'dav:abc'), sealed, 'a fresh IV each time');
  });

  it('refuses another purpose, a tampered value and another key', function () {
    const sealed = box.seal('x', 'dav:one');
    const fails = (f: () => unknown): void => assert.throws(f, (e: unknown) => isGatewayError(e, 'STATE_FAILED'));
    fails(() => box.open(sealed, 'dav:two'));
    const parts = sealed.split('.');
    parts[2] = Buffer.from('y').toString('base64url');
    fails(() => box.open(parts.join('.'), 'dav:one'));
    fails(() => new SecretBox(randomBytes(32).toString('hex')).open(sealed, 'dav:one'));
    fails(() => box.open('garbage', 'dav:one'));
  });

  it('accepts hex, base64 or a long passphrase; refuses a short one', function () {
    for (const k of [randomBytes(32).toString('hex'), randomBytes(32).toString('base64'), 'a passphrase of some length']) {
      const b = new SecretBox(k);
      assert.equal(b.open(b.seal('v', 'p'), 'p'), 'v');
    }
    assert.throws(() => new SecretBox('short'), (e: unknown) => isGatewayError(e, 'CONFIG_INVALID'));
  });

  it('Redis mode refuses to start without STATE_SECRET; the embedded store makes a 0600 key file once', function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'secret-box-'));
    assert.throws(() => loadSecretBox({ redis: true, stateDir: dir }), /STATE_SECRET must be set/);
    const a = loadSecretBox({ redis: false, stateDir: dir });
    const file = path.join(dir, KEY_FILE_NAME);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const key = readFileSync(file, 'utf8');
    const b = loadSecretBox({ redis: false, stateDir: dir });
    assert.equal(readFileSync(file, 'utf8'), key, 'the key is kept');
    assert.equal(b.open(a.seal('v', 'p'), 'p'), 'v');
  });
});
