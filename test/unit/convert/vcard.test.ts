// Unit tests for vCard conversion: field mapping between 2.1/3.0/4.0, device quirks, dates,
// photos, fingerprints, and a fast-check property for 3.0 -> 2.1 -> 3.0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isGatewayError } from '../../../src/errors.js';
import { contactFingerprint, convertContact, parseContact, serializeContact } from '../../../src/convert/contacts.js';
import type { Contact, ContactProperty } from '../../../src/convert/contacts.js';
import { corpusRoot, semantic } from './vcard-corpus-helpers.js';
import { requireShared, sharedAvailable } from '../../support/shared.js';

const card = (...lines: string[]): string => ['BEGIN:VCARD', ...lines, 'END:VCARD', ''].join('\r\n');
const lines = (s: string): string[] => s.split('\r\n');
const get = (c: Contact, name: string): ContactProperty | undefined => c.properties.find((p) => p.name === name);

describe('convertContact', () => {
  const sample21 = card(
    'VERSION:2.1',
    'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;=',
    'J=C3=B6rg;;;',
    'TEL;CELL;PREF:+491701234567',
    'TEL;HOME;VOICE:030 1234',
    'EMAIL;INTERNET:joerg@example.com',
    'ADR;HOME:;;Hauptstr. 1\\;Hof;Berlin;;10115;DE',
    'NOTE;ENCODING=QUOTED-PRINTABLE:Line1=0D=0A=',
    'Line2, more',
    'X-IRMC-LUID:000200000119',
  );

  it('turns the pim-formats.md 2.1 sample into the documented 3.0', () => {
    const out = convertContact(sample21, 'vcard30');
    assert.deepEqual(lines(out), [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'N:Müller;Jörg;;;',
      'FN:Jörg Müller',
      'TEL;TYPE=CELL,PREF:+491701234567',
      'TEL;TYPE=HOME,VOICE:030 1234',
      'EMAIL;TYPE=INTERNET:joerg@example.com',
      'ADR;TYPE=HOME:;;Hauptstr. 1\\;Hof;Berlin;;10115;DE',
      'NOTE:Line1\\nLine2\\, more',
      'X-IRMC-LUID:000200000119',
      'END:VCARD',
      '',
    ]);
  });

  it('writes 4.0 with lower-case types, PREF=1 and no INTERNET', () => {
    const out = convertContact(sample21, 'vcard40');
    assert.match(out, /^VERSION:4\.0\r$/m);
    assert.match(out, /^TEL;TYPE=cell;PREF=1:\+491701234567\r$/m);
    assert.match(out, /^TEL;TYPE=home,voice:030 1234\r$/m);
    assert.match(out, /^EMAIL:joerg@example\.com\r$/m);
  });

  it('writes 2.1 for devices: bare types, EMAIL;INTERNET, CHARSET=UTF-8 QP for non-ASCII and multi-line', () => {
    const v30 = card('VERSION:3.0', 'N:Müller;Jörg;;;', 'FN:Jörg Müller', 'TEL;TYPE=CELL,VOICE:1', 'EMAIL;TYPE=WORK:a@b.c', 'NOTE:one\\ntwo', 'ORG:ACME\\, Inc.;Sales');
    const out = convertContact(v30, 'vcard21');
    assert.match(out, /^N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg;;;\r$/m);
    assert.match(out, /^TEL;CELL;VOICE:1\r$/m);
    assert.match(out, /^EMAIL;INTERNET;WORK:a@b\.c\r$/m);
    assert.match(out, /^NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:one=0D=0Atwo\r$/m);
    assert.match(out, /^ORG:ACME, Inc\.;Sales\r$/m); // 2.1 never escapes commas
    assert.doesNotMatch(out, /TYPE=/);
  });

  it('never writes QP, CHARSET or bare params for servers (Nextcloud answers 415)', () => {
    const out = convertContact(Buffer.from(sample21), 'vcard30');
    assert.doesNotMatch(out, /QUOTED-PRINTABLE|CHARSET|;CELL|;HOME[;:]/);
  });

  it('accepts bytes and decodes ISO-8859-1 and Shift_JIS names', () => {
    const latin = Buffer.concat([Buffer.from('BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1:'), Buffer.from([0x47, 0x72, 0xfc, 0xdf]), Buffer.from(';Ren\xe9\r\nEND:VCARD\r\n', 'latin1')]);
    assert.match(convertContact(latin, 'vcard30'), /^N:Grüß;René;;;\r$/m);
    const jp = path.join(corpusRoot, 'android-vcard', 'raw', 'v21_japanese_1.vcf');
    if (sharedAvailable() || process.env.CI === 'true') { // CI: a missing corpus file fails here
      const c = parseContact(readFileSync(jp));
      assert.match(get(c, 'N')?.values[0] ?? '', /^[\u3000-\u9fff]+$/u); // kanji/kana, not mojibake
    }
  });

  it('keeps groups and X- properties verbatim', () => {
    const v30 = card('VERSION:3.0', 'FN:A', 'N:A;;;;', 'item1.TEL;type=pref:+1', 'item1.X-ABLabel:_$!<Mobile>!$_', 'X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Nick;1;;;;;;;;;;;;;');
    for (const to of ['vcard21', 'vcard30', 'vcard40'] as const) {
      const out = convertContact(v30, to);
      assert.match(out, /^item1\.X-ABLABEL:_\$!<Mobile>!\$_\r$/m);
      assert.match(out, /^item1\.TEL;/m);
      assert.match(out, /^X-ANDROID-CUSTOM:vnd\.android\.cursor\.item\/nickname;Nick;1;;;;;;;;;;;;;\r$/m);
    }
  });

  it('derives FN from N, ORG or EMAIL and N from FN', () => {
    assert.match(convertContact(card('VERSION:2.1', 'N:Doe;John;Q;Dr.;Jr.'), 'vcard30'), /^FN:Dr\. John Q Doe Jr\.\r$/m);
    assert.match(convertContact(card('VERSION:2.1', 'N:;;;;', 'ORG:ACME'), 'vcard30'), /^FN:ACME\r$/m);
    assert.match(convertContact(card('VERSION:2.1', 'EMAIL:x@y.z'), 'vcard40'), /^FN:x@y\.z\r$/m);
    const fromFn = convertContact(card('VERSION:3.0', 'FN:Anna Maria Schmidt'), 'vcard21');
    assert.match(fromFn, /^N:Schmidt;Anna Maria;;;\r$/m);
    assert.match(convertContact(card('VERSION:4.0', 'FN:ACME', 'ORG:ACME'), 'vcard30'), /^N:;;;;\r$/m);
  });

  it('reads the BDAY forms phones use and writes each version’s form', () => {
    const cases: Array<[string, string, string, string]> = [
      // input, 2.1, 3.0, 4.0
      ['19700101', '19700101', '1970-01-01', '19700101'],
      ['1970-01-01', '19700101', '1970-01-01', '19700101'],
      ['1970-01-01T00:00:00Z', '19700101', '1970-01-01', '19700101'],
      ['19700101T000000', '19700101', '1970-01-01', '19700101'],
      ['1970-01-01T12:30:00Z', '19700101T123000Z', '1970-01-01T12:30:00Z', '19700101T123000Z'],
      ['--0415', '--0415', '1604-04-15', '--0415'],
      ['--04-15', '--0415', '1604-04-15', '--0415'],
    ];
    for (const [input, v21, v30, v40] of cases) {
      const src = card('VERSION:2.1', 'N:A', `BDAY:${input}`);
      assert.match(convertContact(src, 'vcard21'), new RegExp(`^BDAY:${v21}\\r$`, 'm'), input);
      assert.match(convertContact(src, 'vcard30'), new RegExp(`^BDAY[;:].*${v30}\\r$`, 'm'), input);
      assert.match(convertContact(src, 'vcard40'), new RegExp(`^BDAY:${v40}\\r$`, 'm'), input);
    }
    // Apple's year-less form is read back as year-less.
    const apple = card('VERSION:3.0', 'FN:A', 'N:A;;;;', 'BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15');
    assert.match(convertContact(apple, 'vcard40'), /^BDAY:--0415\r$/m);
    assert.match(convertContact(apple, 'vcard30'), /^BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15\r$/m);
    // Not a date: kept as text.
    assert.match(convertContact(card('VERSION:2.1', 'N:A', 'BDAY:sometime'), 'vcard30'), /^BDAY:sometime\r$/m);
  });

  it('maps ANNIVERSARY (4.0) <-> X-ANNIVERSARY (2.1/3.0)', () => {
    const v40 = card('VERSION:4.0', 'FN:A', 'ANNIVERSARY:20090808');
    assert.match(convertContact(v40, 'vcard30'), /^X-ANNIVERSARY:2009-08-08\r$/m);
    assert.match(convertContact(v40, 'vcard21'), /^X-ANNIVERSARY:2009-08-08\r$/m);
    assert.match(convertContact(convertContact(v40, 'vcard30'), 'vcard40'), /^ANNIVERSARY:20090808\r$/m);
  });

  it('converts PHOTO between 2.1 BASE64, 3.0 ENCODING=b and 4.0 data: URI', () => {
    const b64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]).toString('base64');
    const v21 = card('VERSION:2.1', 'N:A', `PHOTO;ENCODING=BASE64;JPEG:${b64}`, '', 'TEL:1');
    const v30 = convertContact(v21, 'vcard30');
    assert.match(v30, new RegExp(`^PHOTO;TYPE=JPEG;ENCODING=b:${b64.replace(/[+/]/g, '\\$&')}\\r$`, 'm'));
    const v40 = convertContact(v30, 'vcard40');
    assert.match(v40, /^PHOTO:data:image\/jpeg;base64,\/9j\/4A/m);
    const back = convertContact(v40, 'vcard21');
    assert.match(back, /^PHOTO;TYPE=JPEG;ENCODING=BASE64:\/9j\/4A/m);
    assert.equal(get(parseContact(back), 'PHOTO')?.values[0], b64);
    // A URL photo stays a reference.
    assert.match(convertContact(card('VERSION:3.0', 'FN:A', 'N:A', 'PHOTO;VALUE=uri:http://x/y.png'), 'vcard21'), /^PHOTO;VALUE=URL:http:\/\/x\/y\.png\r$/m);
  });

  it('reads the BlackBerry photo (base64 continuation lines, AOSP v21_blackberry_photo)', function () {
    const f = path.join(corpusRoot, 'android-vcard', 'raw', 'v21_blackberry_photo.vcf');
    requireShared(this);
    const c = parseContact(readFileSync(f));
    const photo = get(c, 'PHOTO');
    assert.ok(photo?.binary);
    const bytes = Buffer.from(photo.values[0], 'base64');
    assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]); // PNG signature
    assert.equal(photo.mediaType, 'image/png');
    assert.ok(bytes.length > 1000);
    assert.deepEqual(c.properties.map((p) => p.name).filter((n) => n !== 'PHOTO'), ['FN', 'N', 'TEL', 'TEL', 'EMAIL']);
  });

  it('converts GEO between 2.1 comma, 3.0 semicolon and 4.0 geo: URI', () => {
    const v21 = card('VERSION:2.1', 'N:A', 'GEO:37.386013,-122.082932');
    assert.match(convertContact(v21, 'vcard30'), /^GEO:37\.386013;-122\.082932\r$/m);
    assert.match(convertContact(v21, 'vcard40'), /^GEO:geo:37\.386013,-122\.082932\r$/m);
    assert.match(convertContact(convertContact(v21, 'vcard40'), 'vcard21'), /^GEO:37\.386013,-122\.082932\r$/m);
  });

  it('strips tel: URIs of 4.0 TEL', () => {
    const v40 = card('VERSION:4.0', 'FN:A', 'TEL;VALUE=uri;TYPE="voice,home";PREF=1:tel:+1-555-555-5555;ext=5555');
    assert.match(convertContact(v40, 'vcard21'), /^TEL;VOICE;HOME;PREF:\+1-555-555-5555\r$/m);
  });

  it('rejects what is not exactly one vCard with INVALID_ITEM', () => {
    const two = card('VERSION:2.1', 'N:A') + card('VERSION:2.1', 'N:B');
    assert.throws(() => convertContact(two, 'vcard30'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /found 2/.test(e.message));
    assert.throws(
      () => convertContact('BEGIN:VCALENDAR\r\nVERSION:1.0\r\nEND:VCALENDAR\r\n', 'vcard30'),
      (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /line 1: expected BEGIN:VCARD/.test(e.message),
    );
    assert.throws(() => convertContact('BEGIN:VCARD\r\nN:A\r\n', 'vcard30'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /never ended/.test(e.message));
  });
});

describe('contactFingerprint', () => {
  it('normalises names, phone digits and e-mails across versions', () => {
    const a = contactFingerprint(card('VERSION:2.1', 'N:Doe;John', 'TEL;CELL:+49 (170) 123-45', 'EMAIL;INTERNET:John.Doe@Example.COM'));
    const b = contactFingerprint(card('VERSION:3.0', 'N:John Doe;;;;', 'FN:John Doe', 'TEL;TYPE=CELL:+4917012345', 'EMAIL:john.doe@example.com'));
    assert.deepEqual(a, { names: 'doe john', phones: ['4917012345'], emails: ['john.doe@example.com'] });
    assert.deepEqual(b, a);
    assert.equal(contactFingerprint(card('VERSION:3.0', 'FN:ÅSA Öberg', 'N:;;;;')).names, 'åsa öberg');
  });
});

describe('3.0 -> 2.1 -> 3.0 property', () => {
  // Text without control characters; 2.1 carries any Unicode through CHARSET=UTF-8 QP.
  const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', ';', '\\', 'ü', 'é', '山', '€', ':', '"', '=', '1'), minLength: 1, maxLength: 12 }).filter((s) => s.trim() === s && s !== '');
  const multi = fc.array(text, { minLength: 1, maxLength: 3 }).map((a) => a.join('\n'));
  const telType = fc.subarray(['CELL', 'HOME', 'WORK', 'VOICE', 'FAX', 'PREF'], { minLength: 0, maxLength: 3 });
  const prop = (name: string, values: string[], types: string[] = []): ContactProperty => ({ name, types, params: [], values });
  const contactArb = fc
    .record({
      n: fc.tuple(text, text, fc.constant(''), fc.constant(''), fc.constant('')),
      fn: text,
      org: fc.array(text, { minLength: 1, maxLength: 2 }),
      title: fc.option(text, { nil: undefined }),
      note: fc.option(multi, { nil: undefined }),
      tels: fc.array(fc.tuple(fc.stringMatching(/^\+?[0-9]{3,12}$/), telType), { maxLength: 3 }),
      emails: fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}@[a-z]{1,8}\.de$/), fc.subarray(['HOME', 'WORK', 'PREF'])), { maxLength: 2 }),
      adr: fc.option(fc.tuple(fc.constant(''), fc.constant(''), text, text, fc.constant(''), fc.stringMatching(/^[0-9]{5}$/), text), { nil: undefined }),
      bday: fc.option(fc.date({ min: new Date('1900-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)), { nil: undefined }),
      categories: fc.array(text, { maxLength: 3 }),
      url: fc.option(fc.constant('http://example.com/a?b=c'), { nil: undefined }),
      xprop: fc.option(fc.stringMatching(/^[A-Za-z0-9 ;]{1,20}$/), { nil: undefined }),
    })
    .map((r): Contact => {
      const props: ContactProperty[] = [prop('N', [...r.n]), prop('FN', [r.fn]), prop('ORG', r.org)];
      if (r.title !== undefined) props.push(prop('TITLE', [r.title]));
      if (r.note !== undefined) props.push(prop('NOTE', [r.note]));
      for (const [num, types] of r.tels) props.push(prop('TEL', [num], types));
      for (const [mail, types] of r.emails) props.push(prop('EMAIL', [mail], ['INTERNET', ...types]));
      if (r.adr !== undefined) props.push(prop('ADR', [...r.adr], ['HOME']));
      if (r.bday !== undefined) props.push(prop('BDAY', [r.bday]));
      if (r.categories.length > 0) props.push(prop('CATEGORIES', r.categories));
      if (r.url !== undefined) props.push(prop('URL', [r.url]));
      if (r.xprop !== undefined) props.push({ ...prop('X-CUSTOM', [r.xprop]), raw: true });
      return { version: '3.0', properties: props };
    });

  it('keeps every field the 2.1 form can carry', () => {
    fc.assert(
      fc.property(contactArb, (contact) => {
        const v30 = serializeContact(contact, '3.0');
        const v21 = convertContact(v30, 'vcard21');
        const back = parseContact(convertContact(v21, 'vcard30'));
        assert.deepEqual(semantic(back), semantic(parseContact(v30)));
      }),
      { numRuns: 300 },
    );
  });
});
