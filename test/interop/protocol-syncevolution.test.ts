// Interop for the whole protocol with Debian's SyncEvolution client: multi-message packages with a
// small MaxMsgSize, a 300 KB photo as a large object both ways, every sync type, the refresh guard,
// a conflict, and MD5 authentication. Contacts, XML; real Radicale; embedded state store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseContact } from '../../src/convert/contacts.js';
import { readBackup, restoreBackup } from '../../src/accounts/backup.js';
import { createDavStore } from '../../src/datastores/index.js';
import {
  generateContacts21, makeTempDir, mutateContact, sleep, startRadicale, SyncEvolutionClient, type DavServerHandle,
} from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

function fnAndTels(text: string): string {
  const c = parseContact(text);
  const fn = c.properties.find((p) => p.name === 'FN')?.values[0] ?? '';
  const tels = c.properties.filter((p) => p.name === 'TEL').map((p) => (p.values[0] ?? '').replace(/[^\d+]/g, '')).filter(Boolean).sort();
  return `${fn}|${tels.join(',')}`;
}

function photoOf(text: string): string | undefined {
  return parseContact(text).properties.find((p) => p.name === 'PHOTO' && p.binary)?.values[0];
}

function vcardWithPhoto(name: string, photoB64: string): string {
  const lines = ['BEGIN:VCARD', 'VERSION:2.1', `N:${name};Big;;;`, `FN:Big ${name}`, 'TEL;CELL:+49 170 1234567', 'PHOTO;ENCODING=BASE64;TYPE=JPEG:'];
  for (let i = 0; i < photoB64.length; i += 72) lines.push(` ${photoB64.slice(i, i + 72)}`);
  lines.push('', 'END:VCARD');
  return `${lines.join('\r\n')}\r\n`;
}

for (const wbxml of [false, true]) describe(`interop: SyncEvolution client, whole protocol (contacts, ${wbxml ? 'WBXML' : 'XML'})`, function () {
  this.timeout(600_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let dir: string;
  const phones: SyncEvolutionClient[] = [];
  const phone = (id: string, extra: Partial<ConstructorParameters<typeof SyncEvolutionClient>[0]> = {}): SyncEvolutionClient => {
    const p = new SyncEvolutionClient({
      dir: path.join(dir, id), deviceId: `sc-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      legacy: true, wbxml, datastores: { contacts: 'contacts' }, ...extra,
    });
    phones.push(p);
    return p;
  };
  const serverKeys = async (): Promise<string[]> => (await dav.listItems('contacts')).map((i) => fnAndTels(i.data)).sort();
  const phoneKeys = async (p: SyncEvolutionClient): Promise<string[]> => [...(await p.readItems('contacts')).values()].map(fnAndTels).sort();
  const ok = (r: { exitCode: number; output: string }): void => assert.equal(r.exitCode, 0, r.output.slice(-4000));

  before(async function () {
    dir = makeTempDir(`interop-protocol-${wbxml ? 'wbxml' : 'xml'}`);
    dav = await startRadicale();
    gw = await startTestGateway({ dav });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  let a: SyncEvolutionClient;
  let b: SyncEvolutionClient;

  it('slow sync of 30 contacts with MaxMsgSize 4000: the client package spans many messages', async function () {
    a = phone('a', { maxMsgSize: 4000 });
    for (const c of generateContacts21(30, 11)) a.writeItem('contacts', c.name, c.text);
    const r = await a.sync('slow', { only: ['contacts'] });
    ok(r);
    assert.equal(r.datastores['contacts']?.remoteNew, 30);
    assert.deepEqual(await serverKeys(), await phoneKeys(a));
  });

  it('refresh-from-server into a new phone with MaxMsgSize 4000: the server package spans many messages', async function () {
    b = phone('b', { maxMsgSize: 4000 });
    const r = await b.sync('refresh-from-server', { only: ['contacts'] });
    ok(r);
    assert.equal(r.datastores['contacts']?.localNew, 30);
    assert.deepEqual(await phoneKeys(b), await serverKeys());
    const replies = gw.logLines().filter((l) => l['device'] === 'sc-b').length;
    assert.ok(replies > 3, 'several messages');
  });

  it('a 300 KB photo travels as a large object from phone to server and from server to another phone', async function () {
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(300 * 1024)]).toString('base64');
    await sleep(1100);
    a.writeItem('contacts', 'big.vcf', vcardWithPhoto('Photographer', photo));
    const r = await a.sync('two-way', { only: ['contacts'] });
    ok(r);
    assert.equal(r.datastores['contacts']?.remoteNew, 1);
    const onServer = (await dav.listItems('contacts')).find((i) => i.data.includes('Photographer'));
    assert.ok(onServer, 'the contact is on the server');
    assert.equal(photoOf(onServer.data), photo, 'photo bytes unchanged on the server');
    assert.ok(gw.logLines().every((l) => l['status'] !== 424), 'no size mismatch');

    const rb = await b.sync('two-way', { only: ['contacts'] });
    ok(rb);
    assert.equal(rb.datastores['contacts']?.localNew, 1);
    const onB = [...(await b.readItems('contacts')).values()].find((t) => t.includes('Photographer'));
    assert.ok(onB, 'the contact reached phone B');
    assert.equal(photoOf(onB), photo, 'photo bytes unchanged on phone B');
  });

  it('one-way-from-client sends the phone\'s edit and not the server\'s; one-way-from-server then brings the server\'s', async function () {
    const items = await a.readItems('contacts');
    const [nameA, textA] = [...items.entries()].find(([, t]) => !t.includes('Photographer'))!;
    await sleep(1100);
    const editA = mutateContact(textA);
    a.writeItem('contacts', nameA, editA.text);
    const serverItem = (await dav.listItems('contacts')).find((i) => fnAndTels(i.data) !== fnAndTels(textA) && !i.data.includes('Photographer'))!;
    const editS = mutateContact(serverItem.data);
    await dav.putItem('contacts', serverItem.href.split('/').pop()!, editS.text);

    const r1 = await a.sync('one-way-from-client', { only: ['contacts'] });
    ok(r1);
    assert.equal(r1.datastores['contacts']?.remoteMod, 1);
    assert.equal(r1.datastores['contacts']?.localMod, 0);
    assert.ok((await serverKeys()).some((k) => k.includes(editA.tel.replace(/\s/g, ''))));

    await sleep(1100);
    const r2 = await a.sync('one-way-from-server', { only: ['contacts'] });
    ok(r2);
    assert.equal(r2.datastores['contacts']?.localMod, 1);
    assert.ok((await phoneKeys(a)).some((k) => k.includes(editS.tel.replace(/\s/g, ''))));
  });

  it('a refresh-from-client that would wipe most of the server is refused by the guard; nothing is deleted', async function () {
    const before = await serverKeys();
    await sleep(1100);
    const items = [...(await b.readItems('contacts')).keys()];
    for (const n of items.slice(0, 25)) b.deleteItem('contacts', n);
    const r = await b.sync('refresh-from-client', { only: ['contacts'] });
    assert.notEqual(r.exitCode, 0, 'the phone sees the refusal');
    assert.deepEqual(await serverKeys(), before, 'server unchanged');
    assert.ok(gw.logLines().some((l) => /refused by the refresh guard/.test(String(l['msg']))));
  });

  it('a refresh-from-client within the guard makes the server equal to the phone and keeps a backup', async function () {
    const c = phone('c');
    const r0 = await c.sync('refresh-from-server', { only: ['contacts'] });
    ok(r0);
    await sleep(1100);
    const first = [...(await c.readItems('contacts')).keys()][0]!;
    c.deleteItem('contacts', first);
    const r = await c.sync('refresh-from-client', { only: ['contacts'] });
    ok(r);
    assert.deepEqual(await serverKeys(), await phoneKeys(c));
    const backups = path.join(gw.dir, 'state', 'backups', 'alice');
    assert.ok(existsSync(backups) && readdirSync(backups).length === 1, 'one backup file');

    // The documented restore brings the deleted contact back (and leaves the others alone).
    const countBefore = (await dav.listItems('contacts')).length;
    const backup = readBackup(path.join(backups, readdirSync(backups)[0]!));
    const store = createDavStore({ kind: 'contacts', collectionUrl: backup.collectionUrl, credentials: { username: dav.user, password: dav.password } });
    assert.deepEqual(await restoreBackup(backup, store), { restored: 1, present: countBefore });
    assert.equal((await dav.listItems('contacts')).length, countBefore + 1);
    // Put the server back to the phone's state for the tests that follow.
    await sleep(1100);
    ok(await c.sync('refresh-from-client', { only: ['contacts'] }));
    assert.deepEqual(await serverKeys(), await phoneKeys(c));
  });

  it('a conflict (same contact edited on phone and server) is merged and both sides converge', async function () {
    const d = phone('d');
    ok(await d.sync('slow', { only: ['contacts'] }));
    await sleep(1100);
    const [name, text] = [...(await d.readItems('contacts')).entries()].find(([, t]) => !t.includes('Photographer'))!;
    const key = fnAndTels(text);
    const edit = mutateContact(text);
    d.writeItem('contacts', name, edit.text);
    const serverItem = (await dav.listItems('contacts')).find((i) => fnAndTels(i.data) === key)!;
    await dav.putItem('contacts', serverItem.href.split('/').pop()!, serverItem.data.replace(/END:VCARD/, 'X-SERVER-NOTE:added on the server\r\nEND:VCARD'));
    const r = await d.sync('two-way', { only: ['contacts'] });
    ok(r);
    const merged = (await dav.listItems('contacts')).find((i) => i.data.includes(edit.tel.replace(/^\+49 /, '').split(' ')[0]!) && i.data.includes('added on the server'));
    assert.ok(merged, 'server copy has the phone\'s TEL and the server\'s NOTE');
    assert.ok(gw.logLines().some((l) => /conflict: item changed on both sides/.test(String(l['msg']))));
    await sleep(1100);
    ok(await d.sync('two-way', { only: ['contacts'] }));
    assert.deepEqual(await phoneKeys(d), await serverKeys(), 'both sides hold the same contacts');
  });

  it('three-way merge: the server edits a contact\'s e-mail, the phone its phone number; both edits survive on both sides', async function () {
    const e = phone('e');
    ok(await e.sync('slow', { only: ['contacts'] }));
    await sleep(1100);
    const [name, text] = [...(await e.readItems('contacts')).entries()].find(([, t]) => /EMAIL/.test(t) && !t.includes('Photographer'))!;
    const key = fnAndTels(text);
    const serverItem = (await dav.listItems('contacts')).find((i) => fnAndTels(i.data) === key)!;
    const oldMail = /EMAIL[^:]*:(.*)/.exec(serverItem.data)![1]!.trim();
    await dav.putItem('contacts', serverItem.href.split('/').pop()!, serverItem.data.replace(oldMail, 'edited.on.server@example.org'));
    const edit = mutateContact(text); // the phone changes its cell number and sends the whole card, old e-mail included
    e.writeItem('contacts', name, edit.text);
    ok(await e.sync('two-way', { only: ['contacts'] }));
    const digits = edit.tel.replace(/[^\d]/g, '');
    const merged = (await dav.listItems('contacts')).find((i) => i.data.includes('edited.on.server@example.org'));
    assert.ok(merged, 'the server\'s e-mail edit survived the phone\'s Replace');
    assert.ok(merged.data.replace(/[^\d\n]/g, '').includes(digits), 'the phone\'s number edit reached the server');
    assert.ok(!merged.data.includes(oldMail), 'the old e-mail did not come back');
    const onPhone = (await e.readItems('contacts')).get(name)!;
    assert.ok(onPhone.includes('edited.on.server@example.org'), 'the merged card went back to the phone');
  });

  it('a two-way sync with no changes after all of this changes nothing', async function () {
    ok(await a.sync('two-way', { only: ['contacts'] })); // picks up what the other phones did
    assert.deepEqual(await phoneKeys(a), await serverKeys());
    const before = (await dav.listItems('contacts')).map((i) => `${i.href} ${i.etag}`).sort();
    await sleep(1100);
    const r = await a.sync('two-way', { only: ['contacts'] });
    ok(r);
    const ds = r.datastores['contacts']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual((await dav.listItems('contacts')).map((i) => `${i.href} ${i.etag}`).sort(), before);
  });

  it('MD5 authentication with the SyncEvolution client: challenged, then accepted, and the next session uses the new nonce', async function () {
    const gw2 = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { account: 'carol', auth: { md5: '${CAROL_SECRET}' }, davLogin: { username: dav.user, password: '${CAROL_DAV}' } }),
      env: { ...process.env, CAROL_SECRET: 'carol-phone-secret', CAROL_DAV: dav.password },
    });
    try {
      const m = new SyncEvolutionClient({
        dir: path.join(dir, 'md5'), deviceId: 'sc-md5', url: gw2.url, user: 'carol', password: 'carol-phone-secret', auth: 'md5',
        legacy: true, wbxml, datastores: { contacts: 'contacts' },
      });
      const r1 = await m.sync('slow', { only: ['contacts'] });
      ok(r1);
      assert.deepEqual(await phoneKeys(m), await serverKeys());
      await sleep(1100);
      ok(await m.sync('two-way', { only: ['contacts'] }));
      const auth = gw2.logLines().filter((l) => l['msg'] === 'authenticated').map((l) => l['credType']);
      assert.ok(auth.length >= 2 && auth.every((t) => t === 'syncml:auth-md5'), JSON.stringify(auth));
      assert.ok(gw2.logLines().every((l) => !JSON.stringify(l).includes('carol-phone-secret')));
    } finally {
      await gw2.close();
    }
  });

  it('keep-alive: with a reply deadline of 0 s the server package goes out a batch per message, and the client follows it to the end', async function () {
    // A slow DAV server cannot be faked with a real one; a deadline of 0 makes every reply leave
    // after one batch, which is what a 60 s deadline does when the DAV side takes minutes.
    const gw3 = await startTestGateway({ dav, settings: { replyDeadlineSeconds: 0 } });
    try {
      for (let i = 0; i < 60; i++) {
        await dav.putItem('contacts', `keepalive-${i}.vcf`, `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:keepalive-${i}\r\nN:Alive;Keep${i};;;\r\nFN:Keep${i} Alive\r\nTEL;TYPE=CELL:+49 170 555${String(i).padStart(4, '0')}\r\nEND:VCARD\r\n`);
      }
      const k = new SyncEvolutionClient({
        dir: path.join(dir, 'keepalive'), deviceId: 'sc-keepalive', url: gw3.url, user: 'alice', password: dav.password, auth: 'basic',
        legacy: true, wbxml, datastores: { contacts: 'contacts' },
      });
      const r = await k.sync('refresh-from-server', { only: ['contacts'] });
      ok(r);
      const total = (await dav.listItems('contacts')).length;
      assert.ok(total > 25, `more items than one batch (${total})`);
      assert.equal(r.datastores['contacts']?.localNew, total);
      assert.deepEqual(await phoneKeys(k), await serverKeys());
      const early = gw3.logLines().filter((l) => l['msg'] === 'reply deadline reached: the rest follows in the next message');
      // 25 items per batch; messages that fill up (the large photo) are cut by size instead.
      assert.ok(early.length >= 2, `the package was cut by the deadline ${early.length} times`);
    } finally {
      await gw3.close();
    }
  });
});
