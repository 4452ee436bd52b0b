// Session-level protocol behaviour with real Radicale and the embedded store: resends get the same
// reply and apply nothing twice; MD5 authentication with nonces; multi-message packages.
import assert from 'node:assert/strict';
import { encodeMessage } from '../../src/codec/index.js';
import type { Command } from '../../src/codec/model.js';
import { md5Digest } from '../../src/protocol/auth.js';
import { startRadicale, type DavServerHandle } from '../support/index.js';
import {
  addCmd, alert, postSyncml, ScriptedClient, startTestGateway, statusesOf, syncCmd, vcard21, type TestGateway,
} from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

const hdrOk: Command = { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] };

describe('protocol: sessions (real Radicale, embedded store)', function () {
  this.timeout(60_000);
  let dav: DavServerHandle;
  let gw: TestGateway;

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, {
        // Scripted clients below speak basic: the mapping allows it explicitly (no md5 -> basic downgrade otherwise).
        account: 'bob', auth: { md5: '${BOB_SYNCML_SECRET}', basic: '${BOB_SYNCML_SECRET}' }, davLogin: { username: dav.user, password: '${BOB_DAV_PASSWORD}' },
        datastores: { contacts: { uris: ['contacts'], collection: dav.collections.contacts } },
      }),
      env: { ...process.env, BOB_SYNCML_SECRET: 'bob-md5-secret', BOB_DAV_PASSWORD: dav.password },
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('MD5: an empty nonce is challenged with a NextNonce, the digest over that nonce is accepted (212), and a new nonce is handed out', async function () {
    const url = gw.url;
    const device = 'IMEI:md5-phone';
    const make = (msgId: string, sessionId: string, nonce: string): Uint8Array => encodeMessage({
      version: '1.2', final: true,
      header: {
        verDTD: '1.2', verProto: 'SyncML/1.2', sessionId, msgId, target: { locURI: url }, source: { locURI: device, locName: 'bob' },
        cred: { meta: { type: 'syncml:auth-md5', format: 'b64' }, data: md5Digest('1.2', 'bob', 'bob-md5-secret', nonce) },
      },
      body: [alert('1', '201', 'contacts', './c', { next: 'a1' })],
    }, { encoding: 'xml' });
    const first = await postSyncml(url, make('1', '10', ''));
    const hdr1 = first.message!.body[0]!;
    assert.equal(hdr1.kind === 'Status' && hdr1.data, '401');
    const nonce = hdr1.kind === 'Status' ? hdr1.chal?.meta.nextNonce : undefined;
    assert.equal(hdr1.kind === 'Status' && hdr1.chal?.meta.type, 'syncml:auth-md5');
    assert.ok(nonce, 'a NextNonce is sent');

    const second = await postSyncml(url, make('2', '10', nonce!));
    const hdr2 = second.message!.body[0]!;
    assert.equal(hdr2.kind === 'Status' && hdr2.data, '212');
    const next = hdr2.kind === 'Status' ? hdr2.chal?.meta.nextNonce : undefined;
    assert.ok(next && next !== nonce, 'a new nonce for the next session');

    const wrong = await postSyncml(url, make('1', '11', 'bm90LXRoZS1ub25jZQ=='));
    const hdr3 = wrong.message!.body[0]!;
    assert.equal(hdr3.kind === 'Status' && hdr3.data, '401');
    assert.ok(gw.logLines().every((l) => !JSON.stringify(l).includes('bob-md5-secret')), 'the secret never reaches the log');
  });

  it('a resent message gets the same reply and nothing is applied twice', async function () {
    // bob is an MD5 account whose mapping also allows basic with the same secret.
    const client = new ScriptedClient(gw.url, 'IMEI:resend-phone', '7', { user: 'bob', password: 'bob-md5-secret' });
    const init = await client.send([alert('1', '201', 'contacts', './c', { next: 'r1' })]);
    assert.equal(statusesOf(init.message)[0]!.data, '212');
    const before = (await dav.listItems('contacts')).length;
    const msg = client.message([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'RES-1', vcard21(71))])]);
    const bytes = encodeMessage(msg, { encoding: 'xml' });
    const a = await postSyncml(client.url, bytes);
    const b = await postSyncml(client.url, bytes);
    assert.equal(a.status, 200);
    assert.equal(b.text, a.text, 'byte-identical reply');
    assert.equal((await dav.listItems('contacts')).length, before + 1, 'one item, not two');
    assert.ok(gw.logLines().some((l) => /re-sent a message/.test(String(l['msg']))));
  });

  it('a client package spread over several messages is answered with Alert 222 until its Final', async function () {
    const client = new ScriptedClient(gw.url, 'IMEI:multi-phone', '3', { user: 'bob', password: 'bob-md5-secret' });
    await client.send([alert('1', '201', 'contacts', './c', { next: 'm1' })]);
    const part1 = await client.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'M-1', vcard21(81))])], { final: false });
    assert.ok(part1.message!.body.some((c) => c.kind === 'Alert' && c.data === '222'), 'Alert 222 asks for the next message');
    assert.equal(part1.message!.final, false);
    const part2 = await client.send([syncCmd('1', 'contacts', './c', [addCmd('2', 'M-2', vcard21(82))])]);
    assert.equal(part2.message!.final, true);
    assert.ok(part2.message!.body.some((c) => c.kind === 'Sync'), 'server Sync after the Final');
  });

  it('Sequence inside Sync is executed in order; Atomic is refused whole with 406 and nothing of it runs', async function () {
    const client = new ScriptedClient(gw.url, 'IMEI:seq-phone', '4', { user: 'bob', password: 'bob-md5-secret' });
    await client.send([alert('1', '201', 'contacts', './c', { next: 's1' })]);
    const before = (await dav.listItems('contacts')).length;
    const res = await client.send([hdrOk, syncCmd('2', 'contacts', './c', [
      { kind: 'Sequence', cmdId: '3', commands: [addCmd('4', 'SEQ-1', vcard21(91)), addCmd('5', 'SEQ-2', vcard21(92))] },
      { kind: 'Atomic', cmdId: '6', commands: [addCmd('7', 'ATOM-1', vcard21(93))] },
    ])]);
    const st = statusesOf(res.message);
    assert.equal(st.find((s) => s.cmd === 'Sequence')!.data, '200');
    assert.deepEqual(st.filter((s) => s.cmd === 'Add' && ['4', '5'].includes(s.cmdRef)).map((s) => s.data), ['201', '201']);
    assert.equal(st.find((s) => s.cmd === 'Atomic')!.data, '406');
    assert.equal(st.find((s) => s.cmdRef === '7')!.data, '406');
    assert.equal((await dav.listItems('contacts')).length, before + 2);
  });

  it('a resume (Alert 225) with nothing to continue is answered 509 and the datastore syncs normally', async function () {
    // A completed first session, so that the device has saved anchors.
    const first = new ScriptedClient(gw.url, 'IMEI:resume-phone', '5', { user: 'bob', password: 'bob-md5-secret' });
    await first.send([alert('1', '201', 'contacts', './c', { next: 'r1' })]);
    let reply = await first.send([hdrOk, syncCmd('2', 'contacts', './c', [])]);
    for (let i = 0; i < 50 && !(reply.message!.final && !reply.message!.body.some((c) => c.kind === 'Sync')); i++) reply = await first.send([hdrOk]);
    await first.send([hdrOk]);
    assert.ok(await gw.state.getAnchors({ account: 'bob', deviceId: 'IMEI:resume-phone', datastore: 'contacts' }), 'first session completed');

    const client = new ScriptedClient(gw.url, 'IMEI:resume-phone', '6', { user: 'bob', password: 'bob-md5-secret' });
    const res = await client.send([alert('1', '225', 'contacts', './c', { last: 'r1', next: 'r2' })]);
    const st = statusesOf(res.message);
    assert.equal(st.find((s) => s.cmd === 'Alert')!.data, '509', 'cannot resume: a normal sync instead');
    const srvAlert = res.message!.body.find((c) => c.kind === 'Alert');
    assert.equal(srvAlert?.kind === 'Alert' ? srvAlert.data : undefined, '200', 'anchors match: two-way');
    const stale = new ScriptedClient(gw.url, 'IMEI:resume-phone', '7', { user: 'bob', password: 'bob-md5-secret' });
    const res2 = await stale.send([alert('1', '225', 'contacts', './c', { last: 'unknown', next: 'r3' })]);
    assert.equal(statusesOf(res2.message).find((s) => s.cmd === 'Alert')!.data, '508', 'anchors do not match: slow sync');

  });

  it('a suspended session (Alert 224) commits nothing; the next session resumes it (225 → 200) in its slow mode and completes it', async function () {
    const key = { account: 'bob', deviceId: 'IMEI:suspend-phone', datastore: 'contacts' };
    const sus = new ScriptedClient(gw.url, key.deviceId, '6', { user: 'bob', password: 'bob-md5-secret' });
    await sus.send([alert('1', '201', 'contacts', './c', { next: 'p1' })]);
    const s1 = await sus.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'SUS-1', vcard21(71))])], { final: false });
    assert.equal(statusesOf(s1.message).find((s) => s.cmd === 'Add')!.data, '201');
    const s2 = await sus.send([hdrOk, { kind: 'Alert', cmdId: '2', data: '224', items: [] }]);
    assert.equal(statusesOf(s2.message).find((s) => s.cmd === 'Alert')!.data, '200');
    assert.ok(s2.message!.final, 'the session ends with the suspend');
    assert.equal(await gw.state.getAnchors(key), undefined, 'anchors not committed');
    const onServer = (await dav.listItems('contacts')).length;

    const res = new ScriptedClient(gw.url, key.deviceId, '7', { user: 'bob', password: 'bob-md5-secret' });
    const r1 = await res.send([alert('1', '225', 'contacts', './c', { next: 'p2' })]);
    assert.equal(statusesOf(r1.message).find((s) => s.cmd === 'Alert')!.data, '200', 'resumed, not 509');
    const srvAlert = r1.message!.body.find((c) => c.kind === 'Alert');
    assert.equal(srvAlert?.kind === 'Alert' ? srvAlert.data : undefined, '201', 'the suspended session\'s slow sync continues');
    // Only the item not sent before the suspend; SUS-1 is already on the server and mapped.
    let reply = await res.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'SUS-2', vcard21(72))])]);
    assert.equal(statusesOf(reply.message).find((s) => s.cmd === 'Add')!.data, '201');
    assert.equal((await dav.listItems('contacts')).length, onServer + 1, 'one new item; SUS-1 not stored twice');
    const mapItems: Array<{ target: { locURI: string }; source: { locURI: string } }> = [];
    for (let i = 0; i < 50; i++) {
      for (const c of reply.message!.body) {
        if (c.kind !== 'Sync') continue;
        for (const add of c.commands) if (add.kind === 'Add') for (const it of add.items) mapItems.push({ target: { locURI: it.source!.locURI }, source: { locURI: `S-${mapItems.length}` } });
      }
      if (reply.message!.final) break;
      reply = await res.send([hdrOk]);
    }
    const done = await res.send([hdrOk, { kind: 'Map', cmdId: '2', target: { locURI: 'contacts' }, source: { locURI: './c' }, mapItems }]);
    assert.ok(done.message!.final);
    assert.equal((await gw.state.getAnchors(key))?.client, 'p2', 'the resumed session completed and saved the new anchor');
    const luids = new Set((await gw.state.getMap(key)).map((e) => e.luid));
    assert.ok(luids.has('SUS-1') && luids.has('SUS-2'), 'both sessions\' items are mapped');
    assert.equal(luids.size, onServer + 1, 'every server item is mapped exactly once');

    // Completed: a further 225 has nothing to continue.
    const again = new ScriptedClient(gw.url, key.deviceId, '8', { user: 'bob', password: 'bob-md5-secret' });
    const a1 = await again.send([alert('1', '225', 'contacts', './c', { last: 'p2', next: 'p3' })]);
    assert.equal(statusesOf(a1.message).find((s) => s.cmd === 'Alert')!.data, '509');
  });

  it('an Add whose map entry was lost (crash between the DAV write and the map write) is found again, not duplicated', async function () {
    const key = { account: 'bob', deviceId: 'IMEI:crash-phone', datastore: 'contacts' };
    const first = new ScriptedClient(gw.url, key.deviceId, '8', { user: 'bob', password: 'bob-md5-secret' });
    await first.send([alert('1', '201', 'contacts', './c', { next: 'c1' })]);
    await first.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'CR-1', vcard21(61))])], { final: false });
    const before = (await dav.listItems('contacts')).length;
    // What a crash right after the PUT leaves behind: the item exists, its map entry does not.
    await gw.state.deleteMapEntries(key, ['CR-1']);
    const again = new ScriptedClient(gw.url, key.deviceId, '9', { user: 'bob', password: 'bob-md5-secret' });
    await again.send([alert('1', '201', 'contacts', './c', { next: 'c2' })]);
    // The slow-sync matcher would also find it by content; a changed item shows that the UID does it.
    const res = await again.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'CR-1', vcard21(61).replace('Item61', 'Item61b'))])], { final: false });
    assert.equal(statusesOf(res.message).find((s) => s.cmd === 'Add')!.data, '201');
    assert.equal((await dav.listItems('contacts')).length, before, 'no second copy');
    const entry = (await gw.state.getMap(key)).find((e) => e.luid === 'CR-1');
    assert.ok(entry, 'mapped again');
    const item = (await dav.listItems('contacts')).find((i) => decodeURIComponent(i.href) === decodeURIComponent(entry.guid));
    assert.match(item!.data, /Item61b/, 'the resent (newer) version is on the server');
  });

  it('keep-alive: past the reply deadline the server package goes out in parts (no Final until the rest is sent)', async function () {
    const slow = await startTestGateway({ dav, settings: { replyDeadlineSeconds: 0 } });
    for (let i = 0; i < 30; i++) await dav.putItem('contacts', `keepalive-${i}.vcf`, `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:keepalive-${i}\r\nFN:Keep Alive ${i}\r\nN:Alive;Keep ${i};;;\r\nEND:VCARD\r\n`);
    try {
      const client = new ScriptedClient(slow.url, 'IMEI:keepalive-phone', '1', { user: 'alice', password: dav.password });
      await client.send([alert('1', '201', 'contacts', './contacts', { next: 'k1' })]);
      const total = (await dav.listItems('contacts')).length;
      assert.ok(total > 25, `need more than one batch of server items (${total})`);
      let reply = await client.send([hdrOk, syncCmd('2', 'contacts', './contacts', [])]);
      let parts = 0;
      let adds = 0;
      for (let i = 0; i < 20; i++) {
        const sync = reply.message!.body.find((c) => c.kind === 'Sync');
        if (sync?.kind === 'Sync') adds += sync.commands.length;
        parts++;
        if (reply.message!.final) break;
        reply = await client.send([hdrOk, { kind: 'Alert', cmdId: '2', data: '222', items: [] }]);
      }
      assert.ok(parts >= 2, `several messages (${parts})`);
      assert.equal(adds, total, 'every server item sent once');
      assert.ok(slow.logLines().some((l) => /reply deadline reached/.test(String(l['msg']))));
    } finally {
      await slow.close();
    }
  });
});
