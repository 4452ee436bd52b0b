// filterForDevice and mergeFromDevice: a phone that cannot store a field must not erase it on the
// server, and only what the user really changed on the phone changes on the server.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeXml } from '../../../src/codec/xml.js';
import { parseContact, serializeContact } from '../../../src/convert/contacts.js';
import type { Contact, ContactProperty } from '../../../src/convert/contacts.js';
import { filterForDevice, mergeFromDevice, parseCtCaps, truncateUtf8 } from '../../../src/convert/filters/index.js';
import type { FieldFilter, PropertyCap } from '../../../src/convert/filters/index.js';

const card = (...lines: string[]): Contact => parseContact(['BEGIN:VCARD', ...lines, 'END:VCARD', ''].join('\r\n'));
const names = (c: Contact, name: string): ContactProperty[] => c.properties.filter((p) => p.name === name);
const values = (c: Contact, name: string): string[] => names(c, name).map((p) => p.values.join(';'));

/** The phone's round trip: what it is sent, as vCard 2.1 text, parsed back as the phone sends it. */
function throughPhone(c: Contact, edit: (text: string) => string = (t) => t): Contact {
  return parseContact(edit(serializeContact(c, '2.1')));
}

const LONG_NOTE = 'Met at the 2009 conference in Lisbon. Prefers e-mail over phone calls; call only in emergencies. Allergic to peanuts. Birthday party every June. Ask about the sailing trip.';
const PHOTO = Buffer.alloc(3000, 7).toString('base64');

/** A Nokia-like DevInf 1.2 CTCap: one ADR, three EMAIL, five TEL, NOTE of 80 characters, PHOTO of 256 bytes. */
const NOKIA: FieldFilter = parseCtCaps(decodeXml(
  '<DataStore><CTCap><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT>' +
    ['N', 'FN', 'ORG', 'TITLE', 'BDAY', 'URL'].map((n) => `<Property><PropName>${n}</PropName><MaxOccur>1</MaxOccur></Property>`).join('') +
    '<Property><PropName>TEL</PropName><MaxOccur>5</MaxOccur><PropParam><ParamName>TYPE</ParamName>' +
    ['HOME', 'WORK', 'CELL', 'FAX', 'VOICE', 'PREF'].map((v) => `<ValEnum>${v}</ValEnum>`).join('') + '</PropParam></Property>' +
    '<Property><PropName>EMAIL</PropName><MaxOccur>3</MaxOccur></Property>' +
    '<Property><PropName>ADR</PropName><MaxOccur>1</MaxOccur></Property>' +
    '<Property><PropName>NOTE</PropName><MaxOccur>1</MaxOccur><MaxSize>80</MaxSize></Property>' +
    '<Property><PropName>PHOTO</PropName><MaxOccur>1</MaxOccur><MaxSize>256</MaxSize></Property>' +
    '</CTCap></DataStore>',
))[0]!;

function fullContact(): Contact {
  return card(
    'VERSION:3.0',
    'UID:7f1c1e2a-full',
    'N:Doe;Jane;Q.;Dr.;',
    'FN:Dr. Jane Q. Doe',
    'NICKNAME:JD',
    'ORG:Example Corp;Research',
    'TITLE:Chief Scientist',
    'TEL;TYPE=CELL,PREF:+49 170 1111111',
    'TEL;TYPE=HOME:+49 30 2222222',
    'TEL;TYPE=WORK,VOICE:+49 30 3333333',
    'TEL;TYPE=WORK,FAX:+49 30 4444444',
    'TEL;TYPE=X-EVOLUTION-CALLBACK:+49 30 5555555',
    'TEL;TYPE=CAR:+49 171 6666666',
    'EMAIL;TYPE=INTERNET,WORK:jane@example.com',
    'EMAIL;TYPE=INTERNET,HOME:jane@home.example',
    'EMAIL;TYPE=INTERNET:jq@old.example',
    'EMAIL;TYPE=INTERNET:jane.doe@fourth.example',
    'ADR;TYPE=WORK:;;1 Research Way;Berlin;;10115;Germany',
    'ADR;TYPE=HOME:;;2 Home Street;Potsdam;;14467;Germany',
    `NOTE:${LONG_NOTE}`,
    'CATEGORIES:Friends,Work',
    'X-EVOLUTION-FILE-AS:Doe\\, Jane',
    'URL:https://jane.example',
    'BDAY:1980-05-17',
    `PHOTO;ENCODING=b;TYPE=JPEG:${PHOTO}`,
  );
}

describe('filterForDevice', function () {
  it('keeps at most MaxOccur of each property, preferred first, in document order', function () {
    const out = filterForDevice(fullContact(), NOKIA);
    assert.deepEqual(values(out, 'TEL'), ['+49 170 1111111', '+49 30 2222222', '+49 30 3333333', '+49 30 4444444', '+49 30 5555555']);
    assert.equal(names(out, 'EMAIL').length, 3);
    assert.deepEqual(values(out, 'ADR'), [';;1 Research Way;Berlin;;10115;Germany']);
    const c = card('VERSION:3.0', 'FN:x', 'EMAIL:a@x', 'EMAIL:b@x', 'EMAIL;TYPE=PREF:c@x');
    const one: FieldFilter = { ctType: 'text/vcard', properties: { FN: {}, EMAIL: { maxOccur: 1 } } };
    assert.deepEqual(values(filterForDevice(c, one), 'EMAIL'), ['c@x']);
  });

  it('cuts values to MaxSize (UTF-8 bytes, whole characters), drops what the device does not list', function () {
    const out = filterForDevice(fullContact(), NOKIA);
    assert.equal(values(out, 'NOTE')[0], LONG_NOTE.slice(0, 80));
    for (const n of ['NICKNAME', 'CATEGORIES', 'X-EVOLUTION-FILE-AS', 'UID']) assert.equal(names(out, n).length, 0, n);
    assert.equal(truncateUtf8('aé日b', 4), 'aé');
    assert.equal(truncateUtf8('aé日b', 6), 'aé日');
    assert.equal(truncateUtf8('😀x', 3), '');
  });

  it('never cuts a PHOTO: one larger than MaxSize is not sent', function () {
    assert.equal(names(filterForDevice(fullContact(), NOKIA), 'PHOTO').length, 0);
    const small = card('VERSION:3.0', 'FN:x', `PHOTO;ENCODING=b;TYPE=PNG:${Buffer.alloc(30, 1).toString('base64')}`);
    assert.equal(names(filterForDevice(small, NOKIA), 'PHOTO').length, 1);
  });

  it('drops a NoTruncate property that is too long instead of cutting it', function () {
    const f: FieldFilter = { ctType: 'text/x-vcard', properties: { NOTE: { maxSize: 10, noTruncate: true }, FN: { maxSize: 10 } } };
    const out = filterForDevice(card('VERSION:3.0', 'FN:Jane Q. Doe Jr.', 'NOTE:far more than ten'), f);
    assert.deepEqual(values(out, 'FN'), ['Jane Q. Do']);
    assert.equal(names(out, 'NOTE').length, 0);
  });

  it('removes TYPE values and parameters the device does not list, and values outside ValEnum', function () {
    const out = filterForDevice(fullContact(), NOKIA);
    assert.deepEqual(names(out, 'TEL').map((p) => p.types), [['CELL', 'PREF'], ['HOME'], ['WORK', 'VOICE'], ['WORK', 'FAX'], []]);
    // EMAIL lists no parameters at all: its types are kept.
    assert.deepEqual(names(out, 'EMAIL')[0]!.types, ['INTERNET', 'WORK']);
    const f: FieldFilter = { ctType: 'text/vcard', properties: { CLASS: { valEnum: ['PUBLIC', 'PRIVATE'] }, NOTE: { params: { LANGUAGE: ['DE'] } } } };
    const c = card('VERSION:3.0', 'CLASS:CONFIDENTIAL', 'NOTE;LANGUAGE=de;X-FOO=1:Hallo');
    const o = filterForDevice(c, f);
    assert.equal(names(o, 'CLASS').length, 0);
    assert.deepEqual(names(o, 'NOTE')[0]!.params, [{ name: 'LANGUAGE', value: 'de' }]);
    assert.deepEqual(names(filterForDevice(card('VERSION:3.0', 'CLASS:private'), f), 'CLASS')[0]!.values, ['private']);
  });

  it('without a filter sends everything', function () {
    assert.deepEqual(filterForDevice(fullContact(), undefined), fullContact());
  });
});

describe('mergeFromDevice', function () {
  it('a Nokia-like CTCap replacing a full contact loses nothing the phone could not hold', function () {
    const server = fullContact();
    const device = throughPhone(filterForDevice(server, NOKIA));
    assert.deepEqual(mergeFromDevice(server, device, NOKIA), server);
  });

  it('a real change of one TEL on that phone changes exactly that TEL', function () {
    const server = fullContact();
    const device = throughPhone(filterForDevice(server, NOKIA), (t) => t.replace('+49 30 2222222', '+49 30 9999999'));
    const merged = mergeFromDevice(server, device, NOKIA);
    const i = server.properties.findIndex((p) => p.values[0] === '+49 30 2222222');
    assert.ok(i >= 0);
    assert.equal(merged.properties.length, server.properties.length);
    merged.properties.forEach((p, k) => {
      if (k === i) assert.deepEqual(p, { ...server.properties[i]!, values: ['+49 30 9999999'] });
      else assert.deepEqual(p, server.properties[k], `property ${k} (${p.name})`);
    });
  });

  it('a NOTE cut to MaxSize by the phone (a prefix of the server value) keeps the long server NOTE', function () {
    const server = fullContact();
    const cut = parseContact(serializeContact(filterForDevice(server, NOKIA), '2.1'));
    // The phone stores even less than announced and trims the end.
    names(cut, 'NOTE')[0]!.values = [LONG_NOTE.slice(0, 60).trimEnd()];
    assert.deepEqual(values(mergeFromDevice(server, cut, NOKIA), 'NOTE'), [LONG_NOTE]);
    // A NOTE the user rewrote replaces it.
    names(cut, 'NOTE')[0]!.values = ['New note'];
    assert.deepEqual(values(mergeFromDevice(server, cut, NOKIA), 'NOTE'), ['New note']);
  });

  it('a PHOTO the device cannot hold survives; a new PHOTO taken on the phone replaces it', function () {
    const server = fullContact();
    const device = throughPhone(filterForDevice(server, NOKIA));
    assert.equal(names(device, 'PHOTO').length, 0);
    assert.deepEqual(values(mergeFromDevice(server, device, NOKIA), 'PHOTO'), [PHOTO]);
    const fresh = Buffer.alloc(100, 3).toString('base64');
    device.properties.push({ name: 'PHOTO', types: [], params: [], values: [fresh], binary: true, mediaType: 'image/jpeg' });
    const merged = mergeFromDevice(server, device, NOKIA);
    assert.deepEqual(values(merged, 'PHOTO'), [fresh]);
  });

  it('what the phone could store but did not send back, or sent empty, is deleted; new entries are added', function () {
    const server = fullContact();
    const device = throughPhone(filterForDevice(server, NOKIA), (t) =>
      t
        .replace(/^TITLE:.*\r\n/m, '')
        .replace(/^NOTE[;:](?:.*=\r\n)*.*\r\n/m, 'NOTE:\r\n') // with its QP soft line breaks
        .replace(/^EMAIL;INTERNET;HOME:.*\r\n/m, ''),
    );
    const merged = mergeFromDevice(server, device, NOKIA);
    assert.equal(names(merged, 'TITLE').length, 0);
    assert.equal(names(merged, 'NOTE').length, 0);
    // The 2nd EMAIL is gone; the 4th, which the phone never had, stays.
    assert.deepEqual(values(merged, 'EMAIL'), ['jane@example.com', 'jq@old.example', 'jane.doe@fourth.example']);
    // Fields the phone does not have at all stay.
    for (const n of ['NICKNAME', 'CATEGORIES', 'X-EVOLUTION-FILE-AS', 'UID']) assert.deepEqual(names(merged, n), names(server, n), n);
    const added = throughPhone(filterForDevice(server, NOKIA), (t) => t.replace('END:VCARD', 'TEL;CELL:+33 6 12345678\r\nEND:VCARD'));
    // Six TELs on a five-TEL phone: the sixth server TEL (never sent) stays and the new one is added.
    assert.deepEqual(values(mergeFromDevice(server, added, NOKIA), 'TEL').slice(-2), ['+49 171 6666666', '+33 6 12345678']);
  });

  it('pairs by type set: the device n-th EMAIL replaces the n-th the device could hold', function () {
    const server = card('VERSION:3.0', 'FN:x', 'EMAIL;TYPE=WORK:a@x', 'EMAIL;TYPE=HOME:b@x', 'TEL;TYPE=CELL:1', 'TEL;TYPE=HOME:2');
    const f: FieldFilter = { ctType: 'text/x-vcard', properties: { FN: {}, EMAIL: { maxOccur: 2 }, TEL: {} } };
    const device = card('VERSION:2.1', 'FN:x', 'EMAIL;HOME;INTERNET:new@x', 'EMAIL;WORK;INTERNET:a@x', 'TEL;HOME:22', 'TEL;CELL:1');
    const merged = mergeFromDevice(server, device, f);
    assert.deepEqual(values(merged, 'EMAIL'), ['a@x', 'new@x']);
    assert.deepEqual(names(merged, 'EMAIL')[1]!.types, ['HOME', 'INTERNET']);
    assert.deepEqual(values(merged, 'TEL'), ['1', '22']);
  });

  it('keeps server TYPE values and parameters the device cannot represent when a value changes', function () {
    const server = card('VERSION:3.0', 'FN:x', 'item1.TEL;TYPE=WORK,X-EVOLUTION-CALLBACK;X-CUSTOM=1:+1 555 0100');
    const f: FieldFilter = { ctType: 'text/x-vcard', properties: { FN: {}, TEL: { params: { TYPE: ['WORK', 'HOME'] } } } };
    const merged = mergeFromDevice(server, card('VERSION:2.1', 'FN:x', 'TEL;WORK:+1 555 0199'), f);
    assert.deepEqual(names(merged, 'TEL')[0], {
      group: 'item1', name: 'TEL', types: ['WORK', 'X-EVOLUTION-CALLBACK'], params: [{ name: 'X-CUSTOM', value: '1' }], values: ['+1 555 0199'],
    });
    // Reformatted number, same digits: nothing changed.
    const same = mergeFromDevice(server, card('VERSION:2.1', 'FN:x', 'TEL;WORK:+15550100'), f);
    assert.deepEqual(same, server);
  });

  it('never removes the server UID', function () {
    const server = card('VERSION:3.0', 'UID:abc', 'FN:x');
    const f: FieldFilter = { ctType: 'text/x-vcard', properties: { FN: {}, UID: {} } };
    assert.deepEqual(values(mergeFromDevice(server, card('VERSION:2.1', 'FN:x'), f), 'UID'), ['abc']);
  });

  it('without CTCap: names the device did not send keep their server values, sent names replace', function () {
    const server = fullContact();
    const device = card('VERSION:2.1', 'N:Doe;Jane', 'TEL;CELL:+49 170 1111111', 'TEL;WORK:+49 30 7777777', 'NOTE:short');
    const merged = mergeFromDevice(server, device, undefined);
    assert.deepEqual(values(merged, 'TEL'), ['+49 170 1111111', '+49 30 7777777']);
    assert.deepEqual(values(merged, 'NOTE'), ['short']);
    assert.deepEqual(values(merged, 'N'), ['Doe;Jane']);
    for (const n of ['EMAIL', 'ADR', 'PHOTO', 'NICKNAME', 'CATEGORIES', 'UID', 'FN']) assert.deepEqual(names(merged, n), names(server, n), n);
  });

  it('a device property not in its own CTCap is taken as sent (no duplicate)', function () {
    const server = card('VERSION:3.0', 'FN:x', 'NICKNAME:old');
    const f: FieldFilter = { ctType: 'text/x-vcard', properties: { FN: {} } };
    assert.deepEqual(values(mergeFromDevice(server, card('VERSION:2.1', 'FN:x', 'NICKNAME:new'), f), 'NICKNAME'), ['new']);
  });
});

// ----------------------------------------------------------------------------- properties

const NAMES = ['N', 'FN', 'TEL', 'EMAIL', 'ADR', 'NOTE', 'URL', 'ORG', 'TITLE', 'CATEGORIES', 'PHOTO', 'X-FOO', 'X-BAR', 'UID', 'CLASS'];
const TYPES = ['HOME', 'WORK', 'CELL', 'PREF', 'FAX', 'INTERNET', 'VOICE', 'X-OTHER'];
const text = fc.stringMatching(/^[A-Za-z0-9éü日 .,@+-]{0,24}$/);

const propertyArb: fc.Arbitrary<ContactProperty> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    types: fc.uniqueArray(fc.constantFrom(...TYPES), { maxLength: 3 }),
    lang: fc.boolean(),
    values: fc.array(text, { minLength: 1, maxLength: 7 }),
    group: fc.option(fc.constantFrom('item1', 'item2'), { nil: undefined }),
  })
  .map(({ name, types, lang, values, group }) => {
    const structured = name === 'N' || name === 'ADR' || name === 'ORG';
    const p: ContactProperty = { name, types, params: lang ? [{ name: 'LANGUAGE', value: 'de' }] : [], values: structured || name === 'CATEGORIES' ? values : [values[0]!] };
    if (group !== undefined) p.group = group;
    if (name === 'PHOTO') {
      p.binary = true;
      p.values = [Buffer.from(values.join('')).toString('base64')];
      p.mediaType = 'image/jpeg';
    }
    if (name.startsWith('X-')) p.raw = true;
    return p;
  });

const contactArb: fc.Arbitrary<Contact> = fc.array(propertyArb, { maxLength: 14 }).map((properties) => ({ version: '3.0', properties }));

const capArb: fc.Arbitrary<PropertyCap> = fc
  .record({
    maxOccur: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    maxSize: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    noTruncate: fc.boolean(),
    types: fc.option(fc.uniqueArray(fc.constantFrom(...TYPES), { maxLength: 4 }), { nil: undefined }),
    lang: fc.boolean(),
    valEnum: fc.option(fc.constant<string[]>(['PUBLIC', 'PRIVATE']), { nil: undefined }),
  })
  .map(({ maxOccur, maxSize, noTruncate, types, lang, valEnum }) => {
    const cap: PropertyCap = {};
    if (maxOccur !== undefined) cap.maxOccur = maxOccur;
    if (maxSize !== undefined) cap.maxSize = maxSize;
    if (noTruncate) cap.noTruncate = true;
    if (types !== undefined || lang) {
      cap.params = {};
      if (types !== undefined) cap.params.TYPE = types;
      if (lang) cap.params.LANGUAGE = [];
    }
    if (valEnum !== undefined) cap.valEnum = valEnum;
    return cap;
  });

const filterArb: fc.Arbitrary<FieldFilter> = fc
  .dictionary(fc.constantFrom(...NAMES, 'X-*'), capArb, { maxKeys: 10 })
  .map((properties) => ({ ctType: 'text/x-vcard', properties }));

describe('filter and merge properties (fast-check)', function () {
  it('the device sending back exactly what it got changes nothing', function () {
    fc.assert(
      fc.property(contactArb, fc.option(filterArb, { nil: undefined }), (server, filter) => {
        const sent = filterForDevice(server, filter);
        assert.deepEqual(mergeFromDevice(server, sent, filter), server);
      }),
      { numRuns: 500 },
    );
  });

  it('the same through a real phone round trip (vCard 2.1 text out and back in)', function () {
    // Phones see text: no `,`/`;` inside values here (they would be list/structure separators).
    const plain = fc.stringMatching(/^[A-Za-z0-9éü日 .@+-]{0,24}$/);
    const phoneContact = fc
      .tuple(plain, plain, contactArb)
      .map(([family, fn, c]): Contact => {
        const clean = c.properties
          .filter((p) => p.name !== 'N' && p.name !== 'FN')
          .map((p) => (p.binary ? p : { ...p, values: p.values.map((v) => v.replace(/[,;\\]/g, ' ')) }));
        return { version: '3.0', properties: [{ name: 'N', types: [], params: [], values: [family || 'X', '', '', '', ''] }, { name: 'FN', types: [], params: [], values: [fn || 'X'] }, ...clean] };
      });
    const phoneFilter = filterArb.map((f): FieldFilter => ({ ...f, properties: { ...f.properties, N: {}, FN: {} } }));
    fc.assert(
      fc.property(phoneContact, phoneFilter, (server, filter) => {
        const device = parseContact(serializeContact(filterForDevice(server, filter), '2.1'));
        assert.deepEqual(mergeFromDevice(server, device, filter), server);
      }),
      { numRuns: 300 },
    );
  });

  it('a device without the field: merging an empty Replace under a filter keeps every field it could not hold', function () {
    fc.assert(
      fc.property(contactArb, filterArb, (server, filter) => {
        const merged = mergeFromDevice(server, { version: '2.1', properties: [] }, filter);
        // Everything left is exactly what the device never received (or the UID).
        const sent = new Set(filterForDevice(server, filter).properties.map((p) => JSON.stringify(p)));
        for (const p of merged.properties) assert.ok(p.name === 'UID' || !sent.has(JSON.stringify(p)) || server.properties.filter((q) => JSON.stringify(q) === JSON.stringify(p)).length > 1);
        assert.ok(merged.properties.every((p) => server.properties.includes(p)));
      }),
      { numRuns: 300 },
    );
  });

  it('filterForDevice output respects the filter', function () {
    fc.assert(
      fc.property(contactArb, filterArb, (contact, filter) => {
        const out = filterForDevice(contact, filter);
        const count = new Map<string, number>();
        for (const p of out.properties) {
          const cap = filter.properties[p.name] ?? (p.name.startsWith('X-') ? filter.properties['X-*'] : undefined);
          assert.ok(cap, `${p.name} is not in the filter`);
          count.set(p.name, (count.get(p.name) ?? 0) + 1);
          if (cap.maxOccur !== undefined) assert.ok(count.get(p.name)! <= cap.maxOccur);
          if (cap.maxSize !== undefined) for (const v of p.values) assert.ok(Buffer.byteLength(v) <= cap.maxSize);
          if (cap.params?.TYPE !== undefined && cap.params.TYPE.length > 0) assert.ok(p.types.every((t) => cap.params!.TYPE!.includes(t)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
