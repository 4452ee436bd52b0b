// iCalendar item functions (src/convert/icalendar/): one item per resource, overrides dropped for
// vCalendar devices, content hashes, comparable instants, and the merge of a device's edit.
import assert from 'node:assert/strict';
import { isGatewayError } from '../../../src/errors.js';
import { calendarContentHash, mergeCalendarItem, normaliseCalendarItem, seriesWithoutOverrides } from '../../../src/convert/icalendar/index.js';
import { parseICalendar } from '../../../src/convert/icalendar/component.js';
import { Instants } from '../../../src/convert/icalendar/instants.js';
import { samePriority } from '../../../src/convert/icalendar/merge.js';

const NOW = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

const BERLIN = [
  'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
  'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD',
  'BEGIN:DAYLIGHT', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'END:DAYLIGHT',
  'END:VTIMEZONE',
];
const UNUSED_ZONE = ['BEGIN:VTIMEZONE', 'TZID:Unused/Zone', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0300', 'TZOFFSETTO:+0300', 'END:STANDARD', 'END:VTIMEZONE'];

function cal(...lines: string[]): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
}

/** Unfolded lines of property `name` outside VTIMEZONE definitions. */
function lines(text: string, name: string): string[] {
  return text.replace(/\r\n[ \t]/g, '').replace(/BEGIN:VTIMEZONE[\s\S]*?END:VTIMEZONE\r\n/g, '').split('\r\n').filter((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`));
}

const series = cal(
  ...BERLIN, ...UNUSED_ZONE,
  'BEGIN:VEVENT', 'UID:s-1', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Weekly', 'DTSTART;TZID=Europe/Berlin:20250303T100000',
  'DTEND;TZID=Europe/Berlin:20250303T110000', 'RRULE:FREQ=WEEKLY;COUNT=5', 'ATTENDEE;CN=Ann;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:ann@example.org', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:s-1', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Weekly (moved)', 'RECURRENCE-ID;TZID=Europe/Berlin:20250310T100000',
  'DTSTART;TZID=Europe/Berlin:20250310T120000', 'DTEND;TZID=Europe/Berlin:20250310T130000', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:other', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Someone else', 'DTSTART:20250304T100000Z', 'END:VEVENT',
);

describe('convert/icalendar: calendar items', function () {
  describe('normaliseCalendarItem', function () {
    it('keeps the master and its overrides with the zones they use, drops items of another UID and unused zones', function () {
      const out = normaliseCalendarItem(series, 'vevent');
      assert.deepEqual(lines(out, 'ATTENDEE'), ['ATTENDEE;CN=Ann;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:ann@example.org']);
      assert.deepEqual(lines(out, 'UID'), ['UID:s-1', 'UID:s-1']);
      assert.deepEqual(out.match(/^TZID:.*$/gm), ['TZID:Europe/Berlin']);
      assert.deepEqual(lines(out, 'PRODID'), ['PRODID:-//syncml-dav-gateway//sync//EN']);
      assert.ok(out.endsWith('END:VCALENDAR\r\n') && !/[^\r]\n/.test(out), 'CRLF line ends');
    });

    it('refuses an object without an item of the kind, naming what it found', function () {
      assert.throws(() => normaliseCalendarItem(series, 'vtodo'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /expected a VTODO, found VEVENT/.test(e.message));
      assert.throws(() => normaliseCalendarItem('BEGIN:VCARD\r\nEND:VCARD\r\n', 'vevent'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM'));
    });
  });

  describe('seriesWithoutOverrides', function () {
    it('keeps only the series master of the kind; other components stay', function () {
      const out = seriesWithoutOverrides(series, 'vevent');
      assert.equal(lines(out, 'RECURRENCE-ID').length, 0);
      assert.deepEqual(lines(out, 'SUMMARY'), ['SUMMARY:Weekly']);
      assert.equal(out.match(/^TZID:/gm)?.length, 2, 'zones are not touched');
    });

    it('leaves an object without overrides as it is', function () {
      const single = cal('BEGIN:VTODO', 'UID:t', 'SUMMARY:Task', 'END:VTODO');
      assert.deepEqual(lines(seriesWithoutOverrides(single, 'vtodo'), 'SUMMARY'), ['SUMMARY:Task']);
    });
  });

  describe('calendarContentHash', function () {
    const a = cal('BEGIN:VEVENT', 'UID:h', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Lunch', 'LOCATION:Canteen', 'END:VEVENT');
    it('ignores stamps, PRODID, SEQUENCE, VTIMEZONE and the order of properties', function () {
      const b = ['BEGIN:VCALENDAR', 'PRODID:-//other//EN', 'VERSION:2.0', ...UNUSED_ZONE, 'BEGIN:VEVENT', 'SEQUENCE:3', 'LOCATION:Canteen',
        'SUMMARY:Lunch', 'UID:h', 'DTSTAMP:20260101T000000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
      assert.equal(calendarContentHash(b), calendarContentHash(a));
    });

    it('sees a change of content, and refuses text without a VCALENDAR', function () {
      assert.notEqual(calendarContentHash(a.replace('Lunch', 'Dinner')), calendarContentHash(a));
      assert.throws(() => calendarContentHash('BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM'));
    });
  });

  describe('Instants', function () {
    const inst = new Instants('Europe/Berlin');
    const zoned = parseICalendar(series);
    const utc = parseICalendar(cal('BEGIN:VEVENT', 'UID:u', 'DTSTART:20250303T090000Z', 'END:VEVENT'));
    const floating = parseICalendar(cal('BEGIN:VEVENT', 'UID:f', 'DTSTART:20250303T100000', 'END:VEVENT'));
    const startOf = (c: ReturnType<typeof parseICalendar>): string | undefined => inst.of(c.getFirstSubcomponent('vevent')!.getFirstProperty('dtstart'), c);

    it('one instant written with a TZID, in UTC, or floating in the device zone has one key', function () {
      assert.equal(startOf(zoned), 'T1740992400');
      assert.equal(startOf(utc), startOf(zoned));
      assert.equal(startOf(floating), startOf(zoned));
      assert.notEqual(new Instants(undefined).of(floating.getFirstSubcomponent('vevent')!.getFirstProperty('dtstart'), floating), startOf(zoned));
    });

    it('reads a device\'s local midnight as a date in an all-day series', function () {
      const c = parseICalendar(cal('BEGIN:VEVENT', 'UID:d', 'DTSTART;VALUE=DATE:20250303', 'EXDATE:20250310T000000,20250317T000000', 'END:VEVENT'));
      const item = c.getFirstSubcomponent('vevent')!;
      assert.equal(inst.dateSet(item, 'exdate', c, true), 'D20250310,D20250317');
      assert.match(inst.dateSet(item, 'exdate', c, false), /^T\d+,T\d+$/);
    });

    it('an absolute alarm at the run time of a relative one has the same key', function () {
      const rel = parseICalendar(cal('BEGIN:VEVENT', 'UID:a', 'DTSTART:20250303T090000Z', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'END:VALARM', 'END:VEVENT'));
      const abs = parseICalendar(cal('BEGIN:VEVENT', 'UID:a', 'DTSTART:20250303T090000Z', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER;VALUE=DATE-TIME:20250303T084500Z', 'END:VALARM', 'END:VEVENT'));
      const key = (c: ReturnType<typeof parseICalendar>): string => {
        const ev = c.getFirstSubcomponent('vevent')!;
        return inst.alarmKey(ev.getFirstSubcomponent('valarm')!, ev, c);
      };
      assert.equal(key(rel), key(abs));
      assert.equal(key(rel), 'DISPLAY|1740991500');
    });

    it('rules with the same occurrences have the same key, however they are written', function () {
      const count = parseICalendar(cal('BEGIN:VEVENT', 'UID:r', 'DTSTART:20250303T090000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'END:VEVENT'));
      const until = parseICalendar(cal('BEGIN:VEVENT', 'UID:r', 'DTSTART:20250303T090000Z', 'RRULE:FREQ=DAILY;UNTIL=20250305T090000Z', 'END:VEVENT'));
      const occ = (c: ReturnType<typeof parseICalendar>): string | undefined => inst.occurrences(c.getFirstSubcomponent('vevent')!, c.getFirstSubcomponent('vevent')!, c);
      assert.equal(occ(count), occ(until));
      assert.match(occ(count)!, /\|end$/);
    });
  });

  describe('mergeCalendarItem', function () {
    it('a new item gets a UID and a DTSTAMP at `now`', function () {
      const out = mergeCalendarItem('vtodo', undefined, cal('BEGIN:VTODO', 'SUMMARY:New', 'END:VTODO'), { now: NOW });
      assert.match(lines(out, 'UID')[0]!, /^UID:[0-9a-f-]{36}$/);
      assert.deepEqual(lines(out, 'DTSTAMP'), ['DTSTAMP:20260102T030405Z']);
    });

    it('keeps the server\'s spelling of an unchanged start, its people and its overrides; the device\'s edit wins', function () {
      const device = cal('BEGIN:VEVENT', 'UID:s-1', 'SUMMARY:Weekly sync', 'DTSTART:20250303T090000Z', 'DTEND:20250303T100000Z',
        'RRULE:FREQ=WEEKLY;UNTIL=20250331T090000Z', 'ATTENDEE;CN=Ann B;PARTSTAT=ACCEPTED:MAILTO:Ann@Example.org', 'END:VEVENT');
      const out = mergeCalendarItem('vevent', normaliseCalendarItem(series, 'vevent'), device, { defaultTimezone: 'Europe/Berlin', now: NOW });
      assert.deepEqual(lines(out, 'SUMMARY'), ['SUMMARY:Weekly sync', 'SUMMARY:Weekly (moved)']);
      assert.deepEqual(lines(out, 'DTSTART'), ['DTSTART;TZID=Europe/Berlin:20250303T100000', 'DTSTART;TZID=Europe/Berlin:20250310T120000']);
      assert.deepEqual(lines(out, 'RRULE'), ['RRULE:FREQ=WEEKLY;COUNT=5'], 'same occurrences: the server\'s rule stays');
      assert.deepEqual(lines(out, 'ATTENDEE'), ['ATTENDEE;CN=Ann;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:ann@example.org']);
      assert.deepEqual(lines(out, 'UID'), ['UID:s-1', 'UID:s-1']);
      assert.deepEqual(out.match(/^TZID:.*$/gm), ['TZID:Europe/Berlin']);
    });

    it('replaces a stored object of another kind', function () {
      const out = mergeCalendarItem('vevent', cal('BEGIN:VTODO', 'UID:x', 'SUMMARY:Todo', 'END:VTODO'), cal('BEGIN:VEVENT', 'UID:e', 'SUMMARY:Event', 'DTSTART:20250303T090000Z', 'END:VEVENT'), { now: NOW });
      assert.deepEqual(lines(out, 'SUMMARY'), ['SUMMARY:Event']);
      assert.deepEqual(lines(out, 'UID'), ['UID:e']);
    });

    it('vCalendar priorities 1/5/9 keep the finer server value of their band', function () {
      const p = (n: number) => parseICalendar(cal('BEGIN:VTODO', `PRIORITY:${n}`, 'END:VTODO')).getFirstSubcomponent('vtodo')!.getFirstProperty('priority')!;
      assert.equal(samePriority(p(3), p(1)), true);
      assert.equal(samePriority(p(7), p(9)), true);
      assert.equal(samePriority(p(3), p(5)), false);
      assert.equal(samePriority(p(3), p(2)), false, 'a 2 is no vCalendar band: the device means it');
    });
  });
});
