// Issue #13, "zero rejections": device items CalDAV/CardDAV servers refused (Radicale, see
// test/integration/fidelity-corpus-dav.test.ts) are converted into valid iCalendar/vCard, with
// every value kept somewhere the device gets it back from, and each repair reported as a warning.
// One hand-made fixture per class in test/fixtures/convert/fidelity/ (README there).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ICAL from 'ical.js';
import { convertCalendar } from '../../../src/convert/calendar.js';
import { convertContact } from '../../../src/convert/contacts.js';
import { parseVersit, type VersitComponent } from '../../../src/convert/versit/index.js';
import { calendarTranslators } from '../../../src/sync/calendar-translators.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { repoRoot } from './vcard-corpus-helpers.js';

const FIX = path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity');
const NOW = new Date(Date.UTC(2026, 11, 3));
const fixture = (name: string): string => readFileSync(path.join(FIX, name), 'utf8');
const VCAL = { type: 'text/x-vcalendar', version: '1.0' };
const VCARD21 = { type: 'text/x-vcard', version: '2.1' };
const cal = calendarTranslators({ now: () => NOW });

/** Every property name of every component (RFC 5545 §3.1 / RFC 6350 §3.3: letters, digits, '-'). */
function names(c: VersitComponent): string[] {
  return [...c.properties.map((p) => p.name), ...c.components.flatMap(names)];
}

/** The VEVENT/VTODO of every VCALENDAR in `text` (ical.js parses several roots to a list). */
function items(text: string): Array<InstanceType<typeof ICAL.Component>> {
  const jcal = ICAL.parse(text) as unknown[];
  const roots = Array.isArray(jcal[0]) ? (jcal as unknown[][]) : [jcal];
  return roots.flatMap((j) => {
    const root = new ICAL.Component(j);
    return [...root.getAllSubcomponents('vevent'), ...root.getAllSubcomponents('vtodo')];
  });
}

/** Server text -> what the phone gets back, as a versit tree. */
function toPhone(kind: 'events' | 'tasks', server: string): VersitComponent {
  return parseVersit(cal[kind].toDevice(cal[kind].mergeFromDevice(undefined, server), VCAL))[0]!;
}

describe('fidelity (#13, DAV): property names with characters iCalendar/vCard forbid', () => {
  it('vCard: X-MESSAGING/AIM-ALL is stored as X-MESSAGING-AIM-ALL with the device name, and comes back as sent', () => {
    const warnings: string[] = [];
    const server = contactsTranslator.toServer(fixture('invalid-property-names.vcf'), VCARD21, undefined, (m) => warnings.push(m));
    const card = parseVersit(server)[0]!;
    assert.deepEqual(names(card).filter((n) => !/^[A-Z0-9-]+$/.test(n)), []);
    assert.match(server, /^X-MESSAGING-AIM-ALL;X-SYNCML-NAME=X-MESSAGING\/AIM-ALL:erika\.aim\r$/m);
    assert.match(server, /^X-MESSAGING-XMPP-ALL;X-SYNCML-NAME=X-MESSAGING\/XMPP-ALL:erika@example\.org\r$/m);
    assert.equal(warnings.filter((w) => /X-MESSAGING\/(AIM|XMPP)-ALL/.test(w)).length, 2, warnings.join('\n'));
    const phone = contactsTranslator.toDevice(contactsTranslator.mergeFromDevice(undefined, server), VCARD21);
    assert.match(phone, /^X-MESSAGING\/AIM-ALL:erika\.aim\r$/m);
    assert.match(phone, /^X-MESSAGING\/XMPP-ALL:erika@example\.org\r$/m);
    assert.match(phone, /^X-KADDRESSBOOK-X-IMADDRESS:erika\r$/m);
    assert.doesNotMatch(phone, /X-SYNCML-NAME/);
  });

  it('vCard 3.0 to 3.0 keeps the stand-in (stable on the server)', () => {
    const v30 = convertContact(fixture('invalid-property-names.vcf'), 'vcard30');
    assert.equal(convertContact(v30, 'vcard30'), v30);
  });

  it('vCalendar: X-BAD/SLASH is stored as X-BAD-SLASH with the device name; ical.js reads it; the phone gets it back', () => {
    const warnings: string[] = [];
    const server = cal.events.toServer(fixture('invalid-property-names.vcs'), VCAL, undefined, (m) => warnings.push(m));
    const ev = items(server)[0]!;
    assert.equal(ev.getFirstPropertyValue('x-bad-slash'), 'kept value');
    assert.equal(ev.getFirstProperty('x-bad-slash')?.getParameter('x-syncml-name'), 'X-BAD/SLASH');
    assert.ok(warnings.some((w) => /X-BAD\/SLASH/.test(w)), warnings.join('\n'));
    const phone = toPhone('events', server).components[0]!;
    assert.equal(phone.properties.find((p) => p.name === 'X-BAD/SLASH')?.value, 'kept value');
    assert.ok(!names(phone).includes('X-BAD-SLASH'));
  });
});

describe('fidelity (#13, DAV): VEVENT without DTSTART (Symbian reminders, items with no time)', () => {
  const server = cal.events.toServer(fixture('vevent-without-dtstart.vcs'), VCAL);
  const bySummary = (text: string): Map<string, InstanceType<typeof ICAL.Component>> =>
    new Map(items(text).map((e) => [String(e.getFirstPropertyValue('summary')), e]));

  it('gets a DTSTART marked X-SYNCML-ADDED: the end time, else the day it was last modified; each repair logged', () => {
    const warnings: string[] = [];
    const all = convertCalendar(fixture('vevent-without-dtstart.vcs'), 'ical20', { now: NOW, onWarning: (m) => warnings.push(m) });
    const ev = bySummary(all);
    const start = (s: string): string => ev.get(s)!.getFirstProperty('dtstart')!.toICALString();
    assert.equal(start('Reminder with an end only'), 'DTSTART;X-SYNCML-ADDED=TRUE:20261204T090000Z');
    assert.equal(ev.get('Reminder with an end only')!.getFirstProperty('dtend')!.toICALString(), 'DTEND:20261204T090000Z');
    assert.equal(start('Anniversary with an end date only'), 'DTSTART;X-SYNCML-ADDED=TRUE;VALUE=DATE:20261205');
    assert.equal(start('No time at all'), 'DTSTART;X-SYNCML-ADDED=TRUE;VALUE=DATE:20261130');
    assert.equal(warnings.filter((w) => /VEVENT without DTSTART/.test(w)).length, 3, warnings.join('\n'));
  });

  it('the translator keeps the repair (one event per item)', () => {
    assert.match(server, /^DTSTART;X-SYNCML-ADDED=TRUE:20261204T090000Z\r$/m);
  });

  it('the phone gets the event back without the added DTSTART, with its DTEND and alarm', () => {
    const phone = toPhone('events', server).components[0]!;
    assert.deepEqual(phone.properties.filter((p) => p.name === 'DTSTART'), []);
    assert.equal(phone.properties.find((p) => p.name === 'DTEND')?.value, '20261204T090000Z');
    assert.equal(phone.properties.find((p) => p.name === 'AALARM')?.value.split(';')[0], '20261204T084500Z');
    const noTime = convertCalendar(convertCalendar(fixture('vevent-without-dtstart.vcs'), 'ical20', { now: NOW }), 'vcal10');
    const evs = parseVersit(noTime)[0]!.components;
    const last = evs.find((e) => e.properties.some((p) => p.name === 'SUMMARY' && p.value === 'No time at all'))!;
    assert.deepEqual(last.properties.filter((p) => /^(DTSTART|DTEND)$/.test(p.name)), []);
    // What iCalendar had no place for (a rule with nothing to repeat from, EXRULE, an unknown
    // name) went to the server as X-RRULE/X-EXRULE/X-AID and comes back as sent.
    const back = (n: string): string | undefined => last.properties.find((p) => p.name === n)?.value;
    assert.deepEqual([back('RRULE'), back('EXRULE'), back('AID')], ['W1 MO #4', 'D1 #2', '1']);
  });
});

/** Radicale's rule (radicale/item/filter.py get_children): one main per UID, overrides without a recurrence set. */
function radicaleObjections(text: string): string[] {
  const out: string[] = [];
  const byUid = new Map<string, Array<InstanceType<typeof ICAL.Component>>>();
  for (const c of items(text)) {
    const key = `${c.name}|${String(c.getFirstPropertyValue('uid'))}`;
    byUid.set(key, [...(byUid.get(key) ?? []), c]);
  }
  for (const [uid, list] of byUid) {
    const mains = list.filter((c) => !c.hasProperty('recurrence-id'));
    if (mains.length !== 1) out.push(`${uid}: ${mains.length} main components`);
    for (const c of list) {
      if (c.getAllProperties('recurrence-id').length > 1) out.push(`${uid}: several RECURRENCE-IDs`);
      if (c.hasProperty('recurrence-id') && ['rrule', 'rdate', 'exdate', 'exrule'].some((n) => c.hasProperty(n))) out.push(`${uid}: override with a recurrence set`);
    }
  }
  return out;
}

describe('fidelity (#13, DAV): Symbian recurrence overrides (X-RECURRENCE-ID)', () => {
  const warnings: string[] = [];
  const out = convertCalendar(fixture('symbian-overrides.vcs'), 'ical20', { now: NOW, onWarning: (m) => warnings.push(m) });
  const find = (summary: string): InstanceType<typeof ICAL.Component> => items(out).find((c) => c.getFirstPropertyValue('summary') === summary)!;

  it('gives one main per UID and overrides without their own recurrence set (what Radicale checks); ical.js parses it', () => {
    assert.deepEqual(radicaleObjections(out), []);
  });

  it('an override that repeats keeps its rule as X-RRULE, the series keeps RRULE and EXDATE', () => {
    const moved = find('Stand-up moved, then daily');
    assert.equal(moved.getFirstProperty('recurrence-id')!.toICALString(), 'RECURRENCE-ID:20261209T080000Z');
    assert.equal(String(moved.getFirstPropertyValue('x-rrule')), 'FREQ=DAILY;UNTIL=20261211T091500Z');
    const series = find('Daily stand-up');
    assert.ok(series.hasProperty('rrule') && series.hasProperty('exdate'));
  });

  it('an override without its series is an item of its own, its recurrence id kept as X-RECURRENCE-ID', () => {
    const lone = find('Moved instance, series not sent');
    assert.equal(lone.hasProperty('recurrence-id'), false);
    assert.match(lone.getFirstProperty('x-recurrence-id')!.toICALString(), /^X-RECURRENCE-ID.*:20261214T1[34]0000Z?$/);
  });

  it('a to-do override with two recurrence ids keeps the first, the second as X-RECURRENCE-ID', () => {
    const todo = find('Water the plants (twice moved)');
    assert.equal(todo.getAllProperties('recurrence-id').length, 1);
    assert.equal(todo.getAllProperties('x-recurrence-id').length, 1);
  });

  it('logs each repair', () => {
    assert.ok(warnings.some((w) => /override with RRULE/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /without its series/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /2 RECURRENCE-IDs/.test(w)), warnings.join('\n'));
  });

  it('a 2.0 object of overrides only (Google birthdays) gets one main', () => {
    const ov = (y: number): string => `BEGIN:VEVENT\r\nUID:bday\r\nDTSTAMP:20121207T183041Z\r\nDTSTART;VALUE=DATE:${y}1210\r\nRECURRENCE-ID;VALUE=DATE:${y}1210\r\nSUMMARY:Birthday\r\nEND:VEVENT\r\n`;
    const text = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n${ov(2012)}${ov(2013)}END:VCALENDAR\r\n`;
    assert.deepEqual(radicaleObjections(convertCalendar(text, 'ical20')), []);
  });
});

describe('fidelity (#13, DAV): vCards with a second N or broken inline data', () => {
  it('a second N is stored as X-N;X-SYNCML-NAME=N and the phone gets both N back', () => {
    const warnings: string[] = [];
    const server = contactsTranslator.toServer(fixture('two-n.vcf'), VCARD21, undefined, (m) => warnings.push(m));
    assert.equal(server.match(/^N[;:]/gm)?.length, 1);
    assert.match(server, /^X-N;X-SYNCML-NAME=N:Nikdo;Anna;;;\r$/m);
    assert.ok(warnings.some((w) => /N occurs more than once/.test(w)), warnings.join('\n'));
    const phone = contactsTranslator.toDevice(contactsTranslator.mergeFromDevice(undefined, server), VCARD21);
    assert.deepEqual(parseVersit(phone)[0]!.properties.filter((p) => p.name === 'N').map((p) => p.value), ['Nobody;Anna;;;', 'Nikdo;Anna;;;']);
  });

  it('base64 without padding is padded, a last character without a whole byte left out: the bytes are the same', () => {
    const warnings: string[] = [];
    const v30 = convertContact(fixture('photo-base64-broken.vcf'), 'vcard30', { onWarning: (m) => warnings.push(m) });
    const card = parseVersit(v30)[0]!;
    const sent = parseVersit(fixture('photo-base64-broken.vcf'))[0]!;
    for (const name of ['PHOTO', 'LOGO']) {
      const out = card.properties.find((p) => p.name === name)!.value;
      const src = sent.properties.find((p) => p.name === name)!.value;
      assert.equal(out.length % 4, 0, name);
      assert.deepEqual(Buffer.from(out, 'base64'), Buffer.from(src, 'base64'), name);
    }
    assert.equal(warnings.filter((w) => /base64/.test(w)).length, 2, warnings.join('\n'));
  });

  it('a nested vCard (2.1 AGENT), which the model does not keep, is reported, not silently lost', () => {
    const warnings: string[] = [];
    const nested = 'BEGIN:VCARD\r\nVERSION:2.1\r\nN:Parent\r\nAGENT:\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nN:Agent\r\nEND:VCARD\r\nEND:VCARD\r\n';
    convertContact(nested, 'vcard30', { onWarning: (m) => warnings.push(m) });
    assert.ok(warnings.some((w) => /nested VCARD/.test(w)), warnings.join('\n'));
  });

  it('inline data that is no base64 is kept as text under X-PHOTO (not refused, not dropped; blanks go as in any base64 value)', () => {
    const v30 = convertContact(fixture('photo-not-base64.vcf'), 'vcard30');
    assert.match(v30, /^X-PHOTO;.*X-SYNCML-NAME=PHOTO.*:PNGIHDRraw:bytes\r$/m);
    assert.doesNotMatch(v30, /^PHOTO/m);
  });
});

describe('fidelity (#13, DAV): iCalendar 2.0 passed through with values servers refuse', () => {
  it('an incomplete VTIMEZONE (Apple iCal 1.5) becomes the IANA definition, an unknown one is completed', () => {
    const warnings: string[] = [];
    const out = convertCalendar(fixture('ical-broken-vtimezone.ics'), 'ical20', { onWarning: (m) => warnings.push(m) });
    const root = new ICAL.Component(ICAL.parse(out) as unknown[]);
    for (const tz of root.getAllSubcomponents('vtimezone')) {
      for (const o of tz.getAllSubcomponents()) {
        assert.ok(o.hasProperty('dtstart') && o.hasProperty('tzoffsetfrom'), `${String(tz.getFirstPropertyValue('tzid'))} ${o.name}`);
        assert.match(o.getFirstProperty('tzoffsetto')!.toICALString(), /:[+-]\d{4}$/);
      }
    }
    const paris = new ICAL.Timezone(root.getAllSubcomponents('vtimezone')[0]!);
    const start = items(out)[0]!.getFirstPropertyValue('dtstart') as InstanceType<typeof ICAL.Time>;
    start.zone = paris;
    assert.equal(start.toUnixTime(), Date.UTC(2026, 11, 15, 8) / 1000, 'Paris is +01:00 in December');
    assert.equal(warnings.length, 2, warnings.join('\n'));
  });

  const warnings: string[] = [];
  const out = convertCalendar(fixture('ical-bad-values.ics'), 'ical20', { now: NOW, onWarning: (m) => warnings.push(m) });
  const byUid = (uid: string): InstanceType<typeof ICAL.Component> => items(out).find((c) => c.getFirstPropertyValue('uid') === uid)!;

  it('a value that is no DATE-TIME and a second SUMMARY are kept under X- names; the phone gets them back', () => {
    const todo = byUid('bad-values-1');
    assert.equal(todo.hasProperty('last-modified'), false);
    assert.equal(todo.getFirstProperty('x-last-modified')!.getParameter('x-syncml-name'), 'LAST-MODIFIED');
    assert.deepEqual(todo.getAllProperties('summary').map((p) => p.getFirstValue()), ['summary']);
    assert.equal(todo.getFirstPropertyValue('x-summary'), 'second summary');
    const phone = parseVersit(convertCalendar(out, 'vcal10'))[0]!.components.find((c) => c.name === 'VTODO')!;
    assert.deepEqual(phone.properties.filter((p) => p.name === 'SUMMARY').map((p) => p.value), ['summary', 'second summary']);
  });

  it('a PERIOD RDATE keeps its start in the recurrence set and the period as X-RDATE', () => {
    const ev = byUid('bad-values-2');
    assert.equal(ev.getFirstProperty('rdate')!.toICALString(), 'RDATE:20261225T090000Z');
    assert.equal(ev.getFirstProperty('x-rdate')!.toICALString(), 'X-RDATE;X-SYNCML-NAME=RDATE;VALUE=PERIOD:20261225T090000Z/20261225T123000Z');
  });

  it('EXDATE;VALUE=DATE in a timed series is written at the start\'s time', () => {
    assert.equal(byUid('bad-values-2').getFirstProperty('exdate')!.toICALString(), 'EXDATE:20261208T090000Z');
  });

  it('a 2.0 VEVENT without DTSTART gets one from its DTSTAMP day, marked', () => {
    assert.equal(byUid('bad-values-3').getFirstProperty('dtstart')!.toICALString(), 'DTSTART;X-SYNCML-ADDED=TRUE;VALUE=DATE:20261201');
  });

  it('a VALARM without ACTION and TRIGGER gets AUDIO and PT0S, marked (what Radicale would write)', () => {
    const alarm = byUid('bad-values-3').getFirstSubcomponent('valarm')!;
    assert.equal(alarm.getFirstProperty('action')!.toICALString(), 'ACTION;X-SYNCML-ADDED=TRUE:AUDIO');
    assert.equal(alarm.getFirstProperty('trigger')!.toICALString(), 'TRIGGER;X-SYNCML-ADDED=TRUE:PT0S');
  });

  it('a date-time folded right after its date stays a date-time (was read as VALUE=DATE)', () => {
    assert.equal(byUid('bad-values-4').getFirstProperty('dtstart')!.toICALString(), 'DTSTART:20261212T100000');
  });

  it('every repair is logged; Radicale\'s rules hold', () => {
    assert.equal(warnings.length, 7, warnings.join('\n')); // the fold is read right, nothing repaired
    assert.deepEqual(radicaleObjections(out), []);
  });
});

describe('fidelity (#13, DAV): Symbian series with a date-only EXDATE and DUE on an event', () => {
  const warnings: string[] = [];
  const server = cal.events.toServer(fixture('exdate-day-timed-series.vcs'), VCAL, undefined, (m) => warnings.push(m));
  const ev = items(server)[0]!;

  it('the excluded day becomes that day\'s occurrence (the DTSTART type), so no instance moves on the server', () => {
    assert.equal(ev.getFirstProperty('exdate')!.toICALString(), 'EXDATE:20261209T060000Z');
    const starts: string[] = [];
    const iter = new ICAL.Event(ev).iterator();
    for (let t = iter.next(); t; t = iter.next()) starts.push(t.toString());
    assert.equal(starts.length, 4, 'COUNT=5 less the excluded day: the EXDATE hits an occurrence');
  });

  it('DUE on the event is kept as X-DUE and goes back to the phone as DUE', () => {
    assert.equal(ev.getFirstProperty('x-due')!.getParameter('x-syncml-name'), 'DUE');
    assert.ok(warnings.some((w) => /DUE on a VEVENT/.test(w)), warnings.join('\n'));
    assert.equal(toPhone('events', server).components[0]!.properties.find((p) => p.name === 'DUE')?.value, '20261207T080000');
  });
});

describe('fidelity (#13, DAV): quoted-printable in iCalendar 2.0 (Funambol)', () => {
  it('is decoded instead of refused; the text is kept', () => {
    const out = convertCalendar(fixture('ical-quoted-printable.ics'), 'ical20');
    assert.equal(items(out)[0]!.getFirstPropertyValue('description'), 'line one\nline two with a long tail that goes on and on, a-umlaut ä');
    assert.doesNotMatch(out, /QUOTED-PRINTABLE/);
  });
});
