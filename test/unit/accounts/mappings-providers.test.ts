// Mapping schema additions (collection names/paths/lists, createIn, provider, oauth2) and the
// provider profiles in config/providers: loading, detection, start-up validation.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { needsDiscovery, parseMapping } from '../../../src/accounts/mappings.js';
import {
  DEFAULT_PROVIDERS_DIR, discoveryRoots, loadProviderProfiles, providerFor, validateAccountProvider, validateAccountProviders,
} from '../../../src/accounts/providers.js';
import { matchCollection, resolveCollections, resolvePaths } from '../../../src/accounts/resolve.js';

const yaml = (dav: string, datastores: string): string => `account: bob\nauth: { basic: pw }\ndav:\n${dav}\ndatastores:\n${datastores}\n`;
const BASIC = '  url: https://dav.example/\n  username: bob\n  password: x';

function configError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isGatewayError(e, 'CONFIG_INVALID') && re.test(e.message));
}

describe('account mappings: collections and providers', () => {
  it('the shipped example still parses; a single URL keeps `collection`', () => {
    const file = path.resolve('mappings/example.yaml');
    const m = parseMapping(readFileSync(file, 'utf8'), file);
    assert.equal(m.datastores[0].collection, 'http://127.0.0.1:5232/alice/contacts/');
    assert.deepEqual(m.datastores[0].collections, ['http://127.0.0.1:5232/alice/contacts/']);
    assert.equal(m.datastores[0].createIn, 0);
    assert.equal(needsDiscovery(m), false);
  });

  it('collection may be a name, a /path or a list; createIn picks the target of creates', () => {
    const m = parseMapping(yaml(BASIC, [
      '  contacts:', '    uris: [contacts]', '    collection: [Personal, /bob/work/]', '    createIn: /bob/work/',
      '  calendar:', '    uris: [calendar]', '    collection: Family Calendar',
    ].join('\n')), 'bob.yaml');
    const c = m.datastores[0];
    assert.deepEqual(c.collections, ['Personal', '/bob/work/']);
    assert.equal(c.createIn, 1);
    assert.equal(c.collection, '/bob/work/');
    assert.equal(needsDiscovery(m), true);
    const p = resolvePaths(m);
    assert.deepEqual(p.datastores[0].collections, ['Personal', 'https://dav.example/bob/work/']);
    assert.equal(p.datastores[0].collection, 'https://dav.example/bob/work/');
  });

  it('rejects a createIn outside the list, duplicates and non-http URLs', () => {
    configError(() => parseMapping(yaml(BASIC, '  contacts:\n    uris: [c]\n    collection: [A, B]\n    createIn: C'), 'f.yaml'), /createIn: "C" is not one/);
    configError(() => parseMapping(yaml(BASIC, '  contacts:\n    uris: [c]\n    collection: [A, A]'), 'f.yaml'), /listed twice/);
    configError(() => parseMapping(yaml(BASIC, '  contacts:\n    uris: [c]\n    collection: ftp://x/y'), 'f.yaml'), /collection/);
  });

  it('dav.provider and dav.oauth2 (secrets from the environment)', () => {
    const m = parseMapping(yaml(
      '  url: https://www.googleapis.com/.well-known/carddav\n  provider: google\n  oauth2:\n    clientId: cid\n    clientSecret: ${GSECRET}\n    refreshToken: ${GREFRESH}',
      '  contacts:\n    uris: [c]\n    collection: Contacts',
    ), 'g.yaml', { GSECRET: 's', GREFRESH: 'r' });
    assert.deepEqual(m.dav.oauth2, { clientId: 'cid', clientSecret: 's', refreshToken: 'r' });
    assert.equal(m.dav.provider, 'google');
    configError(() => parseMapping(yaml(`${BASIC}\n  provider: icloud`, '  c:\n    uris: [c]\n    collection: C'), 'f.yaml'), /dav\.provider/);
  });
});

describe('provider profiles', () => {
  const profiles = loadProviderProfiles(DEFAULT_PROVIDERS_DIR);

  it('loads the four shipped profiles with their quirks', () => {
    assert.deepEqual([...profiles.keys()].sort(), ['generic', 'google', 'nextcloud', 'radicale']);
    const g = profiles.get('google')!;
    assert.equal(g.quirks.ifNoneMatchOnCreate, false);
    assert.equal(g.quirks.bumpSequenceOnUpdate, true);
    assert.equal(g.quirks.advanceDtstampOnUpdate, true);
    assert.ok(!g.kinds.includes('tasks'));
    assert.equal(profiles.get('nextcloud')!.quirks.refetchEtagAfterPut, true);
    assert.deepEqual(profiles.get('nextcloud')!.vcard, { version: '3.0', quotedPrintable: false, base64: false });
    assert.equal(profiles.get('generic')!.quirks.ifNoneMatchOnCreate, true);
  });

  it('detects the provider from dav.url unless the mapping names one', () => {
    const at = (url: string, provider?: 'generic' | 'radicale'): string => providerFor({ dav: { url, provider } }, profiles).name;
    assert.equal(at('https://apidata.googleusercontent.com/caldav/v2/'), 'google');
    assert.equal(at('https://cloud.example/remote.php/dav/'), 'nextcloud');
    assert.equal(at('http://127.0.0.1:5232/'), 'generic', 'never guessed from the port');
    assert.equal(at('http://127.0.0.1:5232/', 'radicale'), 'radicale');
    assert.equal(at('https://dav.example/'), 'generic');
    assert.equal(at('https://cloud.example/remote.php/dav/', 'generic'), 'generic');
    assert.deepEqual(discoveryRoots({ dav: { url: 'https://cloud.example/' } }, profiles.get('nextcloud')!), ['https://cloud.example/remote.php/dav/']);
  });

  it('a tasks datastore mapped to Google is refused at start-up with a clear message', () => {
    const m = parseMapping(yaml(
      '  url: https://apidata.googleusercontent.com/caldav/v2/\n  oauth2: { clientId: c, clientSecret: s, refreshToken: r }',
      '  calendar:\n    uris: [cal]\n    collection: Events\n  tasks:\n    uris: [tasks]\n    collection: Tasks',
    ), 'mappings/g.yaml');
    configError(() => validateAccountProviders([m], profiles), /mappings\/g\.yaml: datastore tasks \(tasks\) cannot be mapped to provider google: Google CalDAV has no tasks/);
    const noOauth = parseMapping(yaml(`  url: https://www.googleapis.com/x/\n  username: u\n  password: p`, '  contacts:\n    uris: [c]\n    collection: C'), 'h.yaml');
    configError(() => validateAccountProvider(noOauth, profiles), /needs dav\.oauth2/);
  });

  it('bad profile files fail with file and field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'providers-'));
    try {
      writeFileSync(path.join(dir, 'generic.yaml'), 'name: generic\nkinds: [contacts]\nauth: [basic]\nquirks: { ifNoneMatchOnCreate: yes }\n');
      configError(() => loadProviderProfiles(dir), /generic\.yaml: field quirks/);
      rmSync(path.join(dir, 'generic.yaml'));
      configError(() => loadProviderProfiles(dir), /no generic\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('collection names -> discovered collections', () => {
  const found = {
    principal: 'http://d/alice/',
    collections: [
      { url: 'http://d/alice/contacts/', kind: 'addressbook' as const, displayName: 'Contacts' },
      { url: 'http://d/alice/work%20book/', kind: 'addressbook' as const, displayName: 'Work' },
      { url: 'http://d/alice/cal/', kind: 'calendar' as const, displayName: 'Home', components: ['VEVENT'] },
      { url: 'http://d/alice/todo/', kind: 'calendar' as const, displayName: 'Home', components: ['VTODO'] },
    ],
  };
  it('matches display name or last segment, by kind and component', () => {
    assert.equal(matchCollection('contacts', 'contacts', found, 'x').url, 'http://d/alice/contacts/');
    assert.equal(matchCollection('work book', 'contacts', found, 'x').url, 'http://d/alice/work%20book/');
    assert.equal(matchCollection('Home', 'events', found, 'x').url, 'http://d/alice/cal/');
    assert.equal(matchCollection('Home', 'tasks', found, 'x').url, 'http://d/alice/todo/');
    configError(() => matchCollection('Nope', 'contacts', found, 'f.yaml: c'), /f\.yaml: c: no addressbook named "Nope".*available: "Contacts"/);
    configError(() => matchCollection('cal', 'tasks', found, 'x'), /does not accept VTODO/);
  });
  it('resolveCollections without names needs no credentials and no request', async () => {
    const m = parseMapping(yaml(BASIC, '  contacts:\n    uris: [c]\n    collection: /bob/c/'), 'f.yaml');
    const r = await resolveCollections(m, undefined);
    assert.equal(r.datastores[0].collection, 'https://dav.example/bob/c/');
    const named = parseMapping(yaml(BASIC, '  contacts:\n    uris: [c]\n    collection: Contacts'), 'f.yaml');
    await assert.rejects(resolveCollections(named, undefined), /need DAV credentials/);
  });
});
