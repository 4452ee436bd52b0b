// Account mapping validation: every error names the file, the field and the problem; ${ENV}
// secrets are resolved and a missing one is an error; datastore options get their defaults.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AccountRegistry, normaliseUri, parseMapping } from '../../../src/accounts/mappings.js';
import { loadSettings } from '../../../src/config.js';
import { isGatewayError } from '../../../src/errors.js';

const base = (extra = ''): string => [
  'account: alice', 'auth: passthrough', 'dav:', '  url: http://127.0.0.1:5232/', 'datastores:', '  contacts:',
  '    uris: [contacts, ./Contacts]', '    collection: http://127.0.0.1:5232/alice/contacts/', extra,
].join('\n');

function configError(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseMapping(text, 'mappings/alice.yaml', env);
  } catch (err) {
    assert.ok(isGatewayError(err, 'CONFIG_INVALID'), String(err));
    return (err as Error).message;
  }
  assert.fail('expected a configuration error');
}

describe('account mappings', function () {
  it('parses the minimal mapping with defaults for the datastore options', function () {
    const m = parseMapping(base(), 'alice.yaml', {});
    assert.equal(m.account, 'alice');
    assert.deepEqual(m.auth, { mode: 'passthrough' });
    const ds = m.datastores[0]!;
    assert.equal(ds.kind, 'contacts');
    assert.equal(ds.conflict, 'newer-wins');
    assert.deepEqual(ds.refreshGuard, { maxShare: 0.5, allow: false });
  });

  it('names file, field and problem', function () {
    assert.match(configError(base().replace('url: http://127.0.0.1:5232/', 'url: not a url')), /mappings\/alice\.yaml: field dav\.url: .*URL/i);
    assert.match(configError(base().replace('uris: [contacts, ./Contacts]', 'uris: []')), /field datastores\.contacts\.uris/);
    assert.match(configError(base('    conflict: whoever-shouts')), /field datastores\.contacts\.conflict/);
    assert.match(configError(base('    colection: typo')), /colection|Unrecognized/i);
    assert.match(configError('account: [1, 2'), /not valid YAML/);
  });

  it('resolves ${ENV} secrets and refuses a missing one, without printing any value', function () {
    const text = ['account: bob', 'auth:', '  md5: ${BOB_SECRET}', 'dav:', '  url: http://127.0.0.1:5232/', '  username: bob', '  password: ${BOB_DAV}',
      'datastores:', '  contacts:', '    uris: [contacts]', '    collection: http://127.0.0.1:5232/bob/contacts/'].join('\n');
    const m = parseMapping(text, 'bob.yaml', { BOB_SECRET: 's3cret', BOB_DAV: 'dav-pw' });
    assert.deepEqual(m.auth, { mode: 'secret', md5: 's3cret' });
    assert.equal(m.dav.password, 'dav-pw');
    const msg = configError(text, { BOB_SECRET: 's3cret' });
    assert.match(msg, /BOB_DAV is not set/);
    assert.doesNotMatch(msg, /s3cret/);
  });

  it('refuses two datastores claiming the same phone URI, and two files for one account', function () {
    const text = base() + '\n  other:\n    uris: [CONTACTS]\n    collection: http://127.0.0.1:5232/alice/other/\n';
    assert.match(configError(text), /"CONTACTS" is also used by datastore contacts/);
    const dir = mkdtempSync(path.join(tmpdir(), 'mappings-'));
    writeFileSync(path.join(dir, 'a.yaml'), base());
    writeFileSync(path.join(dir, 'b.yaml'), base());
    assert.throws(() => AccountRegistry.loadDir(dir, {}), /account alice is already defined/);
  });

  it('finds datastores the way phones name them (case, ./, slashes, filter suffix)', function () {
    const reg = new AccountRegistry([parseMapping(base(), 'alice.yaml', {})]);
    const m = reg.get('ALICE')!;
    for (const uri of ['contacts', './contacts', 'Contacts/', '/CONTACTS', 'contacts?/dr(-30,90)']) {
      assert.equal(AccountRegistry.findDatastore(m, uri)?.name, 'contacts', uri);
    }
    assert.equal(AccountRegistry.findDatastore(m, 'calendar'), undefined);
    assert.equal(normaliseUri(' ./Card/ '), 'card');
  });

  it('settings: defaults from config/defaults.yaml, environment wins, a bad value names the variable', function () {
    const s = loadSettings({});
    assert.equal(s.port, 8080);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.syncmlPath, '/sync');
    assert.equal(loadSettings({ PORT: '9999', SYNCML_PATH: '/syncml' }).port, 9999);
    assert.throws(() => loadSettings({ PORT: 'eighty' }), /setting port \(env PORT\)/);
    assert.throws(() => loadSettings({ DEVICE_TIMEZONE: 'Mars/Olympus' }), /DEVICE_TIMEZONE/);
  });
});
