// Admin page pieces without a browser: HTML escaping of everything shown, the admin credential
// (plain and scrypt hash), CSRF tokens, and the sync history's retention in a real SQLite store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdminAuth, adminSettingsFrom, escapeHtml, hashAdminPassword, html, HISTORY_RETENTION_DAYS, HistoryObserver, SyncHistory } from '../../../src/admin/index.js';
import { renderPage } from '../../../src/admin/pages.js';
import { backupFolder, listBackups, writeBackup } from '../../../src/accounts/backup.js';
import { isGatewayError } from '../../../src/errors.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { emptyStats } from '../../../src/sync/types.js';

const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('admin: HTML escaping', function () {
  it('escapes every interpolated value, keeps Html built by the tag, joins arrays', function () {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\``), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p>${inner}${['<', html`<br>`]}${undefined}${null}${false}${0}</p>`.text, '<p><b>&lt;i&gt;</b>&lt;<br>0</p>');
  });

  it('a hostile device id, DevInf, account and backup name render as text, never as markup', function () {
    const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const page = renderPage({
      version: '0.1.0', base: '/admin', csrf: 'tok"en', accounts: [{
        account: evil, auth: 'passthrough', davUrl: `http://x/${evil}`, restoreNeedsLogin: true,
        datastores: [{ name: evil, kind: 'contacts', uris: [evil], collections: [evil], conflict: 'merge' }],
        backups: [{ file: evil, datastore: evil, takenAt: evil, items: 1 }],
        devices: [{
          deviceId: evil, model: evil, details: [evil], lastSync: evil,
          datastores: [{ name: evil, anchored: true, items: 3, last: { at: evil, outcome: { datastore: evil, kind: 'contacts', mode: 'slow', failed: false, stats: emptyStats() } } }],
          events: [{ type: 'conflict', at: evil, datastore: evil, guid: evil, policy: evil, resolution: evil }, { type: 'failed', at: evil, reason: evil }],
          syncs: [{ type: 'sync', at: evil, seconds: 1, datastores: [{ datastore: evil, kind: 'contacts', mode: 'slow', failed: false, stats: emptyStats() }] }],
        }],
      }],
      message: evil,
    }).text;
    assert.doesNotMatch(page, /<script>|<img/);
    assert.ok(page.includes('data-device="&quot;&gt;&lt;script&gt;'), 'attribute values stay inside their quotes');
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(page, /name="csrf" value="tok&quot;en"/);
    // Structure still there: the forms of the actions.
    for (const action of ['reset', 'forget', 'restore']) assert.match(page, new RegExp(`action="/admin/${action}"`));
  });
});

describe('admin: credential and CSRF', function () {
  it('checks Basic credentials against ADMIN_PASSWORD', function () {
    const auth = new AdminAuth({ user: 'admin', password: 'pässword' });
    assert.equal(auth.verifyHeader(basic('admin', 'pässword')), true);
    assert.equal(auth.verifyHeader(basic('admin', 'wrong')), false);
    assert.equal(auth.verifyHeader(basic('root', 'pässword')), false);
    assert.equal(auth.verifyHeader(undefined), false);
    assert.equal(auth.verifyHeader('Bearer abc'), false);
  });

  it('checks Basic credentials against an scrypt ADMIN_PASSWORD_HASH (the password itself is not stored)', function () {
    const hash = hashAdminPassword('s3cret');
    assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!hash.includes('s3cret'));
    const settings = adminSettingsFrom({ ADMIN_PASSWORD_HASH: hash, ADMIN_USER: 'ops' });
    const auth = new AdminAuth(settings.credential!);
    assert.equal(auth.verifyHeader(basic('ops', 's3cret')), true);
    assert.equal(auth.verifyHeader(basic('ops', 's3cret!')), false);
  });

  it('is off without a password; a malformed hash or port is a configuration error', function () {
    assert.equal(adminSettingsFrom({}).credential, undefined);
    assert.throws(() => adminSettingsFrom({ ADMIN_PASSWORD_HASH: 'md5:abc' }), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.throws(() => adminSettingsFrom({ ADMIN_PASSWORD: 'x', ADMIN_PORT: 'eighty' }), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.equal(adminSettingsFrom({ ADMIN_PASSWORD: 'x', ADMIN_PORT: '9090' }).port, 9090);
  });

  it('middleware: 401 without or with wrong credentials, 429 after 10 failures a minute from one address (no more scrypt)', function () {
    let now = 1_000_000;
    const auth = new AdminAuth({ user: 'admin', passwordHash: hashAdminPassword('pw') });
    const mw = auth.middleware(() => now);
    const call = (authorization: string | undefined, address = '10.0.0.1'): number => {
      let code = 0;
      let passed = false;
      const res = { status(c: number) { code = c; return res; }, set() { return res; }, type() { return res; }, send() { return res; } };
      mw({ headers: authorization ? { authorization } : {}, socket: { remoteAddress: address } } as never, res as never, () => { passed = true; });
      return passed ? 200 : code;
    };
    assert.equal(call(undefined), 401);
    assert.equal(call(basic('admin', 'pw')), 200);
    for (let i = 0; i < 10; i++) assert.equal(call(basic('admin', `guess${i}`)), 401);
    const t0 = performance.now();
    assert.equal(call(basic('admin', 'guess10')), 429);
    assert.equal(call(basic('admin', 'pw'), '10.0.0.2'), 200, 'another address is not affected');
    assert.ok(performance.now() - t0 < 20, 'the refused attempt and a remembered login cost no scrypt');
    assert.equal(call(basic('admin', 'pw')), 200, 'a login verified before still passes');
    now += 61_000;
    assert.equal(call(basic('admin', 'guess11')), 401, 'a minute later: tried again');
  });

  it('CSRF tokens: valid when issued by the same credential and fresh; forged, altered or old ones fail', function () {
    const a = new AdminAuth({ user: 'admin', password: 'one' });
    const b = new AdminAuth({ user: 'admin', password: 'two' });
    const now = Date.now();
    const t = a.csrfToken(now);
    assert.equal(a.verifyCsrf(t, now + 1000), true);
    assert.equal(new AdminAuth({ user: 'admin', password: 'one' }).verifyCsrf(t, now), true, 'another process with the same credential');
    assert.equal(b.verifyCsrf(t, now), false);
    assert.equal(a.verifyCsrf(t.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), now), false);
    assert.equal(a.verifyCsrf(`${now + 5}.${t.split('.')[1]}`, now), false, 'timestamp is part of the MAC');
    assert.equal(a.verifyCsrf(t, now + 13 * 3600_000), false, 'expired');
    assert.equal(a.verifyCsrf(undefined, now), false);
    assert.equal(a.verifyCsrf('', now), false);
  });
});

describe('admin: sync history in the state store', function () {
  let dir: string;
  let store: SqliteStateStore;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'admin-history-'));
    store = new SqliteStateStore({ stateDir: dir });
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the observer records sessions, conflicts and refusals per device, newest first', async function () {
    const h = new SyncHistory(store);
    const obs = new HistoryObserver(h, { warn: () => undefined });
    const dev = { account: 'alice', deviceId: 'IMEI:1' };
    obs.sessionCompleted({ ...dev, sessionKey: 'k', seconds: 1.5, at: '2026-12-01T10:00:00.000Z', datastores: [{ datastore: 'contacts', kind: 'contacts', mode: 'slow', failed: false, stats: { ...emptyStats(), clientAdded: 3 } }] });
    obs.conflict({ ...dev, datastore: 'contacts', guid: '/a.vcf', policy: 'merge', resolution: 'merged', at: '2026-12-01T10:00:01.000Z' });
    obs.refreshRefused({ ...dev, datastore: 'contacts', deleted: 9, serverItems: 10, at: '2026-12-01T10:00:02.000Z' });
    obs.sessionFailed({ deviceId: 'unknown-device', reason: 'no account' });
    await h.flush();
    const list = await new SyncHistory(store, () => Date.parse('2026-12-02T00:00:00Z')).list(dev);
    assert.deepEqual(list.map((e) => e.type), ['refresh-refused', 'conflict', 'sync']);
    assert.equal(list[2]!.type === 'sync' && list[2]!.datastores[0]!.stats.clientAdded, 3);
    assert.deepEqual(await h.list({ account: 'alice', deviceId: 'unknown-device' }), []);
    await h.forget(dev);
    assert.deepEqual(await h.list(dev), []);
  });

  it(`keeps ${HISTORY_RETENTION_DAYS} days: older entries are dropped on read and on the next write`, async function () {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const h = new SyncHistory(store, () => now);
    const dev = { account: 'bob', deviceId: 'd' };
    await h.add(dev, { type: 'admin', at: new Date(now).toISOString(), action: 'old' });
    now += 50 * 86400_000;
    await h.add(dev, { type: 'admin', at: new Date(now).toISOString(), action: 'middle' });
    now += 45 * 86400_000; // the first entry is now 95 days old
    assert.deepEqual((await h.list(dev)).map((e) => e.type === 'admin' && e.action), ['middle']);
    await h.add(dev, { type: 'admin', at: new Date(now).toISOString(), action: 'new' });
    const raw = await store.getSession<unknown[]>(SyncHistory.key(dev));
    assert.equal(raw?.length, 2, 'the old entry is gone from the store too');
  });
});

describe('admin: backups listed for the page', function () {
  it('newest first across datastores, only the account\'s own, files that are not backups skipped', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'admin-backups-'));
    try {
      const item = { href: '/alice/contacts/a.vcf', etag: '"1"', data: 'BEGIN:VCARD\r\nEND:VCARD\r\n' };
      await writeBackup(dir, 'alice', 'contacts', 'http://dav/alice/contacts/', [item, item]);
      await new Promise((r) => setTimeout(r, 5));
      await writeBackup(dir, 'alice', 'calendar', 'http://dav/alice/calendar/', [item]);
      await writeBackup(dir, 'bob', 'contacts', 'http://dav/bob/contacts/', [item]);
      writeFileSync(path.join(backupFolder(dir, 'alice'), 'zzz-notes.json'), '{"not":"a backup"}');
      const all = listBackups(dir, 'alice');
      assert.deepEqual(all.map((b) => [b.datastore, b.items]), [['calendar', 1], ['contacts', 2]]);
      assert.deepEqual(listBackups(dir, 'alice', 1).map((b) => b.datastore), ['calendar']);
      assert.deepEqual(listBackups(dir, 'carol'), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
