// Events, tasks and notes translators: device formats in and out, the merge that keeps server
// fields, fingerprints and hashes — on corpus items (../shared/corpus) and small hand-made ones.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { calendarTranslators } from '../../../src/sync/calendar-translators.js';
import type { DeviceFormat, ItemTranslator } from '../../../src/sync/types.js';
import { requireShared, SHARED_CORPUS } from '../../support/shared.js';

const corpus = SHARED_CORPUS;
const NOW = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const { events, tasks, notes } = calendarTranslators({ defaultTimezone: 'Europe/Berlin', now: () => NOW });
const VCAL = { type: 'text/x-vcalendar', version: '1.0' };
const ICAL2 = { type: 'text/calendar', version: '2.0' };

/** The items of a SyncEvolution test-case file (objects separated by blank lines). */
function corpusItems(rel: string): string[] {
  return readFileSync(path.join(corpus, rel), 'utf8').split(/\r?\n\r?\n/).map((s) => s.trim())
    .filter((s) => s.startsWith('BEGIN:VCALENDAR')).map((s) => s.replace(/\r?\n/g, '\r\n') + '\r\n');
}

function unfold(text: string): string {
  return text.replace(/\r\n[ \t]/g, '');
}

/** Lines of property `name` outside VTIMEZONE definitions. */
function lines(text: string, name: string): string[] {
  return unfold(text).replace(/BEGIN:VTIMEZONE[\s\S]*?END:VTIMEZONE\r\n/g, '').split('\r\n').filter((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`));
}

/** As the sync engine does it: the device item, converted, merged into nothing (a create). */
function created(tr: ItemTranslator, data: string, from: DeviceFormat = VCAL): string {
  return tr.mergeFromDevice(undefined, tr.toServer(data, from));
}

const vcalEvent = (extra: string[] = []): string => [
  'BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VEVENT', 'UID:ev-1', 'SUMMARY:Team meeting',
  'DTSTART:20250314T184500Z', 'DTEND:20250314T191500Z', ...extra, 'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');

describe('calendar translators', function () {
  before(function () {
    requireShared(this);
  });
  describe('events: device -> server', function () {
    it('turns a vCalendar 1.0 event into one iCalendar 2.0 VEVENT with UID and DTSTAMP', function () {
      const out = created(events, vcalEvent(['AALARM:20250314T183000Z;;0;', 'DALARM:20250314T183000Z;;0;Team meeting', 'RRULE:W1 FR #0']));
      assert.match(out, /^VERSION:2\.0\r$/m);
      assert.equal(lines(out, 'UID')[0], 'UID:ev-1');
      assert.equal(lines(out, 'DTSTAMP').length, 1);
      assert.equal((out.match(/BEGIN:VEVENT/g) ?? []).length, 1);
      assert.match(out, /RRULE:FREQ=WEEKLY;BYDAY=FR/);
      assert.match(out, /BEGIN:VALARM[\s\S]*TRIGGER:-PT15M/);
      for (const tz of unfold(out).matchAll(/TZID=([^:;]+)/g)) assert.match(out, new RegExp(`^TZID:${tz[1]}\\r$`, 'm'));
    });

    it('reads the harness\'s legacy items (all-day, vCal RRULE, alarms) like the SyncEvolution peer did', function () {
      const dir = path.resolve(corpus, '..', 'fixtures', 'syncevolution', 'xml-slow-sync-legacy-formats', 'items-client-before', 'calendar');
      const allDay = created(events, readFileSync(path.join(dir, '00001.ics'), 'utf8'));
      assert.deepEqual(lines(allDay, 'DTSTART'), ['DTSTART;VALUE=DATE:20250406']);
      assert.deepEqual(lines(allDay, 'DTEND'), ['DTEND;VALUE=DATE:20250407']);
      assert.equal(lines(allDay, 'SUMMARY')[0], 'SUMMARY:Lunch with Zoë');
      const rule = created(events, readFileSync(path.join(dir, '00002.ics'), 'utf8'));
      assert.match(lines(rule, 'RRULE')[0]!, /^RRULE:FREQ=WEEKLY;.*BYDAY=SA/);
    });

    it('gives a UID to a 2.0 item that has none, and keeps the device\'s UID otherwise', function () {
      const noUid = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
      const out = created(events, noUid, ICAL2);
      assert.match(lines(out, 'UID')[0]!, /^UID:[0-9a-f-]{36}$/);
      assert.equal(lines(out, 'DTSTAMP')[0], 'DTSTAMP:20260102T030405Z');
    });

    it('rejects an item of the other kind (a VTODO sent to the events datastore) as INVALID_ITEM', function () {
      const todo = 'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
      assert.throws(() => events.toServer(todo, VCAL), (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /VEVENT/.test(e.message));
      assert.doesNotThrow(() => tasks.toServer(todo, VCAL));
    });

    it('takes only its own kind out of a mixed Symbian vCalendar', function () {
      const mixed = readFileSync(path.join(corpus, 'symbian-versit/calendar-ImportvCals/vCal1.vcs'), 'utf8');
      const ev = events.toServer(mixed, VCAL);
      assert.ok(!/BEGIN:VTODO/.test(ev));
      assert.equal((ev.match(/BEGIN:VEVENT/g) ?? []).length >= 1, true);
    });
  });

  describe('server -> device', function () {
    it('sends vCalendar 1.0 or iCalendar 2.0 as the device asks, for every Evolution test event', function () {
      for (const item of corpusItems('syncevolution/testcases/eds_event.ics')) {
        const server = created(events, item, ICAL2);
        const v1 = events.toDevice(server, VCAL);
        assert.match(v1, /^VERSION:1\.0\r$/m);
        assert.ok(!/BEGIN:VTIMEZONE|^RECURRENCE-ID/m.test(v1), 'no 2.0-only components for a vCalendar phone');
        assert.equal((v1.match(/BEGIN:VEVENT/g) ?? []).length, 1, 'one VEVENT: the series without its exceptions');
        assert.match(events.toDevice(server, ICAL2), /^VERSION:2\.0\r$/m);
        // The same item, read back, is found again by a slow sync.
        assert.deepEqual(events.fingerprints(events.toServer(v1, VCAL)), events.fingerprints(server));
      }
    });

    it('sends tasks with vCalendar STATUS and PRIORITY', function () {
      const [task] = corpusItems('syncevolution/testcases/eds_task.ics');
      const v1 = tasks.toDevice(created(tasks, task!, ICAL2), VCAL);
      assert.match(v1, /BEGIN:VTODO/);
      assert.match(v1, /^STATUS:COMPLETED\r$/m);
      assert.match(v1, /^PRIORITY:3\r$/m);
      assert.match(v1, /^DUE:20090502T170000Z\r$/m);
    });
  });

  describe('mergeFromDevice', function () {
    it('a round trip through a vCalendar phone changes nothing the server stores (Evolution corpus)', function () {
      // Known exceptions: vCal text has no escaping for "\n" typed literally; a task's 99 %
      // PERCENT-COMPLETE with STATUS:COMPLETED comes back as 100; date EXDATEs of a timed series.
      let checked = 0;
      for (const [tr, file] of [[events, 'eds_event.ics'], [events, 'google_event.ics']] as const) {
        for (const item of corpusItems(`syncevolution/testcases/${file}`)) {
          const server = created(tr, item, ICAL2);
          const summary = /^SUMMARY:(.*)$/m.exec(unfold(server))?.[1] ?? '';
          if (summary === 'all fields') continue;
          if (file === 'google_event.ics' && summary === 'recurrence\\, daily\\, with exceptions') continue;
          const back = tr.mergeFromDevice(server, tr.toServer(tr.toDevice(server, VCAL), VCAL));
          assert.equal(tr.hash(back), tr.hash(server), `${file}: ${summary}\n${server}\n---\n${back}`);
          checked++;
        }
      }
      assert.ok(checked >= 20, `checked ${checked}`);
    });

    it('keeps the server\'s zone, attendees and other fields while the device\'s edits win', function () {
      const server = [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:other', 'BEGIN:VTIMEZONE', 'TZID:America/New_York',
        'BEGIN:STANDARD', 'DTSTART:19701101T020000', 'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'END:STANDARD',
        'BEGIN:DAYLIGHT', 'DTSTART:19700308T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'END:DAYLIGHT', 'END:VTIMEZONE',
        'BEGIN:VEVENT', 'UID:server-uid', 'DTSTAMP:20250101T000000Z', 'SEQUENCE:4', 'SUMMARY:Old title', 'DESCRIPTION:old text',
        'DTSTART;TZID=America/New_York:20250601T090000', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=4',
        'ORGANIZER;CN=Alice:mailto:alice@example.org', 'ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:MAILTO:bob@example.org',
        'URL:https://example.org/x', 'X-OTHER-CLIENT:keep me', 'CATEGORIES:Work',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:r', 'TRIGGER:-PT10M', 'END:VALARM',
        'END:VEVENT',
        'BEGIN:VEVENT', 'UID:server-uid', 'DTSTAMP:20250101T000000Z', 'RECURRENCE-ID;TZID=America/New_York:20250608T090000',
        'SUMMARY:Moved', 'DTSTART;TZID=America/New_York:20250608T110000', 'DURATION:PT1H', 'END:VEVENT',
        'END:VCALENDAR', '',
      ].join('\r\n');
      // The phone got it as vCalendar (UTC), renamed it and dropped the description.
      const onPhone = events.toDevice(server, VCAL);
      const edited = onPhone.replace(/^SUMMARY:.*$/m, 'SUMMARY:New title').replace(/^DESCRIPTION:.*\r\n/m, '').replace(/^UID:.*\r\n/m, '');
      const merged = events.mergeFromDevice(server, events.toServer(edited, VCAL));
      assert.equal(lines(merged, 'UID')[0], 'UID:server-uid');
      assert.deepEqual(lines(merged, 'SUMMARY'), ['SUMMARY:New title', 'SUMMARY:Moved']);
      assert.deepEqual(lines(merged, 'DESCRIPTION').filter((l) => l !== 'DESCRIPTION:r'), [], 'the description the user removed is gone');
      assert.equal(lines(merged, 'DTSTART')[0], 'DTSTART;TZID=America/New_York:20250601T090000', 'same instant: the server\'s zone stays');
      assert.deepEqual(lines(merged, 'DURATION')[0], 'DURATION:PT1H');
      assert.deepEqual(lines(merged, 'RRULE'), ['RRULE:FREQ=WEEKLY;COUNT=4'], 'same occurrences: the server\'s rule stays');
      assert.deepEqual(lines(merged, 'ATTENDEE'), ['ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:MAILTO:bob@example.org']);
      assert.equal(lines(merged, 'ORGANIZER').length, 1);
      assert.deepEqual(lines(merged, 'X-OTHER-CLIENT'), ['X-OTHER-CLIENT:keep me']);
      assert.deepEqual(lines(merged, 'URL'), ['URL:https://example.org/x']);
      assert.deepEqual(lines(merged, 'TRIGGER'), ['TRIGGER:-PT10M'], 'the alarm keeps its relative trigger');
      assert.match(merged, /RECURRENCE-ID;TZID=America\/New_York:20250608T090000/, 'the exception of an unchanged series stays');
      assert.equal(lines(merged, 'SEQUENCE')[0], 'SEQUENCE:4');
      assert.match(merged, /^TZID:America\/New_York\r$/m);
      assert.notEqual(events.hash(merged), events.hash(server));
    });

    it('drops the server\'s exceptions and rule when the device changes the series', function () {
      const server = created(events, vcalEvent(['RRULE:D1 #5']));
      const withOverride = server.replace('END:VCALENDAR', [
        'BEGIN:VEVENT', 'UID:ev-1', 'DTSTAMP:20250101T000000Z', 'RECURRENCE-ID:20250315T184500Z', 'SUMMARY:moved',
        'DTSTART:20250315T200000Z', 'DTEND:20250315T203000Z', 'END:VEVENT', 'END:VCALENDAR',
      ].join('\r\n'));
      const merged = events.mergeFromDevice(withOverride, events.toServer(vcalEvent(['RRULE:D2 #3']), VCAL));
      assert.ok(!/RECURRENCE-ID/.test(merged));
      assert.match(lines(merged, 'RRULE')[0]!, /FREQ=DAILY;.*INTERVAL=2|FREQ=DAILY;INTERVAL=2/);
      const noRule = events.mergeFromDevice(server, events.toServer(vcalEvent(), VCAL));
      assert.deepEqual(lines(noRule, 'RRULE'), [], 'the user removed the recurrence on the phone');
    });

    it('keeps server alarms when the device sends none, takes the device\'s when it sends some', function () {
      const server = created(events, vcalEvent(['DALARM:20250314T183000Z;;;Team meeting']));
      assert.equal(lines(events.mergeFromDevice(server, events.toServer(vcalEvent(), VCAL)), 'TRIGGER').length, 1);
      const changed = events.mergeFromDevice(server, events.toServer(vcalEvent(['DALARM:20250314T180000Z;;;Team meeting']), VCAL));
      assert.deepEqual(lines(changed, 'TRIGGER'), ['TRIGGER:-PT45M']);
    });

    it('a task re-opened on the phone loses COMPLETED and 100 % done; PRIORITY keeps its finer server value', function () {
      const server = created(tasks, [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VTODO', 'UID:t-1', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Task',
        'PRIORITY:7', 'STATUS:COMPLETED', 'COMPLETED:20250102T000000Z', 'PERCENT-COMPLETE:100', 'END:VTODO', 'END:VCALENDAR', '',
      ].join('\r\n'), ICAL2);
      const reopened = 'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nUID:t-1\r\nSUMMARY:Task\r\nPRIORITY:3\r\nSTATUS:NEEDS ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
      const merged = tasks.mergeFromDevice(server, tasks.toServer(reopened, VCAL));
      assert.deepEqual(lines(merged, 'STATUS'), ['STATUS:NEEDS-ACTION']);
      assert.deepEqual(lines(merged, 'COMPLETED'), []);
      assert.deepEqual(lines(merged, 'PERCENT-COMPLETE'), []);
      assert.deepEqual(lines(merged, 'PRIORITY'), ['PRIORITY:7'], 'vCal 3 = low, like 7');
    });
  });

  describe('fingerprints and hash', function () {
    it('a device item and the server item made from it share fingerprints (UID, summary + start)', function () {
      const noUid = vcalEvent().replace('UID:ev-1\r\n', '');
      const server = created(events, noUid);
      const fps = events.fingerprints(events.toServer(noUid, VCAL));
      assert.ok(fps.includes('VEVENT|team meeting|20250314T184500Z'), fps.join(' '));
      assert.ok(events.fingerprints(server).includes('VEVENT|team meeting|20250314T184500Z'));
      assert.ok(events.fingerprints(created(events, vcalEvent())).includes('uid:ev-1'));
    });

    it('hash ignores stamps, PRODID, SEQUENCE, VTIMEZONE and order, and sees content changes', function () {
      const a = created(events, vcalEvent());
      const b = a.replace(/^DTSTAMP:.*$/m, 'DTSTAMP:19990101T000000Z').replace(/^PRODID:.*$/m, 'PRODID:other')
        .replace('SUMMARY:Team meeting\r\n', '').replace('END:VEVENT', 'SUMMARY:Team meeting\r\nSEQUENCE:7\r\nLAST-MODIFIED:20000101T000000Z\r\nEND:VEVENT');
      assert.equal(events.hash(b), events.hash(a));
      assert.notEqual(events.hash(a.replace('SUMMARY:Team meeting', 'SUMMARY:Team meeting!')), events.hash(a));
    });
  });

  describe('notes', function () {
    const TEXT = { type: 'text/plain' };
    const VNOTE = { type: 'text/x-vnote', version: '1.1' };

    it('text/plain and vNote (gammu corpus) become a VJOURNAL and come back unchanged', function () {
      const fromText = created(notes, 'Shopping\nmilk\neggs', TEXT);
      assert.match(fromText, /BEGIN:VJOURNAL/);
      assert.equal(lines(fromText, 'SUMMARY')[0], 'SUMMARY:Shopping');
      assert.equal(notes.toDevice(fromText, TEXT), 'Shopping\nmilk\neggs');
      const vnote = readFileSync(path.join(corpus, 'gammu/vnote/nokia.vnt'), 'utf8');
      const fromVnote = created(notes, vnote, VNOTE);
      assert.match(unfold(fromVnote), /DESCRIPTION:Some text is here\./);
      assert.match(notes.toDevice(fromVnote, VNOTE), /BODY:Some text is here\./);
      assert.match(notes.toDevice(fromVnote, ICAL2), /BEGIN:VJOURNAL/);
    });

    it('reads Evolution memos and matches a plain-text copy of them in a slow sync', function () {
      for (const memo of corpusItems('syncevolution/testcases/eds_memo.ics')) {
        const server = created(notes, memo, ICAL2);
        const text = notes.toDevice(server, TEXT);
        const fromPhone = notes.toServer(text, TEXT);
        assert.ok(notes.fingerprints(fromPhone).some((f) => notes.fingerprints(server).includes(f)), text);
      }
    });

    it('a plain-text memo gets no UID from its text, so two equal memos do not collide on the server', function () {
      const a = notes.toServer('Call back', TEXT);
      assert.deepEqual(lines(a, 'UID'), [], 'the sync engine derives the UID from device and LUID');
      assert.equal(a, notes.toServer('Call back', TEXT));
      assert.match(notes.mergeFromDevice(undefined, a), /^UID:/m, 'a created item still gets a UID');
    });

    it('a phone edit keeps the server\'s UID and categories', function () {
      const server = notes.mergeFromDevice(undefined, notes.toServer(
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VJOURNAL\r\nUID:memo-1\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:Idea\r\nDESCRIPTION:Idea\\nfirst\r\nCATEGORIES:Private\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n', ICAL2));
      const merged = notes.mergeFromDevice(server, notes.toServer('Idea\nsecond', TEXT));
      assert.equal(lines(merged, 'UID')[0], 'UID:memo-1');
      assert.deepEqual(lines(merged, 'CATEGORIES'), ['CATEGORIES:Private']);
      assert.equal(lines(merged, 'DESCRIPTION')[0], 'DESCRIPTION:Idea\\nsecond');
      assert.notEqual(notes.hash(merged), notes.hash(server));
    });
  });
});
