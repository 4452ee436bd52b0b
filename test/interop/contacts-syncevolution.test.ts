// Interop: Debian's SyncEvolution client (the "phone") syncs contacts through the gateway into a
// real Radicale, with state in a real Redis. Run for XML and for WBXML.
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseContact } from '../../src/convert/contacts.js';
import {
  cellPhoneOf, generateContacts21, makeTempDir, mutateContact, startRadicale, startRedis, sleep,
  SyncEvolutionClient, type DavServerHandle, type RedisHandle,
} from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface Summary { fn: string; tels: string[]; emails: string[]; org: string; photo: boolean }

/** The fields the test compares, normalised: FN, TEL digits, e-mails, ORG, has-photo. */
function summarise(text: string): Summary {
  const c = parseContact(text);
  const vals = (name: string): string[] => c.properties.filter((p) => p.name === name).map((p) => p.values.join(';'));
  return {
    fn: (vals('FN')[0] ?? '').trim(),
    tels: vals('TEL').map((t) => t.replace(/[^\d+]/g, '')).sort(),
    emails: vals("EMAIL").map((e) => e.toLowerCase()).filter((e) => e !== "").sort(),
    org: (vals('ORG')[0] ?? '').replace(/[;\\]+$/g, ''),
    photo: vals('PHOTO').length > 0,
  };
}

function keyed(items: Iterable<string>): Map<string, Summary> {
  const out = new Map<string, Summary>();
  for (const t of items) {
    const s = summarise(t);
    out.set(`${s.fn}|${s.tels.join(',')}`, s);
  }
  return out;
}

for (const wbxml of [false, true]) {
  describe(`interop: SyncEvolution client, contacts, ${wbxml ? 'WBXML' : 'XML'}`, function () {
    this.timeout(240_000);
    let redis: RedisHandle;
    let dav: DavServerHandle;
    let gw: TestGateway;
    let phone: SyncEvolutionClient;
    let dir: string;

    before(async function () {
      dir = makeTempDir(`interop-contacts-${wbxml ? 'wbxml' : 'xml'}-`);
      [redis, dav] = await Promise.all([startRedis(), startRadicale()]);
      gw = await startTestGateway({ dav, redisUrl: redis.url });
      phone = new SyncEvolutionClient({
        dir: path.join(dir, 'phone'), url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
        wbxml, legacy: true, datastores: { contacts: 'contacts' },
      });
    });

    after(async function () {
      await gw?.close();
      await Promise.all([dav?.dispose(), redis?.stop()]);
    });

    it('(a) slow sync of 50 vCard 2.1 contacts puts all 50 into Radicale with their content', async function () {
      const generated = generateContacts21(50, wbxml ? 7 : 3);
      for (const c of generated) phone.writeItem('contacts', c.name, c.text);
      const t0 = Date.now();
      const report = await phone.sync('slow', { only: ['contacts'] });
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      assert.equal(report.datastores['contacts']?.remoteNew, 50, report.output.slice(-3000));
      const onServer = await dav.listItems('contacts');
      assert.equal(onServer.length, 50);
      const expected = keyed(generated.map((g) => g.text));
      const actual = keyed(onServer.map((i) => i.data));
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
      for (const [k, exp] of expected) assert.deepEqual(actual.get(k), exp, `contact ${k}`);
      for (const item of onServer) {
        assert.match(item.data, /VERSION:3\.0/);
        assert.doesNotMatch(item.data, /QUOTED-PRINTABLE|CHARSET=/i, 'server copy must not carry 2.1 encodings');
      }
      // Non-ASCII survives the QP/CHARSET round trip.
      assert.ok(onServer.some((i) => [...i.data].some((ch) => ch.charCodeAt(0) > 127)), 'some names are non-ASCII');
      console.log(`      slow sync of 50 contacts (${wbxml ? 'WBXML' : 'XML'}): ${seconds.toFixed(2)} s`);
    });

    it('(b) two-way: 3 edits, 2 adds, 1 delete on the phone and 2 edits + 1 add on the server meet in the middle', async function () {
      const phoneItems = await phone.readItems('contacts');
      const names = [...phoneItems.keys()].sort();
      await sleep(1100); // the file backend sees changes by mtime (1 s resolution)
      const newTels: string[] = [];
      for (const n of names.slice(0, 3)) {
        const m = mutateContact(phoneItems.get(n)!);
        newTels.push(m.tel.replace(/\s/g, ''));
        phone.writeItem('contacts', n, m.text);
      }
      const extra = generateContacts21(52, 99).slice(50);
      for (const c of extra) phone.writeItem('contacts', `new-${c.name}`, c.text);
      const deletedFn = summarise(phoneItems.get(names[3]!)!).fn;
      phone.deleteItem('contacts', names[3]!);

      // On the server: edit two items that the phone did not touch, add one.
      const serverItems = await dav.listItems('contacts');
      const untouched = serverItems.filter((i) => {
        const s = summarise(i.data);
        return ![0, 1, 2, 3].some((k) => summarise(phoneItems.get(names[k]!)!).fn === s.fn && cellPhoneOf(phoneItems.get(names[k]!)!)?.replace(/\s/g, '') === cellPhoneOf(i.data)?.replace(/\s/g, ''));
      });
      const serverTels: string[] = [];
      for (const item of untouched.slice(0, 2)) {
        const m = mutateContact(item.data);
        serverTels.push(m.tel.replace(/\s/g, ''));
        await dav.putItem('contacts', decodeURIComponent(item.href.split('/').pop()!), m.text);
      }
      await dav.putItem('contacts', 'server-added.vcf', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:server-added-1\r\nN:Server;Added;;;\r\nFN:Added Server\r\nTEL;TYPE=CELL:+49 160 5550001\r\nEND:VCARD\r\n');

      const report = await phone.sync('two-way', { only: ['contacts'] });
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      const ds = report.datastores['contacts']!;
      assert.deepEqual(
        { remoteNew: ds.remoteNew, remoteMod: ds.remoteMod, remoteDel: ds.remoteDel, localNew: ds.localNew, localMod: ds.localMod, localDel: ds.localDel },
        { remoteNew: 2, remoteMod: 3, remoteDel: 0 + 1, localNew: 1, localMod: 2, localDel: 0 },
        report.output.slice(-3000),
      );

      const phoneNow = keyed((await phone.readItems('contacts')).values());
      const serverNow = keyed((await dav.listItems('contacts')).map((i) => i.data));
      assert.equal(serverNow.size, 50 + 2 - 1 + 1);
      assert.deepEqual([...phoneNow.keys()].sort(), [...serverNow.keys()].sort(), 'both sides hold the same contacts');
      for (const [k, s] of serverNow) {
        const p = phoneNow.get(k)!;
        assert.deepEqual({ ...p, photo: s.photo }, s, `contact ${k} is the same on both sides`);
      }
      const allServerTels = [...serverNow.values()].flatMap((s) => s.tels);
      for (const t of [...newTels, ...serverTels, '+491605550001']) assert.ok(allServerTels.includes(t), `tel ${t} present`);
      assert.ok(![...serverNow.values()].some((s) => s.fn === deletedFn && s.tels.length === 0));
    });

    it('(c) a sync with no changes changes nothing', async function () {
      const before = await dav.listItems('contacts');
      await sleep(1100);
      const report = await phone.sync('two-way', { only: ['contacts'] });
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      const ds = report.datastores['contacts']!;
      assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0]);
      assert.equal(ds.actualMode.includes('slow'), false, `mode ${ds.actualMode}`);
      const after = await dav.listItems('contacts');
      assert.deepEqual(after.map((i) => `${i.href} ${i.etag}`).sort(), before.map((i) => `${i.href} ${i.etag}`).sort());
    });
  });
}
