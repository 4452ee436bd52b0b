// Regression: SyncEvolution sends empty placeholder properties (`GEO:;`, `NOTE:`). A new item
// dropped them but the field-level merge kept `GEO:;`, so every slow sync of a known phone
// rewrote every contact on the server (300 needless PUTs for 300 contacts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeXml } from '../../../src/codec/xml.js';
import { treeToMessage } from '../../../src/codec/message.js';
import type { PutGetCmd } from '../../../src/codec/model.js';
import type { SmlElement } from '../../../src/codec/tree.js';
import { effectiveFilter } from '../../../src/convert/filters/index.js';
import { parseDevInf } from '../../../src/protocol/devinf.js';
import { unchangedFields } from '../../../src/sync/field-digests.js';
import { contactsTranslator as t } from '../../../src/sync/translators.js';
import { requireShared, SHARED_FIXTURES } from '../../support/shared.js';

const sent = [
  'BEGIN:VCARD', 'VERSION:2.1', 'REV:20100328T103410Z', 'N;CHARSET=UTF-8:Müller;Peter;;;', 'FN;CHARSET=UTF-8:Peter Müller', 'X-EVOLUTION-FILE-AS:',
  'NICKNAME:', 'TITLE;CHARSET=UTF-8:Directrice générale', 'ORG;CHARSET=UTF-8:Müller & Söhne KG;;;', 'ROLE:', 'TEL;VOICE;CELL:+49 170 1674352',
  'EMAIL;INTERNET:peter.3.1@example.org', 'URL:', 'ADR;HOME;CHARSET=UTF-8:;;Hauptstraße 53;Springfield;;62704;USA', 'BDAY:', 'NOTE:', 'PHOTO:', 'GEO:;',
  'END:VCARD', '',
].join('\r\n');

describe('contacts translator: SyncEvolution placeholders', function () {
  it('merging what the phone sent into what it created from the same item changes nothing', function () {
    requireShared(this);
    const file = path.join(SHARED_FIXTURES, 'syncevolution', 'xml-slow-sync-legacy-formats', '001-request.xml');
    const put = treeToMessage(decodeXml(readFileSync(file))).body.find((c): c is PutGetCmd => c.kind === 'Put')!;
    const ds = parseDevInf(put.items[0]!.data as SmlElement).datastores.find((d) => /addressbook/.test(d.sourceRef))!;
    const filter = effectiveFilter(ds.filters, undefined, 'text/x-vcard', '2.1');
    assert.ok(filter, 'SyncEvolution sends a CTCap');
    const asServer = t.toServer(sent, { type: 'text/x-vcard' });
    const created = t.mergeFromDevice(undefined, asServer.replace('BEGIN:VCARD\r\n', 'BEGIN:VCARD\r\nUID:u1\r\n'));
    const merged = t.mergeFromDevice(created, asServer, filter);
    assert.doesNotMatch(merged, /^GEO/m);
    assert.equal(t.hash(merged), t.hash(created));
  });
});

describe('contacts translator: field digests for the three-way conflict merge', function () {
  const v21 = { type: 'text/x-vcard', version: '2.1' };
  const v30 = { type: 'text/vcard', version: '3.0' };
  const card = (tel: string): string => ['BEGIN:VCARD', 'VERSION:2.1', 'N:Rossi;Zoë;;;', 'FN:Zoë Rossi', `TEL;CELL;VOICE:${tel}`,
    'EMAIL;INTERNET:zoe@example.org', 'END:VCARD', ''].join('\r\n');

  it('the same card as 2.1 (sent to the phone) and as 3.0 gives the same digests', function () {
    const asServer = t.toServer(card('+49 170 1'), v21);
    assert.equal(t.fieldDigests!(card('+49 170 1'), v21), t.fieldDigests!(asServer, v30));
  });

  it('an edited field changes only its own digest; the rest count as unchanged', function () {
    const base = t.fieldDigests!(card('+49 170 1'), v21);
    const now = t.fieldDigests!(card('+49 170 2'), v21);
    assert.deepEqual(unchangedFields(base, now).sort(), ['EMAIL', 'FN', 'N']);
    const withoutUnchanged = t.withoutFields!(t.toServer(card('+49 170 2'), v21), unchangedFields(base, now));
    assert.match(withoutUnchanged, /^TEL/m);
    assert.doesNotMatch(withoutUnchanged, /^EMAIL/m);
  });
});

describe('contacts translator: content hash', function () {
  // Hashes are stored in the ID map and compared in later sessions: a faster hash must give the
  // same values (this one was computed before the one-shot digest and the group-less fast path).
  it('is stable: the value stored by earlier versions, regardless of REV, groups and folding', function () {
    const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:pin-1\r\nN:Müller;Jörg;;;\r\nFN:Jörg Müller\r\nTEL;TYPE=CELL:+49 170 1234567\r\nREV:20250101T000000Z\r\nitem1.EMAIL;TYPE=INTERNET:j@example.org\r\nitem1.X-ABLABEL:private\r\nNOTE:a long note that is folded because it is longer than seventy-five octets in total\r\nEND:VCARD\r\n';
    assert.equal(t.hash(card), 'NggPOuq1XwxTvUAtA8pRXJH18M0=');
    assert.equal(t.hash(card.replace('REV:20250101T000000Z', 'REV:20260101T000000Z').replace(/item1\./g, 'item7.')), 'NggPOuq1XwxTvUAtA8pRXJH18M0=');
  });
});
