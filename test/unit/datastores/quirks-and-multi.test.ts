// Provider quirks (iCalendar SEQUENCE/DTSTAMP touch-ups, Google's create without If-None-Match)
// and MultiCollectionStore routing over in-memory stores.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../../../src/errors.js';
import { createDavStore, MultiCollectionStore } from '../../../src/datastores/index.js';
import type { ChangeSet, DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/index.js';
import { maxSequence, touchICalendar } from '../../../src/datastores/quirks.js';

const EVENT = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VTIMEZONE', 'TZID:X', 'DTSTAMP:19990101T000000Z', 'END:VTIMEZONE',
  'BEGIN:VEVENT', 'UID:e1', 'DTSTAMP:20200101T000000Z', 'SEQUENCE:2', 'SUMMARY:a very long summary that', ' is folded',
  'BEGIN:VALARM', 'ACTION:DISPLAY', 'END:VALARM', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:e1', 'RECURRENCE-ID:20200102T000000Z', 'DTSTAMP:20200101T000000Z', 'END:VEVENT',
  'END:VCALENDAR', '',
].join('\r\n');

describe('iCalendar touch-ups for Google', () => {
  const now = new Date('2024-06-01T12:34:56.789Z');
  it('raises SEQUENCE above the stored one (adding it where missing) and sets DTSTAMP', () => {
    const out = touchICalendar(EVENT, { bumpSequenceOnUpdate: true, advanceDtstampOnUpdate: true }, 5, now);
    assert.deepEqual([...out.matchAll(/^SEQUENCE:(\d+)$/gm)].map((m) => m[1]), ['6', '6']);
    assert.deepEqual([...out.matchAll(/^DTSTAMP:(\S+)$/gm)].map((m) => m[1]), ['19990101T000000Z', '20240601T123456Z', '20240601T123456Z']);
    assert.match(out, /SUMMARY:a very long summary that\r\n is folded\r\n/, 'other lines stay as they were');
    assert.ok(out.includes('\r\n') && !/[^\r]\n/.test(out));
    assert.equal(maxSequence(out), 6);
  });
  it('own SEQUENCE higher than the stored one wins (+1); nothing happens without quirks', () => {
    assert.equal(maxSequence(touchICalendar(EVENT, { bumpSequenceOnUpdate: true, advanceDtstampOnUpdate: false }, 0, now)), 3);
    assert.equal(touchICalendar(EVENT, { bumpSequenceOnUpdate: false, advanceDtstampOnUpdate: false }), EVENT);
    const vcard = 'BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n';
    assert.equal(touchICalendar(vcard, { bumpSequenceOnUpdate: true, advanceDtstampOnUpdate: true }), vcard);
  });
});

describe('DavStore with the google quirks (scripted server)', () => {
  it('creates without If-None-Match and bumps SEQUENCE over the stored item on update', async () => {
    const reqs: Array<{ method: string; headers: Record<string, unknown>; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        reqs.push({ method: req.method!, headers: req.headers, body });
        if (req.method === 'PUT') return void res.writeHead(201, { ETag: '"e2"' }).end();
        // multiget of the stored item, SEQUENCE 7
        const stored = EVENT.replace('SEQUENCE:2', 'SEQUENCE:7');
        res.writeHead(207, { 'Content-Type': 'application/xml' }).end(
          `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/e1.ics</d:href><d:propstat><d:prop><d:getetag>"e1"</d:getetag><c:calendar-data>${stored}</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cal/`;
      const store = createDavStore({
        kind: 'events', collectionUrl: url, credentials: { bearer: 't' },
        quirks: { ifNoneMatchOnCreate: false, bumpSequenceOnUpdate: true, advanceDtstampOnUpdate: true },
      });
      await store.create(EVENT, 'x');
      assert.equal(reqs[0].headers['if-none-match'], undefined);
      reqs.length = 0;
      await store.update('/cal/e1.ics', EVENT, '"e1"');
      const put = reqs.find((r) => r.method === 'PUT')!;
      assert.equal(put.headers['if-match'], '"e1"');
      assert.match(put.body, /^SEQUENCE:8\r$/m);
      assert.doesNotMatch(put.body, /DTSTAMP:20200101T000000Z/);
      // The default store still sends If-None-Match.
      reqs.length = 0;
      await createDavStore({ kind: 'events', collectionUrl: url, credentials: { bearer: 't' } }).create(EVENT, 'x');
      assert.equal(reqs[0].headers['if-none-match'], '*');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

/** A DataStore in memory, with sync-tokens, for routing tests. */
class MemoryStore implements DataStore {
  readonly kind = 'contacts' as const;
  readonly items = new Map<string, StoredItem>();
  version = 1;
  calls: string[] = [];
  constructor(readonly collectionUrl: string) {}
  #path(): string {
    return new URL(this.collectionUrl).pathname;
  }
  async list(): Promise<Listing> {
    this.calls.push('list');
    return { items: [...this.items.values()].map(({ href, etag }) => ({ href, etag })), version: `v${this.version}` };
  }
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    this.calls.push(`fetch ${hrefs.length}`);
    return hrefs.map((h) => this.items.get(h)).filter((i): i is StoredItem => !!i);
  }
  async create(data: string, nameHint: string): Promise<ItemRef> {
    const href = `${this.#path()}${nameHint}.vcf`;
    this.items.set(href, { href, etag: '"1"', data });
    this.version++;
    return { href, etag: '"1"' };
  }
  async update(href: string, data: string): Promise<ItemRef> {
    this.calls.push(`update ${href}`);
    this.items.set(href, { href, etag: '"2"', data });
    return { href, etag: '"2"' };
  }
  async delete(href: string): Promise<void> {
    this.calls.push(`delete ${href}`);
    this.items.delete(href);
  }
  async changesSince(token: string): Promise<ChangeSet> {
    this.calls.push(`changes ${token}`);
    return { changed: [], deleted: [], syncToken: `v${this.version}` };
  }
}

describe('MultiCollectionStore', () => {
  const a = (): MemoryStore => new MemoryStore('http://dav.test/alice/personal/');
  const b = (): MemoryStore => new MemoryStore('http://dav.test/alice/work/');

  it('merges listings, creates in the chosen collection, routes update/delete/fetch by href', async () => {
    const [pa, wb] = [a(), b()];
    await pa.create('A', 'a1');
    await wb.create('B', 'b1');
    const m = new MultiCollectionStore([pa, wb], { createIn: 1 });
    const l = await m.list();
    assert.deepEqual(l.items.map((i) => i.href).sort(), ['/alice/personal/a1.vcf', '/alice/work/b1.vcf']);
    assert.deepEqual(JSON.parse(l.version!), { 'http://dav.test/alice/personal/': 'v2', 'http://dav.test/alice/work/': 'v2' });
    const created = await m.create('C', 'c1');
    assert.equal(created.href, '/alice/work/c1.vcf');
    assert.equal(m.collectionUrl, 'http://dav.test/alice/work/');
    await m.update('/alice/personal/a1.vcf', 'A2');
    assert.deepEqual(pa.calls.slice(-1), ['update /alice/personal/a1.vcf']);
    await m.delete('http://dav.test/alice/work/b1.vcf');
    assert.deepEqual(wb.calls.slice(-1), ['delete http://dav.test/alice/work/b1.vcf']);
    const got = await m.fetch(['/alice/personal/a1.vcf', '/alice/work/c1.vcf', '/elsewhere/x.vcf']);
    assert.deepEqual(got.map((i) => i.data).sort(), ['A2', 'C']);
    await assert.rejects(m.update('/elsewhere/x.vcf', 'X'), (e: unknown) => isGatewayError(e, 'NOT_FOUND'));
    await m.delete('/elsewhere/x.vcf'); // not ours: quietly nothing
  });

  it('composite sync-tokens: each collection gets its own token back', async () => {
    const [pa, wb] = [a(), b()];
    const m = new MultiCollectionStore([pa, wb]);
    const first = await m.changesSince('');
    assert.deepEqual(pa.calls, ['changes ']);
    await wb.create('B', 'b1');
    await m.changesSince(first.syncToken);
    assert.deepEqual(pa.calls, ['changes ', 'changes v1']);
    assert.deepEqual(wb.calls, ['changes ', 'changes v1']);
    await assert.rejects(m.changesSince('not json'), (e: unknown) => isGatewayError(e, 'REFRESH_REQUIRED'));
  });

  it('refuses nested collections, mixed kinds and a bad createIn', () => {
    const inner = new MemoryStore('http://dav.test/alice/personal/sub/');
    assert.throws(() => new MultiCollectionStore([a(), inner]), /lies inside/);
    assert.throws(() => new MultiCollectionStore([a(), b()], { createIn: 2 }), /createIn/);
    assert.throws(() => new MultiCollectionStore([]), /at least one/);
  });
});
