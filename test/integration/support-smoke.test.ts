// Checks that the test support layer really works: real Redis, Radicale and Xandikos start,
// serve, stop and keep their data; the SyncEvolution client reaches an HTTP server; the
// generated phone contacts have the promised shape.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { statSync } from 'node:fs';
import path from 'node:path';
import {
  SyncEvolutionClient, cellPhoneOf, generateContacts21, makeTempDir, mutateContact, parseMultistatus,
  parseSyncReport, redisCommand, startRadicale, startRedis, startXandikos,
} from '../support/index.js';
import type { DavServerHandle, RedisHandle } from '../support/index.js';

const CARD = [
  'BEGIN:VCARD', 'VERSION:3.0', 'UID:smoke-1', 'FN:Jürgen Müller', 'N:Müller;Jürgen;;;',
  'TEL;TYPE=CELL:+49 170 1234567', 'END:VCARD', '',
].join('\r\n');

describe('test support: redis-server', function () {
  let redis: RedisHandle | undefined;
  after(async () => redis?.dispose());

  it('answers PING, is gone after kill() and back after restart()', async () => {
    redis = await startRedis();
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await redisCommand(redis.port, 'PING'), '+PONG');
    assert.equal(await redisCommand(redis.port, 'SET k v'), '+OK');
    await redis.kill();
    await assert.rejects(redisCommand(redis.port, 'PING'));
    await redis.restart();
    assert.equal(await redisCommand(redis.port, 'PING'), '+PONG');
    // --save "" and no AOF: a restart starts empty
    assert.equal(await redisCommand(redis.port, 'EXISTS k'), ':0');
  });
});

/** PROPFIND Depth 0 on a collection: the resourcetype and component-set as raw XML text. */
async function collectionProps(dav: DavServerHandle, url: string): Promise<string> {
  const res = await dav.request('PROPFIND', url, {
    headers: { Depth: '0', 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
      + '<D:prop><D:resourcetype/><C:supported-calendar-component-set/></D:prop></D:propfind>',
  });
  assert.equal(res.status, 207, `PROPFIND ${url}`);
  const body = await res.text();
  assert.equal(parseMultistatus(body).length, 1);
  return body;
}

function davSuite(name: string, start: () => Promise<DavServerHandle>, withAuth: boolean): void {
  describe(`test support: ${name}`, function () {
    let dav: DavServerHandle;
    before(async function () {
      const t0 = Date.now();
      dav = await start();
      assert.ok(Date.now() - t0 < 5000, `${name} took ${Date.now() - t0} ms to start`);
    });
    after(async () => dav?.dispose());

    it('has an address book, a VEVENT calendar and a VTODO list', async () => {
      assert.match(await collectionProps(dav, dav.collections.contacts), /addressbook/);
      assert.match(await collectionProps(dav, dav.collections.calendar), /<[\w:]*calendar\s*\/>[\s\S]*name="VEVENT"/);
      assert.match(await collectionProps(dav, dav.collections.tasks), /name="VTODO"/);
      assert.deepEqual(await dav.listItems('contacts'), []);
    });

    it('lists a PUT vCard back, keeps it over stop/start, deletes it', async () => {
      const { href, etag } = await dav.putItem('contacts', 'smoke-1.vcf', CARD);
      assert.ok(etag, 'PUT returned an ETag');
      let items = await dav.listItems('contacts');
      assert.equal(items.length, 1);
      assert.equal(items[0].href, href);
      assert.match(items[0].data, /FN:Jürgen Müller\r\n/);
      assert.equal((await dav.getItem(href))?.etag, etag);

      await dav.stop();
      await assert.rejects(fetch(dav.collections.contacts));
      await dav.start();
      items = await dav.listItems('contacts');
      assert.deepEqual(items.map((i) => i.href), [href]);

      await dav.deleteItem(href);
      assert.deepEqual(await dav.listItems('contacts'), []);
      assert.equal(await dav.getItem(href), undefined);
    });

    it('keeps events and tasks apart', async () => {
      const cal = (comp: string, uid: string): string => [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//smoke//EN', `BEGIN:${comp}`, `UID:${uid}`,
        'DTSTAMP:20250101T000000Z', 'DTSTART:20250102T100000Z', 'SUMMARY:smoke', `END:${comp}`, 'END:VCALENDAR', '',
      ].join('\r\n');
      await dav.putItem('calendar', 'e1.ics', cal('VEVENT', 'e1'));
      await dav.putItem(dav.collections.tasks, 't1.ics', cal('VTODO', 't1'));
      assert.deepEqual((await dav.listItems('calendar')).map((i) => /UID:(\S+)/.exec(i.data)?.[1]), ['e1']);
      assert.deepEqual((await dav.listItems('tasks')).map((i) => /UID:(\S+)/.exec(i.data)?.[1]), ['t1']);
    });

    if (withAuth) {
      it('rejects requests without or with wrong credentials', async () => {
        const anon = await fetch(dav.collections.contacts, { method: 'PROPFIND', headers: { Depth: '0' } });
        assert.equal(anon.status, 401);
        const wrong = await fetch(dav.collections.contacts, {
          method: 'PROPFIND',
          headers: { Depth: '0', Authorization: `Basic ${Buffer.from(`${dav.user}:nope`).toString('base64')}` },
        });
        assert.equal(wrong.status, 401);
      });
    }
  });
}

davSuite('Radicale', () => startRadicale(), true);
davSuite('Xandikos', () => startXandikos(), false);

describe('test support: SyncEvolution client', function () {
  it('POSTs a SyncML init with our DevID, credentials and datastore URI', async () => {
    const posts: Array<{ type: string; body: Buffer }> = [];
    const srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({ type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = srv.address() as AddressInfo;
      const phone = new SyncEvolutionClient({
        dir: makeTempDir('phone'), url: `http://127.0.0.1:${port}/syncml`, deviceId: 'smoke-phone',
        auth: 'basic', datastores: { contacts: 'card' }, logLevel: 2, timeoutMs: 30_000,
      });
      const report = await phone.sync('slow', { only: ['contacts'] });
      // Without the curl preload shim the client dies with SIGSEGV before sending anything.
      assert.equal(posts.length, 1, report.output);
      assert.notEqual(report.exitCode, 0);
      assert.equal(posts[0].type, 'application/vnd.syncml+xml');
      const xml = posts[0].body.toString('utf8');
      assert.match(xml, /<Source><LocURI>smoke-phone<\/LocURI>/);
      assert.match(xml, /<Type xmlns='syncml:metinf'>syncml:auth-basic<\/Type>/);
      assert.match(xml, new RegExp(`<Data>${Buffer.from('alice:secret').toString('base64')}</Data>`));
      assert.match(xml, /<Alert><CmdID>\d+<\/CmdID><Data>201<\/Data>[\s\S]*<Target><LocURI>card<\/LocURI>/);

      phone.reconfigure({ wbxml: true });
      await phone.sync('two-way', { only: ['contacts'] });
      assert.equal(posts.length, 2);
      assert.equal(posts[1].type, 'application/vnd.syncml+wbxml');
    } finally {
      srv.close();
    }
  });

  it('writeItem gives every rewrite a newer whole-second mtime', async () => {
    // The file backend compares mtimes in whole seconds: two edits within one second (or an
    // edit in the same second as the last sync) must still look different.
    const phone = new SyncEvolutionClient({ dir: makeTempDir('phone'), url: 'http://127.0.0.1:9/' });
    const file = path.join(phone.itemsDir('contacts'), 'a.vcf');
    const sec = (): number => Math.floor(statSync(file).mtimeMs / 1000);
    phone.writeItem('contacts', 'a.vcf', CARD);
    const first = sec();
    phone.writeItem('contacts', 'a.vcf', CARD.replace('1234567', '7654321'));
    assert.ok(sec() > first, `${sec()} > ${first}`);
    const items = await phone.readItems('contacts');
    assert.deepEqual([...items.keys()], ['a.vcf']);
    assert.match(items.get('a.vcf')!, /7654321/);
    phone.deleteItem('contacts', 'a.vcf');
    assert.equal((await phone.readItems('contacts')).size, 0);
  });

  it('parses the sync report table', () => {
    const out = [
      '+---------------+-----+-----+-----+-----+-----+-----+-----+-----+-----+',
      '|      contacts |  1  |  2  |  3  |  0  |  5  |  0  |  1  |  0  |  0  |',
      '|      slow, 2 KB sent by client, 0 KB received                       |',
      '+---------------+-----+-----+-----+-----+-----+-----+-----+-----+-----+',
      '|         tasks |  0  |  0  |  0  |  0  |  0  |  0  |  0  |  0  |  0  |',
      '|      refresh-from-remote, 0 KB sent by client, 0 KB received        |',
    ].join('\n');
    const r = parseSyncReport(out, ['contacts', 'calendar', 'tasks']);
    assert.deepEqual(Object.keys(r), ['contacts', 'tasks']);
    assert.deepEqual(r.contacts, {
      actualMode: 'slow', localNew: 1, localMod: 2, localDel: 3, localErr: 0,
      remoteNew: 5, remoteMod: 0, remoteDel: 1, remoteErr: 0, conflicts: 0,
    });
    assert.equal(r.tasks.actualMode, 'refresh-from-remote');
  });
});

describe('test support: generated vCard 2.1 contacts', () => {
  const contacts = generateContacts21(40, 3);

  it('is deterministic and different per seed', () => {
    assert.deepEqual(generateContacts21(40, 3), contacts);
    assert.notDeepEqual(generateContacts21(40, 4), contacts);
    assert.equal(new Set(contacts.map((c) => c.name)).size, 40);
  });

  it('looks like a phone export', () => {
    const all = contacts.map((c) => c.text).join('');
    for (const c of contacts) {
      assert.match(c.text, /^BEGIN:VCARD\r\nVERSION:2\.1\r\n[\s\S]*END:VCARD\r\n$/);
      assert.doesNotMatch(c.text, /[^\r]\n/, 'bare LF');
      assert.match(c.text, /\r\nTEL;CELL;VOICE:\+49 170 \d{7}\r\n/);
    }
    assert.match(all, /\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:[^\r]*=C3=[0-9A-F]{2}/);
    assert.match(all, /=\r\n/, 'some QP value has a soft line break');
    assert.match(all, /TEL;HOME:/);
    assert.match(all, /TEL;WORK;FAX:/);
    assert.match(all, /EMAIL;INTERNET:/);
    for (const p of ['ADR;HOME', 'ORG', 'TITLE', 'NOTE', 'BDAY', 'URL']) assert.match(all, new RegExp(`\\r\\n${p}[;:]`), p);
    // PHOTO: 2.1 BASE64, continuation lines start with a space, ended by an empty line
    const photos = [...all.matchAll(/PHOTO;ENCODING=BASE64;TYPE=(JPEG|PNG):((?:[^\r]*\r\n)(?: [^\r]*\r\n)*)\r\n/g)];
    assert.deepEqual([...new Set(photos.map((m) => m[1]))].sort(), ['JPEG', 'PNG']);
    for (const m of photos) {
      const bytes = Buffer.from(m[2].replace(/\s+/g, ''), 'base64');
      if (m[1] === 'JPEG') assert.deepEqual([...bytes.subarray(0, 2), ...bytes.subarray(-2)], [0xff, 0xd8, 0xff, 0xd9]);
      else assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG');
    }
    // no QP line (hard line, not PHOTO data) is longer than 76 characters
    for (const line of all.split('\r\n')) if (!line.startsWith('PHOTO') && !line.startsWith(' ')) assert.ok(line.length <= 76, line);
  });

  it('QP values decode to the original UTF-8', () => {
    const note = contacts.map((c) => c.text).find((t) => t.includes('\r\nNOTE;'));
    assert.ok(note, 'a contact with a NOTE');
    const m = /\r\nNOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:((?:[^\r]*=\r\n)*[^\r]*)\r\n/.exec(note);
    assert.ok(m);
    const qp = m[1].replace(/=\r\n/g, '');
    const decoded = Buffer.from(qp.replace(/=([0-9A-F]{2})/g, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))), 'latin1').toString('utf8');
    assert.match(decoded, /^Kontakt Nr\. \d+ aus .+\.\r\nMet at the café near the Bahnhofstraße; likes naïve questions, crème brûlée/);
  });

  it('mutateContact changes the mobile number and nothing else', () => {
    const before = contacts[0].text;
    const { text, tel } = mutateContact(before);
    assert.equal(cellPhoneOf(text), tel);
    assert.notEqual(cellPhoneOf(before), tel);
    assert.equal(text.replace(tel, 'X'), before.replace(cellPhoneOf(before)!, 'X'));
    assert.equal(cellPhoneOf('BEGIN:VCARD\r\nTEL;TYPE=WORK:1\r\nTEL;TYPE=CELL,VOICE:+1 555\r\nEND:VCARD\r\n'), '+1 555');
  });
});
