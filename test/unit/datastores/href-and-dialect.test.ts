// Unit tests for href canonicalisation, file names from UIDs, and UID extraction/injection.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { isGatewayError } from '../../../src/errors.js';
import { canonicalHref, collectionBase, hrefUrl, safeName } from '../../../src/datastores/href.js';
import { dialectFor, ensureUid, extractUid } from '../../../src/datastores/dav-dialect.js';

const BASE = 'http://127.0.0.1:5232/alice/contacts/';

describe('datastores: hrefs', () => {
  it('collectionBase adds the trailing slash', () => {
    assert.equal(collectionBase('http://h/alice/contacts'), 'http://h/alice/contacts/');
    assert.equal(collectionBase('http://h/alice/contacts/'), 'http://h/alice/contacts/');
  });

  it('collectionBase refuses credentials in the URL (they would end up in messages)', () => {
    assert.throws(() => collectionBase('http://alice:secret@h/c/'), (e: unknown) => {
      assert.ok(isGatewayError(e, 'CONFIG_INVALID'));
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
  });

  it('canonicalHref maps every spelling of one resource to one path', () => {
    const want = '/alice/contacts/u1%40x.vcf';
    for (const h of [
      '/alice/contacts/u1@x.vcf',
      '/alice/contacts/u1%40x.vcf',
      'http://127.0.0.1:5232/alice/contacts/u1%40x.vcf',
      'u1@x.vcf',
      'http%3A//127.0.0.1%3A5232/alice/contacts/u1%40x.vcf', // Xandikos error responses
    ]) {
      assert.equal(canonicalHref(h, BASE), want, h);
    }
    assert.equal(canonicalHref('/a/J%C3%BCrgen%20X.vcf', BASE), '/a/J%C3%BCrgen%20X.vcf');
    assert.equal(canonicalHref('/a/Jürgen X.vcf', BASE), '/a/J%C3%BCrgen%20X.vcf');
    assert.equal(canonicalHref('/a/100%.vcf', BASE), '/a/100%25.vcf', 'stray % kept literal');
    assert.equal(canonicalHref(BASE, BASE), '/alice/contacts/');
  });

  it('hrefUrl resolves against the collection origin', () => {
    assert.equal(hrefUrl('/alice/contacts/a b.vcf', BASE), 'http://127.0.0.1:5232/alice/contacts/a%20b.vcf');
  });

  it('safeName keeps only [A-Za-z0-9._-], drops accents and leading dots, caps length', () => {
    assert.equal(safeName('040000008200E00074C5B7101A82E008@example.com'), '040000008200E00074C5B7101A82E008-example.com');
    assert.equal(safeName('Jürgen/../Ä'), 'Jurgen-..-A');
    assert.equal(safeName('../etc/passwd'), 'etc-passwd');
    assert.equal(safeName('{ABC}'), 'ABC');
    assert.equal(safeName('東京'), '');
    assert.equal(safeName('x'.repeat(300)).length, 100);
  });
});

describe('datastores: dialects and UIDs', () => {
  it('dialectFor picks CardDAV for contacts and the CalDAV component otherwise', () => {
    assert.equal(dialectFor('contacts').extension, '.vcf');
    assert.equal(dialectFor('events').component, 'VEVENT');
    assert.equal(dialectFor('tasks').component, 'VTODO');
    assert.equal(dialectFor('notes').component, 'VJOURNAL');
    assert.equal(dialectFor('notes').extension, '.ics');
  });

  it('extractUid unfolds lines and takes the first UID (not a VTIMEZONE property)', () => {
    assert.equal(extractUid('BEGIN:VCARD\r\nUID:abc\r\n def\r\nEND:VCARD\r\n'), 'abcdef');
    assert.equal(extractUid('BEGIN:VCARD\nuid;VALUE=text:x-1\nEND:VCARD\n'), 'x-1');
    assert.equal(extractUid('BEGIN:VCARD\r\nFN:NOUID:x\r\nEND:VCARD\r\n'), undefined);
    assert.equal(extractUid('BEGIN:VCARD\r\nUID:\r\nEND:VCARD\r\n'), undefined);
    const ics = 'BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:ev1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    assert.equal(extractUid(ics), 'ev1');
  });

  it('ensureUid adds a UID where none is, keeping the line ending style', () => {
    assert.equal(
      ensureUid('BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n', 'u'),
      'BEGIN:VCARD\r\nUID:u\r\nFN:x\r\nEND:VCARD\r\n',
    );
    assert.equal(ensureUid('BEGIN:VCARD\nFN:x\nEND:VCARD\n', 'u'), 'BEGIN:VCARD\nUID:u\nFN:x\nEND:VCARD\n');
    const series =
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nRECURRENCE-ID:20240101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    assert.equal(ensureUid(series, 'u').match(/UID:u\r\n/g)?.length, 2);
    const has = 'BEGIN:VCARD\r\nUID:keep\r\nEND:VCARD\r\n';
    assert.equal(ensureUid(has, 'u'), has);
  });
});
