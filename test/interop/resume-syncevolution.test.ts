// Suspend and resume with Debian's SyncEvolution client. CTRL-C (SIGINT) makes the client suspend
// the running session; its next run opens with Alert 225 (resume). The gateway continues the
// interrupted session: the phone sends only what it had not sent yet, the server only what the
// phone had not confirmed, and both sides end with the same contacts, each exactly once.
// Real Radicale, embedded state store, XML and WBXML.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { contactKey, countKeys, duplicatesOf } from '../support/contact-keys.js';
import {
  generateContacts21, makeTempDir, sleep, startRadicale, SyncEvolutionClient, type DavServerHandle, type SyncReport,
} from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { convertContact } from '../../src/convert/contacts.js';

/** Resolves once the client's console output (the sync's out file) matches `re`. */
async function outputMatches(p: SyncEvolutionClient, re: RegExp, timeoutMs = 120_000): Promise<void> {
  const file = path.join(p.dir, 'last-sync.out');
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (existsSync(file) && re.test(readFileSync(file, 'utf8'))) return;
    await sleep(20);
  }
  throw new Error(`client output never matched ${re}`);
}

for (const wbxml of [false, true]) describe(`interop: SyncEvolution client suspends and resumes (contacts, ${wbxml ? 'WBXML' : 'XML'})`, function () {
  this.timeout(600_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let dir: string;
  const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
    dir: path.join(dir, id), deviceId: `sr-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
    legacy: true, wbxml, maxMsgSize: 4000, datastores: { contacts: 'contacts' },
  });
  const serverTexts = async (): Promise<string[]> => (await dav.listItems('contacts')).map((i) => i.data);
  const sortedKeys = (texts: Iterable<string>): string[] => [...texts].map(contactKey).sort();
  const ok = (r: SyncReport): void => assert.equal(r.exitCode, 0, r.output.slice(-4000));
  const suspended = (r: SyncReport): void => {
    assert.notEqual(r.exitCode, 0, `the sync finished before CTRL-C reached it:\n${r.output.slice(-2000)}`);
    assert.match(r.output, /suspended/i, r.output.slice(-2000));
  };
  const resumedLines = (device: string): Array<Record<string, unknown>> =>
    gw.logLines().filter((l) => l['device'] === device && l['msg'] === 'interrupted session resumed');

  before(async function () {
    dir = makeTempDir(`interop-resume-${wbxml ? 'wbxml' : 'xml'}`);
    dav = await startRadicale();
    gw = await startTestGateway({ dav });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  const N = 120;
  let a: SyncEvolutionClient;

  it(`phone to server: a slow sync of ${N} contacts suspended halfway is resumed; the phone sends only the rest`, async function () {
    a = phone('a');
    for (const c of generateContacts21(N, 21)) a.writeItem('contacts', c.name, c.text);
    const r1 = await a.sync('slow', { only: ['contacts'], interrupt: { when: () => outputMatches(a, new RegExp(`sent [3-9]\\d/${N}`)) } });
    suspended(r1);
    const afterFirst = (await serverTexts()).length;
    assert.ok(afterFirst > 0 && afterFirst < N, `part of the contacts arrived before the suspend (${afterFirst})`);

    const r2 = await a.sync('two-way', { only: ['contacts'] });
    ok(r2);
    assert.match(r2.output, /resum/i, 'the client resumed the session');
    assert.equal(resumedLines('sr-a').length, 1, 'the gateway continued the interrupted session');
    const sent = r2.datastores['contacts']!.remoteNew;
    assert.ok(sent < N, `the resumed session carried only the rest (${sent} of ${N})`);
    assert.ok(sent >= N - afterFirst, `at least what was missing (${sent} >= ${N - afterFirst})`);

    const server = await serverTexts();
    assert.deepEqual(duplicatesOf(countKeys(server)), [], 'no duplicate on the server');
    assert.deepEqual(sortedKeys(server), sortedKeys((await a.readItems('contacts')).values()), 'server holds exactly the phone\'s contacts');
  });

  it('after the resumed session, a two-way sync finds nothing to do', async function () {
    await sleep(1100);
    const r = await a.sync('two-way', { only: ['contacts'] });
    ok(r);
    const ds = r.datastores['contacts']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0]);
  });

  it(`server to phone: a new phone suspended while receiving ${N} contacts gets only the rest when it resumes, none twice`, async function () {
    const b = phone('b');
    const r1 = await b.sync('slow', { only: ['contacts'], interrupt: { when: () => outputMatches(b, new RegExp(`received [2-9]\\d/${N}`)) } });
    suspended(r1);
    const onPhone = (await b.readItems('contacts')).size;
    assert.ok(onPhone > 0 && onPhone < N, `part of the contacts arrived before the suspend (${onPhone})`);

    const r2 = await b.sync('two-way', { only: ['contacts'] });
    ok(r2);
    assert.equal(resumedLines('sr-b').length, 1, 'the gateway continued the interrupted session');
    assert.equal(r2.datastores['contacts']!.localNew, N - onPhone, 'the resumed session added exactly the missing contacts');
    const phoneTexts = [...(await b.readItems('contacts')).values()];
    assert.deepEqual(duplicatesOf(countKeys(phoneTexts)), [], 'no duplicate on the phone');
    assert.deepEqual(sortedKeys(phoneTexts), sortedKeys(await serverTexts()), 'the phone holds exactly the server\'s contacts');

    await sleep(1100);
    const r3 = await b.sync('two-way', { only: ['contacts'] });
    ok(r3);
    const ds = r3.datastores['contacts']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0], 'every item was mapped');
  });

  const LONG = 450;
  it(`server to phone, a queue long enough to be paged (${LONG} contacts, src/sync/outgoing-queue.ts): resumed after the first page, none twice, none lost`, async function () {
    const extra = generateContacts21(LONG - N, 77).map((c, i) => convertContact(c.text, 'vcard30').replace('BEGIN:VCARD\r\n', `BEGIN:VCARD\r\nUID:paged-${i}\r\n`));
    for (let i = 0; i < extra.length; i += 10) await Promise.all(extra.slice(i, i + 10).map((text, k) => dav.putItem('contacts', `paged-${i + k}.vcf`, text)));
    assert.equal((await serverTexts()).length, LONG);
    const c = phone('c');
    // Past the 200 changes kept in the session: the suspended session has read a page.
    const r1 = await c.sync('slow', { only: ['contacts'], interrupt: { when: () => outputMatches(c, new RegExp(`received 2[2-9]\\d/${LONG}`)) } });
    suspended(r1);
    const onPhone = (await c.readItems('contacts')).size;
    assert.ok(onPhone > 200 && onPhone < LONG, `part of the contacts arrived before the suspend (${onPhone})`);

    const r2 = await c.sync('two-way', { only: ['contacts'] });
    ok(r2);
    assert.equal(resumedLines('sr-c').length, 1, 'the gateway continued the interrupted session');
    assert.equal(r2.datastores['contacts']!.localNew, LONG - onPhone, 'the resumed session added exactly the missing contacts');
    const phoneTexts = [...(await c.readItems('contacts')).values()];
    assert.deepEqual(duplicatesOf(countKeys(phoneTexts)), [], 'no duplicate on the phone');
    assert.deepEqual(sortedKeys(phoneTexts), sortedKeys(await serverTexts()), 'the phone holds exactly the server\'s contacts');
    assert.ok(!gw.logLines().some((l) => l['msg'] === 'datastore failed; the next session synchronises it again'), 'the pages were there');
  });
});
