// The item-path multistatus parser and body writer (src/datastores/multistatus.ts, multistatus-reader.ts): the shape
// dav-store.ts reads (as tsdav gave it), entities, empty answers and failed propstats.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DAVResponse } from 'tsdav';
import { compactToXml, decodeEntities, parseResponseXml, scanResponse } from '../../../src/datastores/multistatus.js';
import { MultistatusReader, parseMultistatus } from '../../../src/datastores/multistatus-reader.js';

const outer = { status: 207, statusText: 'Multi-Status' };

describe('multistatus parsing (fast-xml-parser) for the item path', function () {
  it('gives href, status, ok and the props of 2xx propstats with camelCase names', function () {
    const res = parseMultistatus(
      '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
      '<D:response><D:href>/alice/contacts/a%40b.vcf</D:href>' +
      '<D:propstat><D:prop><D:getetag>"e1"</D:getetag><C:address-data>BEGIN:VCARD&#13;\nFN:A &amp; B &#x3C;x&#62;\nEND:VCARD\n</C:address-data><D:resourcetype/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>' +
      '<D:propstat><D:prop><D:getctag/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>' +
      '<D:response><D:href>/alice/contacts/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>' +
      '<D:sync-token>tok-1</D:sync-token></D:multistatus>', outer)!;
    assert.equal(res.length, 2);
    assert.equal(res[0]!.href, '/alice/contacts/a%40b.vcf');
    assert.equal(res[0]!.ok, true);
    assert.equal(res[0]!.props?.getetag, '"e1"');
    assert.equal(res[0]!.props?.addressData, 'BEGIN:VCARD\r\nFN:A & B <x>\nEND:VCARD', 'entities decoded once, text trimmed');
    assert.deepEqual(res[0]!.props?.resourcetype, {}, 'an empty element is present, without value');
    assert.ok(!('getctag' in (res[0]!.props ?? {})), 'a 404 propstat adds nothing');
    assert.equal(res[1]!.status, 404);
    assert.equal(res[1]!.ok, false);
    assert.equal((res[0]!.raw as { multistatus: { syncToken: string } }).multistatus.syncToken, 'tok-1');
  });

  it('an empty multistatus (nothing matched) is one entry without href; non-multistatus text is undefined', function () {
    const res = parseMultistatus('<?xml version="1.0"?>\n<multistatus xmlns="DAV:"/>', outer)!;
    assert.equal(res.length, 1);
    assert.equal(res[0]!.href, undefined);
    assert.equal(parseMultistatus('<html><body>login</body></html>', outer), undefined);
    assert.equal(parseMultistatus('not xml at all <', outer), undefined);
  });

  it('responses are parsed one at a time, with the same result as the whole body (prefixes, default namespace, top-level sync-token)', function () {
    const item = (p: string, i: number): string => `<${p}response><${p}href>/c/${i}.vcf</${p}href><${p}propstat><${p}prop><${p}getetag>"e${i}"</${p}getetag></${p}prop><${p}status>HTTP/1.1 200 OK</${p}status></${p}propstat></${p}response>`;
    for (const [p, root] of [['D:', '<D:multistatus xmlns:D="DAV:">'], ['', '<multistatus xmlns="DAV:">'], ['d:', '<d:multistatus xmlns:d="DAV:">']] as const) {
      const body = `<?xml version="1.0"?>${root}${[0, 1, 2].map((i) => item(p, i)).join('\n')}<${p}responsedescription>all</${p}responsedescription><${p}sync-token>tok</${p}sync-token></${p}multistatus>`;
      const res = parseMultistatus(body, outer)!;
      assert.deepEqual(res.map((r) => [r.href, r.props?.getetag, r.ok]), [0, 1, 2].map((i) => [`/c/${i}.vcf`, `"e${i}"`, true]));
      assert.equal((res[2]!.raw as { multistatus: { syncToken: string } }).multistatus.syncToken, 'tok');
    }
  });

  it('CDATA and comments: a `</response>` or `<response>` inside them ends or starts nothing', function () {
    const cdata = '<multistatus xmlns="DAV:"><response><href>/c/1.vcf</href><propstat><prop><getetag>"1"</getetag><x><![CDATA[</response><response>]]></x></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>';
    const res = parseMultistatus(cdata, outer)!;
    assert.equal(res.length, 1);
    assert.equal(res[0]!.props?.getetag, '"1"');
    assert.equal(res[0]!.props?.x, '</response><response>');
    const commented = parseMultistatus('<multistatus xmlns="DAV:"><!-- <response><href>/c/0.vcf</href></response> --><response><href>/c/1.vcf</href><!-- </response> --></response></multistatus>', outer)!;
    assert.deepEqual(commented.map((r) => r.href), ['/c/1.vcf']);
    const selfClosing = parseMultistatus('<multistatus xmlns="DAV:"><response/><response><href>/c/1.vcf</href></response></multistatus>', outer)!;
    assert.deepEqual(selfClosing.map((r) => r.href), [undefined, '/c/1.vcf']);
  });

  it('a body read in chunks cut anywhere (inside tags, names, CDATA, comments, multi-part text) gives what the whole body gives', function () {
    const bodies = [
      '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
        '<D:response><D:href>/alice/contacts/a%40b.vcf</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag><C:address-data>BEGIN:VCARD&#13;\nFN:A &amp; B\nEND:VCARD\n</C:address-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n' +
        '<D:response><D:href>/alice/contacts/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>' +
        '<D:sync-token>tok-1</D:sync-token></D:multistatus>',
      '<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<multistatus xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><!-- <response> --><response><href>/alice/contacts/</href><propstat><prop><getetag>"67"</getetag><resourcetype><collection /></resourcetype><sync-token>http://radicale.org/ns/sync/a1</sync-token></prop><status>HTTP/1.1 200 OK</status></propstat></response>' +
        '<response ><href>/alice/contacts/b.vcf</href ><propstat><prop><getetag>"ff"</getetag><x><![CDATA[a</response>b]]></x><resourcetype /></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><CS:getctag /><sync-token /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>' +
        '<response><href>/c/ü.vcf</href><propstat><prop><getetag xml:lang="en">"e"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response><response/></multistatus>',
      '<multistatus xmlns="DAV:"/>',
      '<html><body>login</body></html>',
    ];
    const read = (chunks: string[]): { responses: DAVResponse[]; raw: unknown } => {
      const responses: DAVResponse[] = [];
      const reader = new MultistatusReader(outer, (r) => responses.push(r));
      for (const c of chunks) reader.write(c);
      return { responses, raw: reader.end() };
    };
    for (const body of bodies) {
      const whole = read([body]);
      fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 12 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), body.length];
        const chunked = read(at.slice(1).map((end, i) => body.slice(at[i], end)));
        assert.deepEqual(chunked, whole);
      }), { numRuns: 300 });
      // One character at a time: every cut at once.
      assert.deepEqual(read([...body]), whole);
    }
    assert.equal(read([bodies[1]!]).responses.length, 4);
    assert.equal(read([bodies[3]!]).raw, undefined, 'not a multistatus');
  });

  it('an unclosed response, or one neither the scan nor the parser reads, makes the body no multistatus', function () {
    for (const body of ['<multistatus xmlns="DAV:"><response><href>/c/1.vcf</href>', '<multistatus xmlns="DAV:"><response>only text</response></multistatus>']) {
      const reader = new MultistatusReader(outer, () => undefined);
      reader.write(body);
      assert.equal(reader.end(), undefined, body);
      assert.ok(reader.head.startsWith('<multistatus'), 'the head is kept for the error message');
    }
  });

  it('keeps only the unfinished part: a listing of 20,000 responses fed in 64 KB chunks never holds more than a chunk and a response', function () {
    const item = (i: number): string => `<response><href>/c/${i}.vcf</href><propstat><prop><getetag>"${i}"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>`;
    const body = `<multistatus xmlns="DAV:">${Array.from({ length: 20_000 }, (_, i) => item(i)).join('')}</multistatus>`;
    let seen = 0;
    const reader = new MultistatusReader(outer, (r) => {
      assert.equal(r.href, `/c/${seen}.vcf`);
      seen++;
    });
    let largest = 0;
    for (let i = 0; i < body.length; i += 65536) {
      reader.write(body.slice(i, i + 65536));
      largest = Math.max(largest, reader.heldChars);
    }
    assert.ok(reader.end());
    assert.equal(seen, 20_000);
    assert.ok(largest < 65536 + 200, `held at most ${largest} characters`);
  });

  it('entities: "&amp;#13;" stays the literal text "&#13;"', function () {
    assert.equal(decodeEntities('a&amp;#13;b&#13;&quot;&apos;&unknown;'), 'a&#13;b\r"\'&unknown;');
  });

  it('writes compact request bodies with attributes, text, arrays and empty elements', function () {
    assert.equal(
      compactToXml({ 'd:sync-collection': { _attributes: { 'xmlns:d': 'DAV:' }, 'd:sync-token': { _text: 'a&b' }, 'd:prop': { 'd:getetag': {} }, 'd:href': ['/x', '/y<'] } }),
      '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>a&amp;b</d:sync-token><d:prop><d:getetag/></d:prop><d:href>/x</d:href><d:href>/y&lt;</d:href></d:sync-collection>',
    );
  });
  it('the scan of a plain response gives exactly what fast-xml-parser gives (listing, multiget, 404s, repeated and empty elements)', function () {
    const spans = [
      '<response><href>/c/1.vcf</href><propstat><prop><getetag>"e1"</getetag><getcontenttype>text/vcard; charset=utf-8</getcontenttype></prop><status>HTTP/1.1 200 OK</status></propstat></response>',
      '<D:response>\n  <D:href>/alice/contacts/a%40b.vcf</D:href>\n  <D:propstat><D:prop><D:getetag>"e1"</D:getetag><C:address-data>BEGIN:VCARD&#13;\nFN:A &amp; B &#x3C;x&#62; &quot;q&quot;\nEND:VCARD&#13;\n</C:address-data><D:resourcetype/><D:displayname></D:displayname></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>\n  <D:propstat><D:prop><D:getctag/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>',
      '<d:response><d:href>/c/gone.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>',
      '<response><href>/c/2.ics</href><href>/c/2b.ics</href><propstat><prop><resourcetype><collection/><C:calendar/></resourcetype><current-user-privilege-set><privilege><read/></privilege><privilege><write/></privilege></current-user-privilege-set></prop><status>HTTP/1.1 200 OK</status></propstat></response>',
      // Radicale's listing: a space before `/>`, a 404 propstat of empty elements.
      '<response><href>/alice/contacts/</href><propstat><prop><getetag>"67"</getetag><resourcetype><CR:addressbook /><collection /></resourcetype><CS:getctag>"67"</CS:getctag><sync-token>http://radicale.org/ns/sync/a1</sync-token></prop><status>HTTP/1.1 200 OK</status></propstat></response>',
      '<response ><href>/alice/contacts/b.vcf</href ><propstat><prop><getetag>"ff"</getetag><resourcetype /></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><CS:getctag /><sync-token /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>',
      '<D:response xmlns:D="DAV:"><D:href>/c/3.vcf</D:href><D:propstat><D:prop><D:getetag>W/"3" &gt; 2</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>',
    ];
    for (const span of spans) {
      const scanned = scanResponse(span);
      assert.ok(scanned, `scanned: ${span.slice(0, 40)}`);
      assert.deepEqual(scanned, parseResponseXml(span), span.slice(0, 60));
    }
  });

  it('more distinct element names than the scan remembers: every response still scanned as the parser reads it', function () {
    for (let i = 0; i < 1500; i++) {
      const name = `x${i}`;
      const span = `<response><href>/c/${i}.vcf</href><propstat><prop><${name}>v${i}</${name}><getetag>"${i}"</getetag><e${i} /></prop><status>HTTP/1.1 200 OK</status></propstat></response>`;
      assert.deepEqual(scanResponse(span), parseResponseXml(span), name);
    }
  });

  it('a response the scan does not read (attributes, mixed content, unbalanced, a processing instruction) goes to the parser, same result', function () {
    const spans = [
      '<response><href>/c/1.vcf</href><propstat><prop><getetag xml:lang="en">"e1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>',
      '<response><href>/c/1.vcf</href><propstat><prop><x>text<y/>more</x></prop><status>HTTP/1.1 200 OK</status></propstat></response>',
      '<response><href>/c/1.vcf</href><propstat></response>',
      '<response><?pi x?><href>/c/1.vcf</href></response>',
      '<response><href>/c/1.vcf</href /></response>',
      '<response><href>/c/<1.vcf</href></response>',
      '<response><href>/c/1.vcf</href><propstat><prop><a<b>x</a<b></prop></propstat></response>',
      '<response><href>/c/1.vcf</href',
    ];
    for (const span of spans) assert.equal(scanResponse(span), undefined, span);
    const body = `<multistatus xmlns="DAV:">${spans[0]}${spans[1]}</multistatus>`;
    const res = parseMultistatus(body, outer)!;
    assert.equal(res.length, 2);
    assert.deepEqual(res[0]!.props?.getetag, { _text: '"e1"', _attributes: { lang: 'en' } });
    assert.equal(res[1]!.href, '/c/1.vcf');
  });
});
