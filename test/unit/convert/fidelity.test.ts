// Issue #13: fidelity defects found with devices and servers no other test uses. One fixture per
// pattern in test/fixtures/convert/fidelity/ (README there says which pattern each reproduces);
// compared property by property, not by counts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import ICAL from 'ical.js';
import { convertCalendar } from '../../../src/convert/calendar.js';
import iconv from 'iconv-lite';
import { decodeUtf8Lossless } from '../../../src/codec/lossless-utf8.js';
import { convertContact, parseContact } from '../../../src/convert/contacts.js';
import { effectiveFilter, loadDeviceProfiles, matchDeviceProfile, parseDeviceProfile } from '../../../src/convert/filters/index.js';
import { calendarTranslators } from '../../../src/sync/calendar-translators.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { parseVersit, unescapeText, type VersitComponent } from '../../../src/convert/versit/index.js';
import { repoRoot } from './vcard-corpus-helpers.js';

const FIX = path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity');
const NOW = new Date(Date.UTC(2026, 11, 3));
const fixture = (name: string): Buffer => readFileSync(path.join(FIX, name));
const value = (c: VersitComponent, name: string): string | undefined => c.properties.find((p) => p.name === name)?.value;

function icalItems(text: string): Array<InstanceType<typeof ICAL.Component>> {
  const cal = new ICAL.Component(ICAL.parse(text) as unknown[]);
  return [...cal.getAllSubcomponents('vevent'), ...cal.getAllSubcomponents('vtodo')];
}

describe('fidelity (#13) defect 4: QP soft line break followed by a space', () => {
  it('keeps the space that follows a soft break (phone folding), value by value', () => {
    const card = parseVersit(fixture('qp-soft-break-space.vcf'))[0]!;
    assert.equal(value(card, 'ADR'), ';;ул. Ленина, д. 7, квартиры 3-5;Москва;;101000;');
    assert.equal(value(card, 'NOTE'), 'позвонить вечером после семи');
    const single = parseVersit(fixture('qp-soft-break-space-single.vcf'))[0]!;
    assert.equal(value(single, 'ADR'), ';;пр. Мира, д. 12;Тверь;;170000;');
  });

  it('still drops the indent of a writer that indents every continuation (Funambol)', () => {
    const text = [
      'BEGIN:VCARD', 'VERSION:2.1', 'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:MT_QA_LN_=C3=A0_9;MT_QA_FN_=C3=A0_=', ' 9',
      'EMAIL;INTERNET;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:MT_QA_LN_=C3=A0_9@fun=', ' ambol.com', 'END:VCARD', '',
    ].join('\r\n');
    const card = parseVersit(text)[0]!;
    assert.equal(value(card, 'N'), 'MT_QA_LN_à_9;MT_QA_FN_à_9');
    assert.equal(value(card, 'EMAIL'), 'MT_QA_LN_à_9@funambol.com');
  });

  it('carries the space into the vCard 3.0 the server stores', () => {
    const c = parseContact(fixture('qp-soft-break-space.vcf'));
    const adr = c.properties.find((p) => p.name === 'ADR');
    assert.ok(adr);
    assert.match(JSON.stringify(adr), /квартиры 3-5/);
  });
});

describe('fidelity (#13) defect 2: UIDs of vCalendar items without one', () => {
  it('the gateway path leaves the UID to identity (no content-derived UID)', () => {
    const out = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW, uidFromContent: false });
    assert.equal(icalItems(out)[0]!.getFirstPropertyValue('uid'), null);
  });
  it('the stateless convert command still derives a stable one from content', () => {
    const a = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW });
    const b = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW });
    assert.match(String(icalItems(a)[0]!.getFirstPropertyValue('uid')), /^vcal-[0-9a-f]{20}$/);
    assert.equal(icalItems(a)[0]!.getFirstPropertyValue('uid'), icalItems(b)[0]!.getFirstPropertyValue('uid'));
  });
});

describe('fidelity (#13) defect 8: PRIORITY scales keep order and round-trip', () => {
  const priorities = (text: string): number[] => icalItems(text).map((c) => Number(c.getFirstPropertyValue('priority')));
  const vcalPriorities = (text: string): string[] => [...text.matchAll(/^PRIORITY:(\d+)/gm)].map((m) => m[1]!);

  it('Palm 1-5 (priorityScale 5): 1,2,3,4,5 -> 1,3,5,7,9 and back unchanged', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW, priorityScale: 5 });
    const p = priorities(ical);
    assert.deepEqual(p, [1, 3, 5, 7, 9]);
    const back = convertCalendar(ical, 'vcal10', { priorityScale: 5 });
    assert.deepEqual(vcalPriorities(back), ['1', '2', '3', '4', '5']);
  });

  it('phones (default scale 3): order kept for every value, 1-3 round-trip', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW });
    const p = priorities(ical);
    for (let k = 1; k < p.length; k++) assert.ok(p[k]! >= p[k - 1]!, `order kept: ${p.join(',')}`);
    assert.deepEqual(p.slice(0, 3), [1, 5, 9]);
    assert.deepEqual(vcalPriorities(convertCalendar(ical, 'vcal10')).slice(0, 3), ['1', '2', '3']);
  });

  it('Psion/desktop (scale 9): identity', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW, priorityScale: 9 });
    assert.deepEqual(priorities(ical), [1, 2, 3, 4, 5]);
    assert.deepEqual(vcalPriorities(convertCalendar(ical, 'vcal10', { priorityScale: 9 })), ['1', '2', '3', '4', '5']);
  });
});

/** Quoted-printable of the UTF-8 bytes of `text`, with soft breaks every 60 characters (as phones). */
function qp(text: string): string {
  let out = '';
  let len = 0;
  for (const b of Buffer.from(text, 'utf8')) {
    const tok = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || b === 0x20 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (len + tok.length > 60) {
      out += '=\r\n';
      len = 0;
    }
    out += tok;
    len += tok.length;
  }
  return out.replace(/ (=\r\n|$)/g, '=20$1');
}

describe('fidelity (#13) defect 3: multi-line QP values give valid iCalendar', () => {
  it('escapes every decoded value of the fixture; ical.js reads each back as sent', () => {
    const out = convertCalendar(fixture('qp-multiline-values.vcs'), 'ical20', { now: NOW });
    for (const l of out.split('\r\n')) assert.ok(!/[\r\n]/.test(l), 'no raw line break inside a line');
    const ev = icalItems(out)[0]!;
    assert.equal(ev.getFirstPropertyValue('summary'), 'Plan\nmeeting');
    assert.equal(ev.getFirstPropertyValue('description'), 'Agenda:\n1. Budget\n2. Straße; Weg, Platz\n');
    assert.equal(ev.getFirstPropertyValue('location'), 'Room 4\nBuilding B');
    assert.equal(ev.getFirstPropertyValue('url'), 'http://example.org/meeting');
    const attach = ev.getAllProperties('attach');
    assert.equal(attach.length, 2);
    assert.equal(attach[0]!.getParameter('fmttype'), 'text/plain');
    assert.equal(Buffer.from(String(attach[0]!.getFirstValue()), 'base64').toString('utf8'), 'Bring:\n- laptop\n- charger');
    assert.equal(attach[1]!.getFirstValue(), 'http://example.org/agenda.pdf');
  });

  it('fuzz: any text in any property, QP-encoded, converts to iCalendar ical.js parses, text kept', () => {
    const alphabet = ['a', 'Z', '7', ' ', 'ä', 'ж', '日', '😀', '\r\n', '\n', ';', ',', '\\', ':', '=', '"', '\t', '\x01', '<', '>', '@'];
    const text = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 40 }).map((a) => a.join(''));
    const names = ['SUMMARY', 'DESCRIPTION', 'LOCATION', 'ATTACH', 'URL', 'CLASS', 'CATEGORIES', 'X-FOO', 'ATTENDEE', 'COMMENT', 'RESOURCES'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...names), text), { minLength: 1, maxLength: 6 }), (props) => {
        const lines = props.map(([n, v]) => `${n};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:${qp(v)}`);
        const input = ['BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VEVENT', 'UID:f', 'DTSTART:20261201T100000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
        const out = convertCalendar(input, 'ical20', { now: NOW });
        const ev = icalItems(out)[0]!;
        for (const [n, v] of props) {
          if (n !== 'DESCRIPTION' && n !== 'LOCATION' && n !== 'COMMENT') continue;
          const want = v.replace(/\r\n|\r/g, '\n').replace(/\\([\\;,:nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c)).split('\x01').join('');
          // RFC 5545 allows LOCATION/DESCRIPTION once: a second one is kept under X-<name> (calendar-values.ts).
          const got = [
            ...ev.getAllProperties(n.toLowerCase()).map((p) => p.getFirstValue()),
            ...ev.getAllProperties(`x-${n.toLowerCase()}`).map((p) => unescapeText(String(p.getFirstValue()))),
          ];
          assert.ok(got.includes(want), `${n}: ${JSON.stringify(want)} in ${JSON.stringify(got)}`);
        }
        // The vCalendar the phone gets back parses too.
        parseVersit(convertCalendar(out, 'vcal10'));
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

describe('fidelity (#13) defect 6: ATTENDEE kept, repaired or logged', () => {
  it('joins a parameter list broken by a line break; keeps tel: and name-only attendees', () => {
    const warnings: string[] = [];
    const out = convertCalendar(fixture('attendee-broken.vcs'), 'ical20', { now: NOW, onWarning: (m) => warnings.push(m) });
    const ev = icalItems(out)[0]!;
    const att = ev.getAllProperties('attendee').map((p) => ({ v: p.getFirstValue(), cn: p.getParameter('cn'), ps: p.getParameter('partstat'), rsvp: p.getParameter('rsvp') }));
    assert.deepEqual(att, [
      { v: 'mailto:anna.berg@example.org', cn: 'Anna Berg', ps: 'NEEDS-ACTION', rsvp: undefined },
      { v: 'mailto:carl@example.org', cn: undefined, ps: 'ACCEPTED', rsvp: 'TRUE' },
      { v: 'tel:+46812345678', cn: undefined, ps: undefined, rsvp: undefined },
    ]);
    assert.equal(ev.getFirstPropertyValue('organizer'), 'mailto:erik@example.org');
    assert.equal(ev.getFirstPropertyValue('x-vcal-attendee'), 'Dora Lind');
    assert.equal(warnings.filter((w) => /broken by a line break/.test(w)).length, 2);
    assert.ok(warnings.some((w) => /Dora Lind.*no address/.test(w)), 'name-only attendee logged');
    assert.ok(!out.includes('ACTION;EXPECT'), 'no stray property from the second half');
    // Back to the phone: every attendee again, the name-only one as it was.
    const back = convertCalendar(out, 'vcal10');
    const vcalAtt = parseVersit(back)[0]!.components[0]!.properties.filter((p) => p.name === 'ATTENDEE').map((p) => p.value);
    assert.deepEqual(vcalAtt, ['Anna Berg <anna.berg@example.org>', 'carl@example.org', 'Dora Lind', '+46812345678', 'Erik Holm <erik@example.org>']);
  });
});

describe('fidelity (#13) defect 7: ATTACH on iCalendar -> vCalendar', () => {
  it('keeps URI, inline text and binary attachments', () => {
    const out = convertCalendar(fixture('ical-attach.ics'), 'vcal10');
    const ev = parseVersit(out)[0]!.components[0]!;
    const attach = ev.properties.filter((p) => p.name === 'ATTACH');
    assert.equal(attach.length, 3);
    assert.equal(attach[0]!.value, 'https://example.org/minutes.pdf');
    assert.deepEqual(attach[0]!.params, [{ name: 'VALUE', value: 'URL' }]);
    assert.equal(attach[1]!.value, 'Dial-in:\r\n+46 8 000 000');
    assert.equal(attach[2]!.encoding, 'BASE64');
    assert.equal(attach[2]!.value, 'iVBORw0KGgo=');
    // And in again: the same three.
    const again = icalItems(convertCalendar(out, 'ical20', { now: NOW }))[0]!.getAllProperties('attach');
    assert.equal(again.length, 3);
    assert.equal(again[0]!.getFirstValue(), 'https://example.org/minutes.pdf');
  });
});

describe('fidelity (#13) defect 5: card-level charset', () => {
  const sjis = fixture('shift-jis-card-charset.vcf');
  const want = { N: '山田;太郎;;;', SOUND: 'ﾔﾏﾀﾞ;ﾀﾛｳ;;;', NOTE: '会議は月曜日の午後', ADR: ';;千代田区丸の内1-1;東京都;;100-0005;日本' };
  const check = (input: string | Uint8Array, opts = {}): void => {
    const card = parseVersit(input, opts)[0]!;
    for (const [name, v] of Object.entries(want)) assert.equal(value(card, name), v, name);
    assert.ok(!card.properties.some((p) => p.value.includes('\ufffd')), 'no U+FFFD');
  };

  it('reads unlabelled properties in the CHARSET another property of the card declared (bytes)', () => check(sjis));

  it('the same from text whose non-UTF-8 bytes the codec kept as escapes (lossless-utf8)', () => {
    check(decodeUtf8Lossless(sjis));
    const v30 = convertContact(decodeUtf8Lossless(sjis), 'vcard30');
    assert.match(v30, /^NOTE:会議は月曜日の午後\r$/m);
  });

  it('a device profile charset covers cards without any CHARSET', () => {
    const bare = iconv.encode('BEGIN:VCARD\r\nVERSION:2.1\r\nN:山田;太郎;;;\r\nNOTE:会議は月曜日の午後\r\nEND:VCARD\r\n', 'Shift_JIS');
    assert.equal(value(parseVersit(bare, { defaultCharset: 'SHIFT_JIS' })[0]!, 'NOTE'), '会議は月曜日の午後');
    const profile = parseDeviceProfile('name: jp\nmatch: { man: "^sharp" }\ncharset: SHIFT_JIS\n', 'jp.yaml');
    const filter = effectiveFilter([], profile, 'text/x-vcard', '2.1');
    assert.equal(filter?.charset, 'SHIFT_JIS');
    assert.match(contactsTranslator.toServer(decodeUtf8Lossless(bare), { type: 'text/x-vcard' }, filter), /^NOTE:会議は月曜日の午後\r$/m);
  });

  it('bytes wrongly labelled UTF-8 in a Shift_JIS card are read in Shift_JIS, with a warning', () => {
    const text = iconv.encode('BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:山田;太郎\r\nNOTE;CHARSET=UTF-8:午後\r\nEND:VCARD\r\n', 'Shift_JIS');
    const warnings: string[] = [];
    assert.equal(value(parseVersit(text, { onWarning: (m) => warnings.push(m) })[0]!, 'NOTE'), '午後');
    assert.ok(warnings.some((w) => /not valid UTF-8; read as SHIFT_JIS/.test(w)));
  });
});

describe('fidelity (#13) defect 9: PHOTO type towards the phone', () => {
  it('phone PHOTO;TYPE=PNG;ENCODING=BASE64 -> server TYPE=PNG -> phone PHOTO;TYPE=PNG;ENCODING=BASE64, data unchanged', () => {
    const sent = parseVersit(fixture('photo-type-png.vcf'))[0]!;
    const v30 = convertContact(fixture('photo-type-png.vcf'), 'vcard30');
    assert.match(v30, /^PHOTO;TYPE=PNG;ENCODING=b:/m);
    const back = convertContact(v30, 'vcard21');
    assert.match(back, /^PHOTO;TYPE=PNG;ENCODING=BASE64:/m);
    assert.ok(!/^PHOTO;PNG/m.test(back), 'no bare type');
    const photo = parseVersit(back)[0]!.properties.find((p) => p.name === 'PHOTO')!;
    assert.equal(photo.value, value(sent, 'PHOTO'));
    assert.deepEqual(photo.params.filter((p) => p.name === 'TYPE').map((p) => [p.value, p.bare ?? false]), [['PNG', false]]);
  });
});

describe('fidelity (#13) defect 8 through the gateway path: the Palm profile sets the scale', () => {
  it('palm.yaml gives the tasks filter priorityScale 5; the translator maps 4 -> 7 and back to 4', () => {
    const profiles = loadDeviceProfiles(path.join(repoRoot, 'config', 'devices'));
    const palm = matchDeviceProfile(profiles, { man: 'Palm, Inc.', mod: 'Treo 680' });
    const filter = effectiveFilter([], palm, 'text/x-vcalendar', '1.0');
    assert.equal(filter?.priorityScale, 5);
    const tasks = calendarTranslators({ now: () => NOW }).tasks;
    const todo = 'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:four\r\nPRIORITY:4\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    const server = tasks.toServer(todo, { type: 'text/x-vcalendar', version: '1.0' }, filter);
    assert.equal(icalItems(server)[0]!.getFirstPropertyValue('priority'), 7);
    assert.match(tasks.toDevice(tasks.mergeFromDevice(undefined, server), { type: 'text/x-vcalendar', version: '1.0' }, filter), /^PRIORITY:4\r$/m);
  });
});

describe('fidelity (#13, corpus test): commas in unknown 2.1 properties', () => {
  const card21 = 'BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John;;;\r\nFN:John Doe\r\nX-EVOLUTION-FILE-AS:Doe, John\r\nX-LIST:a\\,b\r\nEND:VCARD\r\n';

  it('are escaped in 3.0/4.0, where a server would split them into a list', () => {
    const v30 = convertContact(card21, 'vcard30');
    assert.match(v30, /^X-EVOLUTION-FILE-AS:Doe\\, John\r$/m);
    assert.match(v30, /^X-LIST:a\\,b\r$/m, 'an escaped comma is not escaped twice');
    assert.match(convertContact(card21, 'vcard40'), /^X-EVOLUTION-FILE-AS:Doe\\, John\r$/m);
  });

  it('come back to a 2.1 phone as plain commas, and 2.1 to 2.1 stays verbatim', () => {
    assert.match(convertContact(convertContact(card21, 'vcard30'), 'vcard21'), /^X-EVOLUTION-FILE-AS:Doe, John\r$/m);
    assert.match(convertContact(card21, 'vcard21'), /^X-EVOLUTION-FILE-AS:Doe, John\r$/m);
  });
});
