// Interop: the SyncEvolution client syncs memos (text/plain on the phone and on the wire, as
// SyncEvolution's memo sources do) through the gateway into a VJOURNAL collection on Radicale.
// Slow sync, edits and deletes on both sides, a new phone filled from the server, a memo large
// enough to travel as a large object, and a no-change sync. XML and WBXML.
import assert from 'node:assert/strict';
import path from 'node:path';
import ICAL from 'ical.js';
import { makeTempDir, sleep, startRadicale, SyncEvolutionClient, type DavServerHandle, type SyncReport } from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

/** Memo text as compared across phone and server: LF line ends, no trailing blank lines. */
const norm = (t: string): string => t.replace(/\r\n?/g, '\n').replace(/\n+$/, '');

const LONG = Array.from({ length: 400 }, (_, i) => `Line ${i + 1}: Grüße aus Köln, Ελληνικά, 日本語のメモ.`).join('\n');

const MEMOS: Record<string, string> = {
  'shopping.txt': 'Shopping\nmilk\neggs\nbread',
  'greek.txt': 'Σημείωση για την Zoë\nΤρίτη 10:00 — γιατρός',
  'same-1.txt': 'Call back',
  'same-2.txt': 'Call back',
  'long.txt': `Long memo\n${LONG}`,
};

function journal(text: string): { summary: string; description: string; uid: string } {
  const j = new ICAL.Component(ICAL.parse(text) as unknown[]).getFirstSubcomponent('vjournal')!;
  return {
    summary: String(j.getFirstPropertyValue('summary') ?? ''),
    description: String(j.getFirstPropertyValue('description') ?? ''),
    uid: String(j.getFirstPropertyValue('uid') ?? ''),
  };
}

for (const wbxml of [false, true]) describe(`interop: SyncEvolution client, memos to VJOURNAL (${wbxml ? 'WBXML' : 'XML'})`, function () {
  this.timeout(600_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let dir: string;
  let a: SyncEvolutionClient;
  const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
    dir: path.join(dir, id), deviceId: `sn-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
    wbxml, maxMsgSize: 8000, datastores: { notes: 'notes' },
  });
  const ok = (r: SyncReport): void => assert.equal(r.exitCode, 0, r.output.slice(-4000));
  const serverTexts = async (): Promise<string[]> => (await dav.listItems('notes')).map((i) => norm(journal(i.data).description)).sort();
  const phoneTexts = async (p: SyncEvolutionClient): Promise<string[]> => [...(await p.readItems('notes')).values()].map(norm).sort();

  before(async function () {
    dir = makeTempDir(`interop-notes-${wbxml ? 'wbxml' : 'xml'}`);
    dav = await startRadicale();
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { datastores: { notes: { kind: 'notes', uris: ['notes', 'memo', 'Notes'], collection: dav.collections.notes } } }),
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('slow sync: every memo becomes one VJOURNAL (first line = SUMMARY, text = DESCRIPTION), two equal memos stay two', async function () {
    a = phone('a');
    for (const [name, text] of Object.entries(MEMOS)) a.writeItem('notes', name, `${text}\n`);
    const r = await a.sync('slow', { only: ['notes'] });
    ok(r);
    assert.equal(r.datastores['notes']?.remoteNew, Object.keys(MEMOS).length);
    const items = (await dav.listItems('notes')).map((i) => journal(i.data));
    assert.deepEqual(items.map((j) => norm(j.description)).sort(), Object.values(MEMOS).map(norm).sort());
    for (const j of items) assert.equal(j.summary, j.description.split('\n')[0], 'SUMMARY is the first line');
    assert.equal(new Set(items.map((j) => j.uid)).size, items.length, 'every VJOURNAL has its own UID');
    assert.ok(gw.logLines().some((l) => l['device'] === 'sn-a' && l['msg'] === 'sync alerted' && JSON.stringify(l['format']).includes('text/plain')));
  });

  it('two-way: the server\'s edit and new journal reach the phone, the phone\'s edit and delete reach the server', async function () {
    const items = await dav.listItems('notes');
    const shopping = items.find((i) => journal(i.data).summary === 'Shopping')!;
    await dav.putItem('notes', shopping.href.split('/').pop()!, shopping.data.replace(/DESCRIPTION:[^\r\n]*(\r?\n [^\r\n]*)*/, 'DESCRIPTION:Shopping\\nmilk\\neggs\\nbread\\ncoffee (added on the server)'));
    await dav.putItem('notes', 'server-new.ics', [
      'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VJOURNAL', 'UID:server-journal-1', 'DTSTAMP:20250101T120000Z',
      'SUMMARY:Written on Nextcloud', 'DESCRIPTION:Written on Nextcloud\\nsecond line', 'END:VJOURNAL', 'END:VCALENDAR', '',
    ].join('\r\n'));
    await sleep(1100);
    a.writeItem('notes', 'greek.txt', `${MEMOS['greek.txt']}\nΑλλαγή στο τηλέφωνο\n`);
    a.deleteItem('notes', 'same-2.txt');

    const r = await a.sync('two-way', { only: ['notes'] });
    ok(r);
    const ds = r.datastores['notes']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.remoteMod, ds.remoteDel], [1, 1, 1, 1]);
    const phone = await phoneTexts(a);
    assert.ok(phone.includes('Shopping\nmilk\neggs\nbread\ncoffee (added on the server)'), 'server edit on the phone');
    assert.ok(phone.includes('Written on Nextcloud\nsecond line'), 'server journal on the phone');
    assert.deepEqual(await serverTexts(), phone, 'both sides hold the same memos');
    assert.equal((await serverTexts()).filter((t) => t === 'Call back').length, 1, 'the deleted duplicate is gone, the other stays');
  });

  it('a new phone filled from the server gets every memo, the long one intact', async function () {
    const b = phone('b');
    const r = await b.sync('refresh-from-server', { only: ['notes'] });
    ok(r);
    assert.equal(r.datastores['notes']?.localNew, (await dav.listItems('notes')).length);
    assert.deepEqual(await phoneTexts(b), await serverTexts());
    assert.ok((await phoneTexts(b)).includes(norm(MEMOS['long.txt']!)), 'the long memo arrived whole');
  });

  it('a two-way sync with no changes changes nothing', async function () {
    await sleep(1100);
    const before = (await dav.listItems('notes')).map((i) => `${i.href} ${i.etag}`).sort();
    const r = await a.sync('two-way', { only: ['notes'] });
    ok(r);
    const ds = r.datastores['notes']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual((await dav.listItems('notes')).map((i) => `${i.href} ${i.etag}`).sort(), before);
  });
});
