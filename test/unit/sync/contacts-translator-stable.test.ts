// The contacts translator's fast paths must give exactly what the plain ones give. Field digests
// and hashes are stored in the ID map and compared in later sessions (by later gateway versions
// too), and `prepareOutgoing` stands in for `hash` + `toDevice` on the refresh path. Reads the
// corpus in ../shared.
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { decodeXml } from '../../../src/codec/xml.js';
import { treeToMessage } from '../../../src/codec/message.js';
import type { PutGetCmd } from '../../../src/codec/model.js';
import type { SmlElement } from '../../../src/codec/tree.js';
import { parseContacts, serializeContact, type Contact, type ContactProperty } from '../../../src/convert/contacts.js';
import { effectiveFilter, type FieldFilter } from '../../../src/convert/filters/index.js';
import { parseDevInf } from '../../../src/protocol/devinf.js';
import { contactDigests, contactsTranslator as t } from '../../../src/sync/translators.js';
import type { DeviceFormat } from '../../../src/sync/types.js';
import { requireShared, SHARED_FIXTURES } from '../../support/shared.js';
import { corpusVcardFiles } from '../convert/vcard-corpus-helpers.js';

/** contactDigests as first written (before its JSON fast path): the reference it must match. */
function referenceDigests(contact: Contact): Map<string, string> {
  const skip = new Set(['REV', 'PRODID', 'VERSION', 'X-IRMC-LUID', 'UID']);
  const byName = new Map<string, string[]>();
  for (const p of contact.properties) {
    if (skip.has(p.name)) continue;
    const canonical = JSON.stringify([
      [...p.types].sort(), p.params.map((q) => `${q.name}=${String(q.value)}`).sort(), p.values, p.binary ?? false, p.uri ?? false, p.mediaType ?? '',
    ]);
    byName.set(p.name, [...(byName.get(p.name) ?? []), canonical]);
  }
  return new Map([...byName].map(([name, values]) => [name, hash('sha1', values.sort().join('\n'), 'base64').slice(0, 10)]));
}

const sorted = (m: Map<string, string>): Array<[string, string]> => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

/** Every contact of the corpus as the parser reads it (files it refuses are other tests' work). */
function corpusContacts(): Array<{ file: string; contact: Contact }> {
  const out: Array<{ file: string; contact: Contact }> = [];
  for (const file of corpusVcardFiles()) {
    try {
      for (const contact of parseContacts(readFileSync(file))) out.push({ file, contact });
    } catch {
      // not parseable as a whole: nothing to digest
    }
  }
  return out;
}

describe('contacts translator: field digests stay what they were', function () {
  it('a golden value: quotes, backslashes, a control character, non-BMP text, a photo, a URI, repeated names', function () {
    const contact: Contact = {
      version: '3.0',
      properties: [
        { name: 'N', types: [], params: [], values: ['O"Brien', 'Se\\án', '', '', ''] },
        { name: 'TEL', types: ['VOICE', 'CELL'], params: [{ name: 'X-LABEL', value: 'tab\there' }], values: ['+49 170 1'] },
        { name: 'TEL', types: ['HOME'], params: [], values: ['+49 30 2'] },
        { name: 'NOTE', types: [], params: [], values: ['😀 line\nbreak'] },
        { name: 'PHOTO', types: [], params: [], values: ['/9j/4AAQ'], binary: true, mediaType: 'image/jpeg' },
        { name: 'URL', types: [], params: [], values: ['http://example.org/'], uri: true },
        { name: 'UID', types: [], params: [], values: ['not digested'] },
      ],
    };
    const golden = [
      ['N', '1828c7qxFA'], ['NOTE', '9TMgpLiwTt'], ['PHOTO', '0xB7f6cyFx'], ['TEL', 'En3hmU1UV+'], ['URL', '+9o97xGZJx'],
    ];
    assert.deepEqual(sorted(referenceDigests(contact)), golden, 'the reference itself is unchanged');
    assert.deepEqual(sorted(contactDigests(contact)), golden);
  });

  it('every contact of the corpus', function () {
    requireShared(this);
    const all = corpusContacts();
    assert.ok(all.length > 300, `corpus contacts read: ${all.length}`);
    for (const { file, contact } of all) {
      assert.deepEqual(sorted(contactDigests(contact)), sorted(referenceDigests(contact)), path.basename(file));
    }
  });

  it('any contact model: any UTF-16 text, lone surrogates and control characters included (fast-check)', function () {
    const anyChar = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    // Longer than 256 characters takes another escape check (a photo's base64): long ones too.
    const long = fc.tuple(fc.string({ unit: anyChar, maxLength: 3 }), fc.integer({ min: 250, max: 300 })).map(([tail, n]) => 'A'.repeat(n) + tail);
    const text = fc.oneof(fc.string({ unit: anyChar, maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('', 'CELL', 'a"b', 'a\\b'), long);
    const property: fc.Arbitrary<ContactProperty> = fc.record(
      {
        name: fc.constantFrom('TEL', 'EMAIL', 'N', 'NOTE', 'X-FOO', 'UID', 'PHOTO'),
        types: fc.array(text, { maxLength: 3 }),
        params: fc.array(fc.record({ name: text, value: text }), { maxLength: 3 }),
        values: fc.array(text, { maxLength: 4 }),
        binary: fc.boolean(),
        uri: fc.boolean(),
        mediaType: text,
      },
      { requiredKeys: ['name', 'types', 'params', 'values'] },
    );
    fc.assert(
      fc.property(fc.array(property, { maxLength: 8 }), (properties) => {
        const contact: Contact = { version: '3.0', properties };
        assert.deepEqual(sorted(contactDigests(contact)), sorted(referenceDigests(contact)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('contacts translator: prepareOutgoing is hash + toDevice from one parse', function () {
  const formats: DeviceFormat[] = [
    { type: 'text/x-vcard', version: '2.1' },
    { type: 'text/vcard', version: '3.0' },
    { type: 'text/vcard', version: '4.0' },
  ];

  function syncEvolutionFilter(): FieldFilter {
    const file = path.join(SHARED_FIXTURES, 'syncevolution', 'xml-slow-sync-legacy-formats', '001-request.xml');
    const put = treeToMessage(decodeXml(readFileSync(file))).body.find((c): c is PutGetCmd => c.kind === 'Put')!;
    const ds = parseDevInf(put.items[0]!.data as SmlElement).datastores.find((d) => /addressbook/.test(d.sourceRef))!;
    return effectiveFilter(ds.filters, undefined, 'text/x-vcard', '2.1')!;
  }

  /** Outcome of a call: its result, or the message it failed with. */
  function outcome(f: () => string): string {
    try {
      return `ok ${f()}`;
    } catch (err) {
      return `error ${String(err)}`;
    }
  }

  it('gives the same hash and the same device item for every contact of the corpus, each format, with and without a CTCap filter', function () {
    requireShared(this);
    const filter = syncEvolutionFilter();
    const items = corpusContacts().map(({ file, contact }) => ({ file, data: serializeContact(contact, '3.0') }));
    assert.ok(items.length > 300);
    let converted = 0;
    for (const { file, data } of items) {
      const prepared = t.prepareOutgoing!(data);
      assert.equal(prepared.hash, t.hash(data), path.basename(file));
      for (const to of formats) {
        for (const f of [undefined, filter]) {
          const expected = outcome(() => t.toDevice(data, to, f));
          assert.equal(outcome(() => prepared.toDevice(to, f)), expected, `${path.basename(file)} → ${to.type} ${to.version}`);
          if (expected.startsWith('ok')) converted++;
        }
      }
    }
    assert.ok(converted > items.length * 5, `conversions that succeeded: ${converted}`);
  });

  it('fails where hash and toDevice fail: no card, two cards, another component', function () {
    const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n';
    const todo = 'BEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\n';
    for (const data of ['NOTE:no card', card + card, todo, card + todo]) {
      const hashOutcome = outcome(() => t.hash(data));
      let prepared: ReturnType<NonNullable<typeof t.prepareOutgoing>> | undefined;
      const prepareOutcome = outcome(() => {
        prepared = t.prepareOutgoing!(data);
        return prepared.hash;
      });
      assert.equal(prepareOutcome, hashOutcome, JSON.stringify(data));
      if (prepared) assert.equal(outcome(() => prepared!.toDevice(formats[0]!)), outcome(() => t.toDevice(data, formats[0]!)), JSON.stringify(data));
    }
  });
});
