// Notes: text/plain <-> vNote 1.1 <-> iCalendar VJOURNAL, with corpus vNotes (gammu, opensync).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ICAL from 'ical.js';
import { convertNote, parseNote } from '../../../src/convert/notes.js';
import { requireShared, SHARED_CORPUS } from '../../support/shared.js';

const corpus = SHARED_CORPUS;
const NOW = new Date(Date.UTC(2024, 0, 1));

describe('notes', function () {
  before(function () {
    requireShared(this);
  });
  it('decodes the QP UTF-8 Symbian vNote body', () => {
    const n = parseNote(readFileSync(path.join(corpus, 'gammu/vnote/symbian.vnt')));
    assert.match(n.body, /^Teolog\nDager og blir ute til i kassa tar vår teolog dager og/);
    assert.equal(n.summary, 'Teolog');
    assert.equal(n.created, '20060927T202756Z');
  });
  it('text -> vNote -> VJOURNAL -> text keeps the text', () => {
    const text = 'Einkauf\nMilch, Brot; Käse';
    const vnote = convertNote(text, 'vnote');
    assert.match(vnote, /^BEGIN:VNOTE\r\nVERSION:1.1\r\n/);
    assert.match(vnote.replace(/=\r\n/g, ''), /BODY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Einkauf=0D=0AMilch, Brot; K=C3=A4se/);
    const ical = convertNote(vnote, 'ical20', { now: NOW });
    const j = new ICAL.Component(ICAL.parse(ical) as unknown[]).getFirstSubcomponent('vjournal');
    assert.ok(j);
    assert.equal(j.getFirstPropertyValue('summary'), 'Einkauf');
    assert.equal(j.getFirstPropertyValue('description'), text);
    assert.equal(convertNote(ical, 'text'), text);
  });
  it('VJOURNAL with summary separate from the description gets both lines in text', () => {
    const ical = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VJOURNAL\r\nUID:j\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Title\r\nDESCRIPTION:Body line\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n';
    assert.equal(convertNote(ical, 'text'), 'Title\nBody line');
  });
  it('Evolution memos (SyncEvolution eds_memo.ics) and summary-only memos', () => {
    const parts = readFileSync(path.join(corpus, 'syncevolution/testcases/eds_memo.ics'), 'utf8').split(/\n(?=BEGIN:VCALENDAR)/);
    const texts = parts.map((p) => convertNote(p, 'text'));
    assert.deepEqual(texts.slice(0, 3), ['Only Summary', 'Summary\nBody <<Revision>>', 'Simple']);
    assert.ok(texts.includes('Umlaute\nä ö ü Ä Ö Ü'));
  });
  it('every corpus vNote converts to VJOURNAL and back', () => {
    const files = [
      ...readdirSync(path.join(corpus, 'gammu/vnote')).filter((f) => f.endsWith('.vnt')).map((f) => path.join(corpus, 'gammu/vnote', f)),
      ...readdirSync(path.join(corpus, 'opensync/data/vnotes')).map((f) => path.join(corpus, 'opensync/data/vnotes', f)),
    ];
    assert.ok(files.length >= 8);
    for (const f of files) {
      const n = parseNote(readFileSync(f));
      const back = parseNote(convertNote(convertNote(readFileSync(f), 'ical20', { now: NOW }), 'vnote'));
      assert.equal(back.body, n.body, f);
      assert.equal(back.summary, n.summary, f);
      assert.deepEqual(back.categories, n.categories, f);
    }
  });
  it('drops X-IRMC-LUID and keeps categories/class', () => {
    const v = readFileSync(path.join(corpus, 'opensync/data/vnotes/vnote1.vnt'));
    const ical = convertNote(v, 'ical20', { now: NOW });
    assert.doesNotMatch(ical, /IRMC/);
    assert.match(ical, /CATEGORIES:Birthday,Friends/);
    assert.match(ical, /CLASS:PUBLIC/);
  });
});
