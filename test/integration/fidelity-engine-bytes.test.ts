// Issue #13 end to end through the engine (real gateway, real Radicale, embedded store):
// - defect 5: a Shift_JIS card whose N declares CHARSET=SHIFT_JIS and whose SOUND/NOTE/ADR carry
//   the same bytes without a label arrives on the server in Japanese, not U+FFFD; once as plain
//   item data and once as a large object cut into chunks inside a multi-byte character;
// - defect 11: a datastore name the mapping does not list is answered 404 and recorded on the
//   device with the mapping line to add (what `devices list` prints).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeMessage } from '../../src/codec/index.js';
import type { Command } from '../../src/codec/model.js';
import { repoRoot, startRadicale, type DavServerHandle } from '../support/index.js';
import { alert, postSyncml, ScriptedClient, startTestGateway, statusesOf, syncCmd, type TestGateway } from '../support/gateway.js';

const SJIS = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity', 'shift-jis-card-charset.vcf'));
const MARK = 'RAW-BYTES-HERE';

/** The XML of `body` with each marker replaced by raw (non-UTF-8) bytes, as the phone sends them. */
function withRawBytes(client: ScriptedClient, body: Command[], parts: Buffer[]): Uint8Array {
  const xml = Buffer.from(encodeMessage(client.message(body), { encoding: 'xml' }));
  const out: Buffer[] = [];
  let from = 0;
  for (const part of parts) {
    const at = xml.indexOf(MARK, from);
    assert.ok(at >= 0, 'marker in the message');
    out.push(xml.subarray(from, at), part);
    from = at + MARK.length;
  }
  out.push(xml.subarray(from));
  return new Uint8Array(Buffer.concat(out));
}

describe('fidelity (#13) through the engine: card charset bytes and unknown datastore names', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({ dav });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  async function session(deviceId: string, sync: (c: ScriptedClient) => Promise<void>): Promise<ScriptedClient> {
    const c = new ScriptedClient(gw.url, deviceId, '1', { user: dav.user, password: dav.password });
    const init = await c.send([alert('1', '201', 'contacts', './contacts', { next: '1' })]);
    assert.equal(init.status, 200, init.text.slice(0, 300));
    await sync(c);
    return c;
  }

  it('defect 5: unlabelled Shift_JIS bytes reach the server as Japanese (whole item)', async function () {
    await session('sjis-whole', async (c) => {
      const body: Command[] = [syncCmd('2', 'contacts', './contacts', [
        { kind: 'Add', cmdId: '3', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: '1' }, data: MARK }] },
      ])];
      const res = await postSyncml(c.url, withRawBytes(c, body, [SJIS]));
      const st = statusesOf(res.message);
      assert.equal(st.find((s) => s.cmd === 'Add')?.data, '201', res.text.slice(0, 500));
    });
    const stored = (await dav.listItems('contacts')).map((i) => i.data).find((d) => d.includes('100-0005'));
    assert.ok(stored, 'the card is on the server');
    assert.ok(!stored.includes('\ufffd'), stored);
    assert.match(stored, /会議は月曜日の午後/);
    assert.match(stored, /千代田区丸の内1-1/);
    assert.match(stored, /山田/);
  });

  it('defect 5: the same card as a large object cut inside a two-byte character', async function () {
    const cut = SJIS.indexOf(Buffer.from('NOTE:')) + 6; // one byte into 会 (0x89 0xEF)
    await session('sjis-chunks', async (c) => {
      const first: Command[] = [syncCmd('2', 'contacts', './contacts', [
        { kind: 'Add', cmdId: '3', meta: { type: 'text/x-vcard', size: SJIS.length }, items: [{ source: { locURI: '7' }, data: MARK, moreData: true }] },
      ])];
      const r1 = await postSyncml(c.url, withRawBytes(c, first, [SJIS.subarray(0, cut)]));
      assert.equal(statusesOf(r1.message).find((s) => s.cmd === 'Add')?.data, '213', r1.text.slice(0, 500));
      if (r1.message?.header.respURI) c.url = r1.message.header.respURI;
      const second: Command[] = [syncCmd('4', 'contacts', './contacts', [
        { kind: 'Add', cmdId: '5', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: '7' }, data: MARK }] },
      ])];
      const r2 = await postSyncml(c.url, withRawBytes(c, second, [SJIS.subarray(cut)]));
      assert.equal(statusesOf(r2.message).find((s) => s.cmd === 'Add')?.data, '201', r2.text.slice(0, 500));
    });
    const stored = (await dav.listItems('contacts')).map((i) => i.data).filter((d) => d.includes('100-0005'));
    // A slow sync matches the joined card with the one stored before (same content): had the
    // chunks lost their bytes, a second, different card would be there.
    assert.equal(stored.length, 1, stored.join('\n---\n'));
    for (const d of stored) {
      assert.ok(!d.includes('\ufffd'), d);
      assert.match(d, /会議は月曜日の午後/);
    }
  });

  it('defect 11: an unknown datastore name is answered 404 and recorded with the line to add', async function () {
    const c = new ScriptedClient(gw.url, 'unknown-names', '1', { user: dav.user, password: dav.password });
    const res = await c.send([alert('1', '201', 'telecom/pb.vcf', './phonebook', { next: '1' })]);
    assert.equal(statusesOf(res.message).find((s) => s.cmd === 'Alert')?.data, '404', res.text.slice(0, 500));
    const rec = await gw.state.getDevice({ account: 'alice', deviceId: 'unknown-names' });
    const seen = rec?.unknownDatastores ?? [];
    assert.equal(seen.length, 1, JSON.stringify(rec));
    assert.equal(seen[0]!.uri, 'telecom/pb.vcf');
    assert.equal(seen[0]!.source, './phonebook');
    assert.match(seen[0]!.hint, /telecom\/pb\.vcf/);
  });
});
