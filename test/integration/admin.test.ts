// The admin page in real headless Chromium (Debian's chromium through playwright-core) against a
// gateway that a real SyncEvolution client synced through into Radicale: login, the device and
// its item count, a reset from the page that makes the next sync slow, a restore of a backup,
// forgetting the device; a wrong password gets 401 and a POST without CSRF token 403.
// Screenshots go to .tmp/admin-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { writeBackup } from '../../src/accounts/backup.js';
import {
  generateContacts21, makeTempDir, repoRoot, startRadicale, SyncEvolutionClient, type DavServerHandle,
} from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const ADMIN_PASSWORD = 'correct horse battery';
const SHOTS = path.join(repoRoot, '.tmp');
const DEVICE = 'sc-test-client';
/** Whether the protocol engine reports sessions to the SessionObserver (the history needs it). */
const ENGINE_REPORTS = readFileSync(path.join(repoRoot, 'src/protocol/engine.ts'), 'utf8').includes('observer');

describe('integration: admin page in headless Chromium (SyncEvolution + Radicale)', function () {
  this.timeout(240_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let phone: SyncEvolutionClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminUrl: string;

  const deviceRow = (ds: string) => page.locator(`[data-device="${DEVICE}"] tr[data-datastore="${ds}"]`);

  before(async function () {
    mkdirSync(SHOTS, { recursive: true });
    dav = await startRadicale();
    gw = await startTestGateway({ dav, env: { ...process.env, ADMIN_PASSWORD, ADMIN_PORT: '', ADMIN_PASSWORD_HASH: '' } });
    adminUrl = new URL('/admin/', gw.url).toString();
    phone = new SyncEvolutionClient({
      dir: path.join(makeTempDir('admin-phone'), 'phone'), url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      legacy: true, datastores: { contacts: 'contacts' },
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_PASSWORD } });
    page = await context.newPage();
  });

  after(async function () {
    await browser?.close();
    await gw?.close();
    await dav?.dispose();
  });

  it('after a real sync the page shows the device, its model and its item count', async function () {
    for (const c of generateContacts21(4, 21)) phone.writeItem('contacts', c.name, c.text);
    const report = await phone.sync('slow', { only: ['contacts'] });
    assert.equal(report.exitCode, 0, report.output.slice(-3000));
    const res = await page.goto(adminUrl);
    assert.equal(res?.status(), 200);
    await page.screenshot({ path: path.join(SHOTS, 'admin-after-sync.png'), fullPage: true });
    const device = page.locator(`[data-device="${DEVICE}"]`);
    assert.equal(await device.count(), 1);
    assert.match(await device.locator('h4').innerText(), /SyncEvolution/i, 'model from the DevInf');
    assert.equal(await deviceRow('contacts').locator('td.items').innerText(), '4');
    assert.match(await deviceRow('contacts').innerText(), /incremental/);
    assert.ok(!(await page.content()).includes(dav.password), 'no password on the page');
  });

  it('"Reset anchors" on the page makes the next sync of the datastore slow', async function () {
    await deviceRow('contacts').getByRole('button', { name: 'Reset anchors' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('[role=status]').innerText(), /reset anchors of contacts/);
    assert.match(await deviceRow('contacts').innerText(), /next sync is slow/);
    await page.screenshot({ path: path.join(SHOTS, 'admin-after-reset.png'), fullPage: true });
    const report = await phone.sync('two-way', { only: ['contacts'] });
    assert.equal(report.exitCode, 0, report.output.slice(-3000));
    assert.equal(report.datastores['contacts']?.actualMode, 'slow');
    assert.equal((await dav.listItems('contacts')).length, 4, 'the slow sync paired the items: no duplicates');
    await page.reload();
    assert.match(await deviceRow('contacts').innerText(), /incremental/);
    if (ENGINE_REPORTS) {
      // The sync history says what the last session of the datastore was.
      assert.equal(await deviceRow('contacts').locator('td.mode').innerText(), 'slow');
    }
  });

  it('a wrong or missing admin password gets 401; a POST without CSRF token gets 403 and changes nothing', async function () {
    const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'wrong' } });
    try {
      const p = await wrong.newPage();
      assert.equal((await p.goto(adminUrl))?.status(), 401);
    } finally {
      await wrong.close();
    }
    assert.equal((await fetch(adminUrl)).status, 401);
    const auth = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const body = new URLSearchParams({ account: 'alice', device: DEVICE });
    const forged = await fetch(new URL('forget', adminUrl), { method: 'POST', headers: { authorization: auth }, body, redirect: 'manual' });
    assert.equal(forged.status, 403);
    body.set('csrf', `${Date.now()}.${'A'.repeat(43)}`);
    const forged2 = await fetch(new URL('forget', adminUrl), { method: 'POST', headers: { authorization: auth }, body, redirect: 'manual' });
    assert.equal(forged2.status, 403);
    assert.equal((await gw.state.listDevices('alice')).length, 1, 'device still there');
  });

  it('a backup is restored from the page (missing items put back)', async function () {
    const items = await dav.listItems('contacts');
    await writeBackup(path.join(gw.dir, 'state', 'backups'), 'alice', 'contacts', dav.collections.contacts, items.map((i) => ({ href: i.href, etag: i.etag ?? '', data: i.data })));
    await dav.deleteItem(items[0]!.href);
    await page.reload();
    const form = page.locator('section[data-account="alice"] form[action$="/restore"]');
    assert.equal(await form.count(), 1);
    await form.locator('input[name=davUser]').fill('alice');
    await form.locator('input[name=davPassword]').fill(dav.password);
    await form.getByRole('button').click();
    await page.waitForLoadState();
    assert.match(await page.locator('[role=status]').innerText(), /restored 1 items/);
    assert.equal((await dav.listItems('contacts')).length, 4);
    assert.ok(!(await page.content()).includes(dav.password), 'the DAV password typed in is not shown back');
  });

  it('"Forget device" removes it; the next sync starts from scratch', async function () {
    await page.locator(`[data-device="${DEVICE}"]`).getByRole('button', { name: 'Forget device' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('[role=status]').innerText(), /forgotten/);
    assert.equal(await page.locator(`[data-device="${DEVICE}"]`).count(), 0);
    await page.screenshot({ path: path.join(SHOTS, 'admin-after-forget.png'), fullPage: true });
    assert.deepEqual(await gw.state.listDevices('alice'), []);
  });
});
