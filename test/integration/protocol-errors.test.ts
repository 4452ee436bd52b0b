// Bad input and failing backends: each gets a clear answer, a log line that says why, and
// nothing half-written (no anchor moves, no map entry points to an item that does not exist).
import assert from 'node:assert/strict';
import { startRadicale, startRedis, type DavServerHandle, type RedisHandle } from '../support/index.js';
import {
  addCmd, alert, postSyncml, ScriptedClient, startTestGateway, statusesOf, syncCmd, vcard21, type TestGateway,
} from '../support/gateway.js';

describe('protocol: bad input and failing backends (real Radicale, real Redis)', function () {
  this.timeout(60_000);
  let dav: DavServerHandle;
  let redis: RedisHandle;
  let gw: TestGateway;
  let dev = 0;

  before(async function () {
    [dav, redis] = await Promise.all([startRadicale(), startRedis()]);
    gw = await startTestGateway({ dav, redisUrl: redis.url });
  });
  after(async function () {
    await gw?.close();
    await Promise.all([dav?.dispose(), redis?.stop()]);
  });

  const newClient = (password = dav.password): ScriptedClient => new ScriptedClient(gw.url, `IMEI:test-${++dev}`, '1', { user: 'alice', password });
  const logHas = (re: RegExp): boolean => gw.logLines().some((l) => re.test(String(l['msg'])) || re.test(JSON.stringify(l)));

  it('a body that is not XML gets HTTP 400 and a log line', async function () {
    const res = await postSyncml(gw.url, 'this is not xml <<<');
    assert.equal(res.status, 400);
    assert.match(res.text, /bad SyncML message/);
    assert.ok(logHas(/undecodable SyncML/));
  });

  it('truncated WBXML gets HTTP 400', async function () {
    const res = await postSyncml(gw.url, new Uint8Array([0x02, 0x9f, 0x53, 0x6a, 0x00, 0x6d, 0x6c]), { encoding: 'wbxml' });
    assert.equal(res.status, 400);
    assert.match(res.text, /WBXML/);
  });

  it('a SyncML message without SyncHdr gets HTTP 400 naming the problem', async function () {
    const res = await postSyncml(gw.url, '<?xml version="1.0"?><SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Final/></SyncBody></SyncML>');
    assert.equal(res.status, 400);
    assert.match(res.text, /without SyncHdr/);
  });

  it('a content type that is not SyncML gets HTTP 415', async function () {
    const res = await postSyncml(gw.url, '<a/>', { encoding: 'xml' }, 'text/plain');
    assert.equal(res.status, 415);
  });

  it('a DOCTYPE with entity declarations is refused (no entity expansion)', async function () {
    const res = await postSyncml(gw.url, '<?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY a "aaaa">]><SyncML><SyncHdr/>&a;</SyncML>');
    assert.equal(res.status, 400);
    assert.match(res.text, /ENTITY|internal subset/);
  });

  it('GET on the SyncML path answers a human-readable page; /healthz answers ok', async function () {
    const page = await fetch(gw.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SyncML gateway/);
    const health = await fetch(gw.url.replace(/\/sync$/, '/healthz'));
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
  });

  it('a wrong password gets 401 with a Chal, and nothing else in the message is executed', async function () {
    const client = newClient('wrong-password');
    const before = await dav.listItems('contacts');
    const res = await client.send([
      alert('1', '201', 'contacts', './contacts', { next: 'n1' }),
      syncCmd('2', 'contacts', './contacts', [addCmd('3', 'L1', vcard21(1))]),
    ]);
    assert.equal(res.status, 200);
    const st = statusesOf(res.message);
    assert.equal(st[0]!.cmd, 'SyncHdr');
    assert.equal(st[0]!.data, '401');
    assert.equal(st[0]!.hasChal, true);
    assert.ok(st.slice(1).every((s) => s.data === '401'), JSON.stringify(st));
    assert.equal(res.message!.body.filter((c) => c.kind !== 'Status').length, 0, 'no server commands');
    assert.equal((await dav.listItems('contacts')).length, before.length, 'nothing written to the DAV server');
    assert.ok(logHas(/wrong password/));
    assert.ok(!gw.logLines().some((l) => JSON.stringify(l).includes('wrong-password')), 'the password never reaches the log');
  });

  it('no credentials at all gets 407 with a Chal', async function () {
    const client = new ScriptedClient(gw.url, `IMEI:test-${++dev}`, '1');
    const res = await client.send([alert('1', '200', 'contacts', './contacts', { next: 'n1' })]);
    assert.equal(statusesOf(res.message)[0]!.data, '407');
    assert.equal(statusesOf(res.message)[0]!.hasChal, true);
  });

  it('an unknown command gets 406, an unknown datastore 404, the rest still works', async function () {
    const client = newClient();
    const res = await client.send([
      { kind: 'Other', name: 'Frobnicate', cmdId: '1', raw: { name: 'Frobnicate', children: [{ name: 'CmdID', children: ['1'] }] } },
      alert('2', '201', 'no-such-store', './x', { next: 'n1' }),
      alert('3', '201', 'contacts', './contacts', { next: 'n1' }),
    ]);
    const st = statusesOf(res.message);
    assert.equal(st.find((s) => s.cmdRef === '1')!.data, '406');
    assert.equal(st.find((s) => s.cmdRef === '2')!.data, '404');
    assert.equal(st.find((s) => s.cmdRef === '3')!.data, '200');
    assert.ok(logHas(/not supported; answered 406/));
  });

  it('a two-way sync from an unknown device is turned into a slow sync with 508', async function () {
    const client = newClient();
    const res = await client.send([alert('1', '200', 'contacts', './contacts', { last: 'old', next: 'n1' })]);
    const st = statusesOf(res.message);
    assert.equal(st.find((s) => s.cmdRef === '1')!.data, '508');
    const serverAlert = res.message!.body.find((c) => c.kind === 'Alert');
    assert.equal(serverAlert && 'data' in serverAlert ? serverAlert.data : undefined, '201');
  });

  it('Radicale stopped mid-sync: 503 statuses, a log line, no anchors, and every map entry points to an existing item', async function () {
    const client = newClient();
    const init = await client.send([alert('1', '201', 'contacts', './contacts', { next: 'anchor-1' })]);
    assert.equal(statusesOf(init.message)[0]!.data, '212');
    // Package 3, first message: two items go in.
    const first = await client.send([
      { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] },
      syncCmd('2', 'contacts', './contacts', [addCmd('3', 'A1', vcard21(11)), addCmd('4', 'A2', vcard21(12))]),
    ], { final: false });
    assert.deepEqual(statusesOf(first.message).filter((s) => s.cmd === 'Add').map((s) => s.data), ['201', '201']);
    await dav.stop();
    try {
      const second = await client.send([syncCmd('1', 'contacts', './contacts', [addCmd('2', 'A3', vcard21(13)), addCmd('3', 'A4', vcard21(14))])]);
      assert.equal(second.status, 200);
      const st = statusesOf(second.message);
      assert.ok(st.some((s) => s.data === '503'), JSON.stringify(st));
      assert.ok(gw.logLines().some((l) => l['level'] === 50 && /BACKEND_UNAVAILABLE/.test(JSON.stringify(l))), 'an error log line names the DAV failure');
    } finally {
      await dav.start();
    }
    const key = { account: 'alice', deviceId: client.deviceId, datastore: 'contacts' };
    assert.equal(await gw.state.getAnchors(key), undefined, 'anchors did not move');
    const map = await gw.state.getMap(key);
    const hrefs = new Set((await dav.listItems('contacts')).map((i) => decodeURIComponent(i.href)));
    assert.ok(map.length >= 2);
    for (const e of map) assert.ok(hrefs.has(decodeURIComponent(e.guid)), `map entry ${e.luid} -> ${e.guid} exists on the server`);
  });
});
