// Discovery, name resolution, `accounts probe` and MultiCollectionStore against real Radicale
// and Xandikos servers on loopback.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AccountStores } from '../../../src/composition/account-stores.js';
import { parseMapping } from '../../../src/accounts/mappings.js';
import { loadProviderProfiles } from '../../../src/accounts/providers.js';
import { CollectionResolver, resolveCollections } from '../../../src/accounts/resolve.js';
import { runAccounts } from '../../../src/cli/accounts.js';
import { createDavStore, discoverAccount, MultiCollectionStore } from '../../../src/datastores/index.js';
import type { DavRequestEvent } from '../../../src/datastores/index.js';
import { isGatewayError } from '../../../src/errors.js';
import { startRadicale, startXandikos } from '../../support/dav-servers.js';
import type { DavServerHandle } from '../../support/dav-servers.js';

const vcard = (uid: string): string => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${uid}\r\nN:${uid};;;;\r\nEND:VCARD\r\n`;

for (const [name, start] of [['Radicale', startRadicale], ['Xandikos', startXandikos]] as const) {
  describe(`DAV discovery: ${name}`, function () {
    this.timeout(60_000);
    let server: DavServerHandle;
    before(async () => {
      server = await start();
    });
    after(() => server?.dispose());

    it('finds principal, homes and the three collections with kinds, components and sync support', async () => {
      const events: DavRequestEvent[] = [];
      const r = await discoverAccount(server.baseUrl, { username: server.user, password: server.password }, { onRequest: (e) => events.push(e) });
      assert.equal(r.principal, `${server.baseUrl}/${server.user}/`);
      assert.ok(r.addressbookHome && r.calendarHome);
      const byUrl = new Map(r.collections.map((c) => [c.url, c]));
      assert.equal(byUrl.get(server.collections.contacts)?.kind, 'addressbook');
      assert.equal(byUrl.get(server.collections.calendar)?.kind, 'calendar');
      assert.ok(byUrl.get(server.collections.tasks)?.components?.includes('VTODO'));
      assert.ok(r.collections.every((c) => c.syncToken === true), 'both servers offer sync-collection');
      if (name === 'Radicale') assert.deepEqual(byUrl.get(server.collections.calendar)?.components, ['VEVENT']);
      // 2 well-known probes + root + principal + 1 PROPFIND per distinct home.
      assert.ok(events.length <= 6, `${events.length} requests`);
    });

    it('resolves collection names of a mapping (display name or last segment)', async () => {
      const m = parseMapping([
        'account: alice', 'auth: passthrough', `dav: { url: "${server.baseUrl}/" }`, 'datastores:',
        `  contacts: { uris: [contacts], collection: ${name === 'Radicale' ? 'Contacts' : 'addressbook'} }`,
        '  tasks: { uris: [tasks], collection: Tasks }',
      ].join('\n'), 'alice.yaml');
      const r = await resolveCollections(m, { username: server.user, password: server.password });
      assert.equal(r.datastores[0].collection, server.collections.contacts);
      assert.equal(r.datastores[1].collection, server.collections.tasks);
    });

    if (name === 'Radicale') {
      it('wrong password -> AUTH_FAILED', async () => {
        await assert.rejects(discoverAccount(server.baseUrl, { username: server.user, password: 'wrong' }), (e: unknown) => isGatewayError(e, 'AUTH_FAILED'));
      });
    }
  });
}

describe('accounts probe / check, AccountStores and MultiCollectionStore on Radicale', function () {
  this.timeout(60_000);
  let server: DavServerHandle;
  let dir: string;
  before(async () => {
    server = await startRadicale();
    const res = await server.request('MKCOL', `${server.baseUrl}/alice/work/`, {
      headers: { 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work Contacts</D:displayname></D:prop></D:set></D:mkcol>',
    });
    assert.equal(res.status, 201);
    dir = mkdtempSync(path.join(tmpdir(), 'mappings-'));
    writeFileSync(path.join(dir, 'alice.yaml'), [
      'account: alice', 'auth: passthrough', `dav: { url: "${server.baseUrl}/", provider: radicale }`, 'datastores:',
      '  contacts: { uris: [contacts], collection: [Contacts, Work Contacts], createIn: Work Contacts }',
      '  calendar: { uris: [calendar], collection: /alice/calendar/ }',
    ].join('\n'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server?.dispose();
  });

  it('probe prints principal, homes and every collection with kind, components and sync support', async () => {
    const lines: string[] = [];
    await runAccounts(['probe', 'alice', '--mappings', dir], { out: (l) => lines.push(l), env: { DAV_PASSWORD: server.password } });
    const out = lines.join('\n');
    assert.match(out, new RegExp(`principal +${server.baseUrl}/alice/`));
    assert.match(out, /provider +radicale/);
    assert.match(out, /Work Contacts +addressbook +- +yes/);
    assert.match(out, /Calendar +calendar +VEVENT +yes/);
    assert.match(out, /Tasks +calendar +VTODO +yes/);
    assert.match(out, new RegExp(`contacts \\(contacts\\): Contacts -> ${server.collections.contacts}; Work Contacts -> ${server.baseUrl}/alice/work/`));
    assert.ok(!out.includes(server.password), 'the password is never printed');
    await assert.rejects(
      runAccounts(['probe', 'alice', '--mappings', dir], { out: () => undefined, env: { DAV_PASSWORD: 'wrong' } }),
      (e: unknown) => isGatewayError(e, 'AUTH_FAILED'),
    );
  });

  it('check validates the mappings and names the provider', async () => {
    const lines: string[] = [];
    await runAccounts(['check', '--mappings', dir], { out: (l) => lines.push(l), env: {} });
    assert.match(lines[0], /^alice\t.*alice\.yaml\tradicale\tcontacts\(contacts\) -> Contacts \+ Work Contacts/);
  });

  it('AccountStores opens a lazily resolved store over both address books; creates go to createIn', async () => {
    const mapping = parseMapping((await import('node:fs')).readFileSync(path.join(dir, 'alice.yaml'), 'utf8'), 'alice.yaml');
    const events: DavRequestEvent[] = [];
    const resolver = new CollectionResolver({ onRequest: (e) => events.push(e) });
    const stores = new AccountStores({ profiles: loadProviderProfiles(), resolver });
    const creds = { username: server.user, password: server.password };
    await server.putItem('contacts', 'home-1.vcf', vcard('home-1'));
    const store = stores.open(mapping, mapping.datastores[0], creds);
    assert.equal(store.collectionUrl, `${server.baseUrl}/`, 'before resolution: the dav url');
    const created = await store.create(vcard('new-1'), 'new-1');
    assert.equal(created.href, '/alice/work/new-1.vcf');
    assert.equal(store.collectionUrl, `${server.baseUrl}/alice/work/`);
    const listing = await store.list();
    assert.deepEqual(listing.items.map((i) => i.href).sort(), ['/alice/contacts/home-1.vcf', '/alice/work/new-1.vcf']);
    const discoveryRequests = events.length;
    // A second session of the same user reuses the cached resolution: no discovery requests.
    const again = stores.open(mapping, mapping.datastores[0], creds);
    await again.list();
    assert.equal(events.length, discoveryRequests);
    const items = await again.fetch(listing.items.map((i) => i.href));
    assert.equal(items.length, 2);
    await again.delete('/alice/contacts/home-1.vcf');
    assert.equal(await server.getItem('/alice/contacts/home-1.vcf'), undefined);
    // The /path datastore needs no discovery at all.
    const cal = stores.open(mapping, mapping.datastores[1], creds);
    assert.equal(cal.collectionUrl, server.collections.calendar);
  });

  it('MultiCollectionStore: changesSince over two real collections', async () => {
    const creds = { username: server.user, password: server.password };
    const m = new MultiCollectionStore([
      createDavStore({ kind: 'contacts', collectionUrl: server.collections.contacts, credentials: creds }),
      createDavStore({ kind: 'contacts', collectionUrl: `${server.baseUrl}/alice/work/`, credentials: creds }),
    ]);
    const first = await m.changesSince('');
    await server.putItem(`${server.baseUrl}/alice/work/`, 'w-2.vcf', vcard('w-2'));
    const next = await m.changesSince(first.syncToken);
    assert.deepEqual(next.changed.map((c) => c.href), ['/alice/work/w-2.vcf']);
    assert.deepEqual(next.deleted, []);
  });
});
