// vCalendar 1.0 <-> iCalendar 2.0 item conversion: all-day forms, TZ/DAYLIGHT, alarms, enums,
// fingerprints, splitting, and the third-party corpus (../shared/corpus).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ICAL from 'ical.js';
import { calendarFingerprint, convertCalendar, splitByComponent } from '../../../src/convert/calendar.js';
import { isGatewayError } from '../../../src/errors.js';
import { listFilesBelow, requireShared, SHARED_CORPUS } from '../../support/shared.js';

const corpus = SHARED_CORPUS;
const NOW = new Date(Date.UTC(2024, 0, 1));

function vcal(body: string, head = ''): string {
  return `BEGIN:VCALENDAR\r\nVERSION:1.0\r\n${head}BEGIN:VEVENT\r\nUID:u1\r\nSUMMARY:x\r\n${body}END:VEVENT\r\nEND:VCALENDAR\r\n`;
}

function toIcal(text: string, opts: Parameters<typeof convertCalendar>[2] = {}): InstanceType<typeof ICAL.Component> {
  const out = convertCalendar(text, 'ical20', { now: NOW, ...opts });
  return new ICAL.Component(ICAL.parse(out) as unknown[]);
}

function ev(c: InstanceType<typeof ICAL.Component>): InstanceType<typeof ICAL.Component> {
  const e = c.getFirstSubcomponent('vevent') ?? c.getFirstSubcomponent('vtodo');
  assert.ok(e);
  return e;
}

/** First line of property `name` inside the first VEVENT/VTODO (or the calendar when none). */
function line(text: string, name: string): string | undefined {
  const at = text.search(/BEGIN:(VEVENT|VTODO)/);
  const scope = at >= 0 && !['TZ', 'DAYLIGHT'].includes(name) ? text.slice(at) : text;
  return scope.replace(/\r\n[ \t]/g, '').split(/\r\n/).find((l) => l.startsWith(name + ':') || l.startsWith(name + ';'));
}

describe('vCal 1.0 -> iCal 2.0: all-day forms', () => {
  const forms: Array<[string, string, string]> = [
    ['date-only values', 'DTSTART:20240101\r\nDTEND:20240101\r\n', '20240102'],
    ['midnight to 23:59 same day', 'DTSTART:20240101T000000\r\nDTEND:20240101T235900\r\n', '20240102'],
    ['midnight to 23:59:59', 'DTSTART:20240101T000000\r\nDTEND:20240101T235959\r\n', '20240102'],
    ['midnight to next midnight', 'DTSTART:20240101T000000\r\nDTEND:20240102T000000\r\n', '20240102'],
    ['UTC midnight to T240000Z', 'DTSTART:20240101T000000Z\r\nDTEND:20240101T240000Z\r\n', '20240102'],
    ['Outlook UTC midnight to midnight', 'DTSTART:20240101T000000Z\r\nDTEND:20240102T000000Z\r\n', '20240102'],
    ['three days ending 23:59 (Nokia 9110)', 'DTSTART:20240101T000000\r\nDTEND:20240103T235900\r\n', '20240104'],
  ];
  for (const [name, body, endDate] of forms) {
    it(name, () => {
      const e = ev(toIcal(vcal(body)));
      const s = e.getFirstPropertyValue('dtstart') as InstanceType<typeof ICAL.Time>;
      const en = e.getFirstPropertyValue('dtend') as InstanceType<typeof ICAL.Time>;
      assert.equal(s.isDate, true);
      assert.equal(s.toICALString(), '20240101');
      assert.equal(en.isDate, true);
      assert.equal(en.toICALString(), endDate);
    });
  }
  it('UTC times that are local midnights in the device zone (SyncEvolution "two day event")', () => {
    const e = ev(toIcal(vcal('DTSTART:20060405T220000Z\r\nDTEND:20060407T220000Z\r\n'), { defaultTimezone: 'Europe/Berlin' }));
    assert.equal((e.getFirstPropertyValue('dtstart') as InstanceType<typeof ICAL.Time>).toICALString(), '20060406');
    assert.equal((e.getFirstPropertyValue('dtend') as InstanceType<typeof ICAL.Time>).toICALString(), '20060408');
  });
  it('a timed midnight event is not all-day', () => {
    const e = ev(toIcal(vcal('DTSTART:20240101T000000\r\nDTEND:20240101T010000\r\n')));
    assert.equal((e.getFirstPropertyValue('dtstart') as InstanceType<typeof ICAL.Time>).isDate, false);
  });
  it('emits each all-day style back to 1.0', () => {
    const ical = convertCalendar(vcal('DTSTART:20240101\r\nDTEND:20240102\r\n'), 'ical20', { now: NOW });
    const mid = convertCalendar(ical, 'vcal10');
    assert.equal(line(mid, 'DTSTART'), 'DTSTART:20240101T000000');
    assert.equal(line(mid, 'DTEND'), 'DTEND:20240103T000000');
    const same = convertCalendar(ical, 'vcal10', { allDayStyle: 'sameday-2359' });
    assert.equal(line(same, 'DTEND'), 'DTEND:20240102T235900');
    const date = convertCalendar(ical, 'vcal10', { allDayStyle: 'date' });
    assert.equal(line(date, 'DTSTART'), 'DTSTART:20240101');
    assert.equal(line(date, 'DTEND'), 'DTEND:20240102');
  });
});

describe('vCal 1.0 <-> iCal 2.0: time zones', () => {
  it('TZ/DAYLIGHT matching Europe/Berlin becomes TZID + VTIMEZONE', () => {
    const text = vcal(
      'DTSTART:20240615T090000\r\nDTEND:20240615T100000\r\n',
      'TZ:+01:00\r\nDAYLIGHT:TRUE;+02;20240331T010000Z;20241027T010000Z;CET;CEST\r\n',
    );
    const out = convertCalendar(text, 'ical20', { now: NOW });
    assert.equal(line(out, 'DTSTART'), 'DTSTART;TZID=Europe/Berlin:20240615T090000');
    const cal = new ICAL.Component(ICAL.parse(out) as unknown[]);
    const vtz = cal.getFirstSubcomponent('vtimezone');
    assert.ok(vtz);
    const tz = new ICAL.Timezone(vtz);
    const t = ICAL.Time.fromDateTimeString('2024-06-15T09:00:00');
    assert.equal(tz.utcOffset(t), 7200);
  });
  it('the device zone wins when it fits TZ/DAYLIGHT (Europe/Paris, not Berlin)', () => {
    const text = vcal('DTSTART:20240615T090000\r\n', 'TZ:+01\r\nDAYLIGHT:TRUE;+02;20240331T020000;20241027T030000;;\r\n');
    assert.equal(line(convertCalendar(text, 'ical20', { now: NOW, defaultTimezone: 'Europe/Paris' }), 'DTSTART'), 'DTSTART;TZID=Europe/Paris:20240615T090000');
  });
  it('TZ without a fitting zone converts to exact UTC instants', () => {
    const text = vcal('DTSTART:20240615T090000\r\n', 'TZ:+05:45\r\n');
    assert.equal(line(convertCalendar(text, 'ical20', { now: NOW }), 'DTSTART'), 'DTSTART:20240615T031500Z');
  });
  it('floating phone times are read in the configured device zone', () => {
    assert.equal(
      line(convertCalendar(vcal('DTSTART:20240115T090000\r\n'), 'ical20', { now: NOW, defaultTimezone: 'America/New_York' }), 'DTSTART'),
      'DTSTART;TZID=America/New_York:20240115T090000',
    );
    assert.equal(line(convertCalendar(vcal('DTSTART:20240115T090000\r\n'), 'ical20', { now: NOW }), 'DTSTART'), 'DTSTART:20240115T090000');
  });
  it('iCal TZID -> UTC by default, device-local with TZ/DAYLIGHT on request', () => {
    const ical = convertCalendar(vcal('DTSTART:20240615T090000\r\nDTEND:20240615T100000\r\n'), 'ical20', { now: NOW, defaultTimezone: 'Europe/Berlin' });
    assert.equal(line(convertCalendar(ical, 'vcal10'), 'DTSTART'), 'DTSTART:20240615T070000Z');
    const local = convertCalendar(ical, 'vcal10', { deviceTime: 'local', defaultTimezone: 'Europe/Berlin' });
    assert.equal(line(local, 'DTSTART'), 'DTSTART:20240615T090000');
    assert.equal(line(local, 'TZ'), 'TZ:+01:00');
    assert.equal(line(local, 'DAYLIGHT'), 'DAYLIGHT:TRUE;+02:00;20240331T020000;20241027T030000;;');
    // ... and that TZ/DAYLIGHT reads back to the same zone.
    assert.equal(line(convertCalendar(local, 'ical20', { now: NOW }), 'DTSTART'), 'DTSTART;TZID=Europe/Berlin:20240615T090000');
  });
  it('recurring UTC events are anchored in the zone so BYDAY follows local weekdays', () => {
    // Monday 00:30 in Berlin is Sunday 23:30 UTC.
    const out = convertCalendar(
      vcal('DTSTART:20240107T233000Z\r\nDTEND:20240108T003000Z\r\nRRULE:W1 MO #0\r\n'),
      'ical20',
      { now: NOW, defaultTimezone: 'Europe/Berlin' },
    );
    assert.equal(line(out, 'DTSTART'), 'DTSTART;TZID=Europe/Berlin:20240108T003000');
  });
});

describe('vCal 1.0 <-> iCal 2.0: alarms', () => {
  it('AALARM absolute -> relative VALARM and back', () => {
    const e = ev(toIcal(vcal('DTSTART:20240101T090000Z\r\nDTEND:20240101T100000Z\r\nAALARM:20240101T084500Z;;;\r\n')));
    const va = e.getFirstSubcomponent('valarm');
    assert.ok(va);
    assert.equal(va.getFirstPropertyValue('action'), 'AUDIO');
    assert.equal(String(va.getFirstPropertyValue('trigger')), '-PT15M');
    const back = convertCalendar(e.parent?.toString() ?? '', 'vcal10');
    assert.equal(line(back, 'AALARM'), 'AALARM:20240101T084500Z;;;');
  });
  it('AALARM+DALARM at the same time merge into one DISPLAY alarm with snooze/repeat', () => {
    const e = ev(
      toIcal(vcal('DTSTART:20240101T090000Z\r\nDALARM:20240101T080000Z;PT5M;2;Wake up\r\nAALARM:20240101T080000Z;PT5M;2;\r\n')),
    );
    const alarms = e.getAllSubcomponents('valarm');
    assert.equal(alarms.length, 1);
    assert.equal(alarms[0].getFirstPropertyValue('action'), 'DISPLAY');
    assert.equal(alarms[0].getFirstPropertyValue('description'), 'Wake up');
    assert.equal(String(alarms[0].getFirstPropertyValue('trigger')), '-PT1H');
    assert.equal(String(alarms[0].getFirstPropertyValue('duration')), 'PT5M');
    assert.equal(alarms[0].getFirstPropertyValue('repeat'), 2);
  });
  it('PALARM becomes DISPLAY, MALARM becomes EMAIL', () => {
    const e = ev(toIcal(vcal('DTSTART:20240101T090000Z\r\nPALARM:20240101T083000Z;;;run.exe\r\nMALARM:20240101T080000Z;;;a@b.c;note\r\n')));
    const acts = e.getAllSubcomponents('valarm').map((a) => a.getFirstPropertyValue('action'));
    assert.deepEqual(acts, ['DISPLAY', 'EMAIL']);
  });
  it('absoluteAlarms writes UTC run times for floating/all-day items', () => {
    const ical = convertCalendar(vcal('DTSTART:20240101\r\nDALARM:20231231T180000;;;Tomorrow\r\n'), 'ical20', { now: NOW });
    assert.match(ical, /TRIGGER:-PT6H/);
    const plain = convertCalendar(ical, 'vcal10');
    assert.equal(line(plain, 'DALARM'), 'DALARM:20231231T180000;;;Tomorrow');
    const abs = convertCalendar(ical, 'vcal10', { absoluteAlarms: true, defaultTimezone: 'Europe/Berlin' });
    assert.equal(line(abs, 'DALARM'), 'DALARM:20231231T170000Z;;;Tomorrow');
  });
  it('todo alarms relate to DUE when there is no DTSTART', () => {
    const text = 'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:t\r\nDUE:20240101T120000Z\r\nAALARM:20240101T110000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    const out = convertCalendar(text, 'ical20', { now: NOW });
    assert.match(out, /TRIGGER;RELATED=END:-PT1H/);
  });
});

describe('vCal 1.0 <-> iCal 2.0: fields', () => {
  it('PRIORITY scales', () => {
    const p = (v: string): unknown => ev(toIcal(vcal(`DTSTART:20240101T090000Z\r\nPRIORITY:${v}\r\n`))).getFirstPropertyValue('priority');
    assert.equal(p('1'), 1);
    assert.equal(p('2'), 5);
    assert.equal(p('3'), 9);
    assert.equal(p('0'), null);
    const back = (n: number): string | undefined =>
      line(convertCalendar(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T090000Z\r\nPRIORITY:${n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`, 'vcal10'), 'PRIORITY');
    assert.equal(back(3), 'PRIORITY:1');
    assert.equal(back(5), 'PRIORITY:2');
    assert.equal(back(7), 'PRIORITY:3');
    assert.equal(back(0), undefined);
  });
  it('STATUS, CLASS, CATEGORIES, TRANSP, ATTENDEE, X-RECURRENCE-ID, EXDATE', () => {
    const out = convertCalendar(
      vcal(
        'DTSTART:20240101T090000Z\r\nSTATUS:NEEDS ACTION\r\nCLASS:PRIVATE\r\nCATEGORIES:BUSINESS;PHONE CALL\r\nTRANSP:1\r\n' +
          'ATTENDEE;ROLE=ORGANIZER:Boss <boss@x.org>\r\nATTENDEE;STATUS=ACCEPTED;RSVP=YES;EXPECT=REQUEST:Jo Doe <jo@x.org>\r\n' +
          'RRULE:D1 #5\r\nEXDATE:20240102T090000Z;20240103T090000Z\r\n',
      ),
      'ical20',
      { now: NOW },
    );
    assert.equal(line(out, 'STATUS'), undefined);
    assert.equal(line(out, 'CLASS'), 'CLASS:PRIVATE');
    assert.equal(line(out, 'CATEGORIES'), 'CATEGORIES:BUSINESS,PHONE CALL');
    assert.equal(line(out, 'TRANSP'), 'TRANSP:TRANSPARENT');
    assert.equal(line(out, 'ORGANIZER'), 'ORGANIZER;CN=Boss:mailto:boss@x.org');
    assert.equal(line(out, 'ATTENDEE'), 'ATTENDEE;CN=Jo Doe;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:jo@x.org');
    assert.equal(out.split('\r\n').filter((l) => l.startsWith('EXDATE')).length, 2);
    const back = convertCalendar(out, 'vcal10');
    assert.equal(line(back, 'CATEGORIES'), 'CATEGORIES:BUSINESS;PHONE CALL');
    assert.equal(line(back, 'EXDATE'), 'EXDATE:20240102T090000Z');
    assert.equal(line(back, 'TRANSP'), 'TRANSP:1');
  });
  it('todo STATUS/COMPLETED/PERCENT-COMPLETE', () => {
    const text =
      'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:t\r\nDUE:20240101T120000Z\r\nSTATUS:COMPLETED\r\nCOMPLETED:20240101T100000Z\r\nPRIORITY:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    const out = convertCalendar(text, 'ical20', { now: NOW });
    assert.equal(line(out, 'STATUS'), 'STATUS:COMPLETED');
    assert.equal(line(out, 'PERCENT-COMPLETE'), 'PERCENT-COMPLETE:100');
    assert.equal(line(out, 'COMPLETED'), 'COMPLETED:20240101T100000Z');
    const back = convertCalendar(out, 'vcal10');
    assert.equal(line(back, 'STATUS'), 'STATUS:COMPLETED');
    assert.equal(line(back, 'DUE'), 'DUE:20240101T120000Z');
    const needs = convertCalendar(text.replace('STATUS:COMPLETED', 'STATUS:NEEDS ACTION'), 'ical20', { now: NOW });
    assert.equal(line(needs, 'STATUS'), 'STATUS:NEEDS-ACTION');
    assert.equal(line(convertCalendar(needs.replace(/COMPLETED:.*\r\n/, ''), 'vcal10'), 'STATUS'), 'STATUS:NEEDS ACTION');
  });
  it('QP/CHARSET text arrives decoded and goes back as QP', () => {
    const text = vcal('DTSTART:20240101T090000Z\r\nDESCRIPTION;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zeile1=0D=0AM=C3=BCller\r\n').replace('SUMMARY:x\r\n', '');
    const out = convertCalendar(text, 'ical20', { now: NOW });
    assert.equal(line(out, 'DESCRIPTION'), 'DESCRIPTION:Zeile1\\nMüller');
    const back = convertCalendar(out, 'vcal10');
    assert.equal(line(back, 'DESCRIPTION'), 'DESCRIPTION;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Zeile1=0D=0AM=C3=BCller');
  });
});

describe('calendar helpers', () => {
  const needsCorpus = function (this: Mocha.Context): void {
    requireShared(this);
  };
  it('fingerprint is the same for the 1.0 and 2.0 form of an item', () => {
    const v1 = vcal('DTSTART:20240615T090000\r\n', 'TZ:+01\r\nDAYLIGHT:TRUE;+02;20240331T010000Z;20241027T010000Z;;\r\n');
    const v2 = convertCalendar(v1, 'ical20', { now: NOW });
    const f1 = calendarFingerprint(v1);
    assert.deepEqual(f1, { uid: 'u1', summary: 'x', start: '20240615T070000Z', kind: 'VEVENT' });
    assert.deepEqual(calendarFingerprint(v2), f1);
  });
  it('splits events and tasks', function () {
    needsCorpus.call(this);
    const mixed = readFileSync(path.join(corpus, 'symbian-versit/calendar-ImportvCals/vCal1.vcs'));
    const s = splitByComponent(mixed);
    const all = mixed.toString('latin1');
    if (all.includes('BEGIN:VEVENT')) assert.match(s.events ?? '', /BEGIN:VEVENT/);
    if (all.includes('BEGIN:VTODO')) assert.match(s.tasks ?? '', /BEGIN:VTODO/);
    assert.doesNotMatch(s.events ?? '', /VTODO/);
    assert.doesNotMatch(s.tasks ?? '', /VEVENT/);
    const mixed2 = 'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nBEGIN:VEVENT\r\nSUMMARY:e\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    const s2 = splitByComponent(mixed2);
    assert.match(s2.events ?? '', /TZ:\+01[\s\S]*SUMMARY:e/);
    assert.match(s2.tasks ?? '', /TZ:\+01[\s\S]*SUMMARY:t/);
  });
  it('rejects a truncated vCalendar (Symbian Invalid/2.vcs) with a reason', function () {
    needsCorpus.call(this);
    assert.throws(
      () => convertCalendar(readFileSync(path.join(corpus, 'symbian-versit/TestvCals/Invalid/2.vcs')), 'ical20'),
      (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /truncated/.test((e as Error).message),
    );
  });
  it('tolerates the LF-only Netscape file (Invalid/1.vcs) and gammu badline.ics, with warnings', function () {
    needsCorpus.call(this);
    const w: string[] = [];
    convertCalendar(readFileSync(path.join(corpus, 'symbian-versit/TestvCals/Invalid/1.vcs')), 'ical20', { now: NOW });
    convertCalendar(readFileSync(path.join(corpus, 'gammu/vcal/badline.ics')), 'vcal10', { onWarning: (m) => w.push(m) });
    assert.ok(w.some((m) => /X-BAD\/SLASH/.test(m)), w.join('\n'));
  });
});

// ---- corpus ----

const walk = listFilesBelow;

const EXPECTED_REJECT: Record<string, RegExp> = {
  'symbian-versit/TestvCals/Invalid/2.vcs': /truncated/,
};

describe('corpus: every vCalendar/iCalendar item converts both ways or is rejected with a reason', function () {
  before(function () {
    requireShared(this);
  });
  const files = walk(corpus).filter((f) => /\.(vcs|ics)$/i.test(f) && !/vcard/i.test(path.basename(f)));
  let converted = 0;
  let rejected = 0;
  for (const f of files) {
    const rel = path.relative(corpus, f);
    it(rel, () => {
      const data = readFileSync(f);
      try {
        const head = data.toString('latin1');
        if (!/BEGIN:(VEVENT|VTODO)/i.test(head)) {
          // Time-zone-only or parser-syntax samples: no item to convert.
          try {
            assert.doesNotMatch(convertCalendar(data, 'vcal10'), /BEGIN:(VEVENT|VTODO)/);
          } catch (e) {
            assert.ok(isGatewayError(e, 'INVALID_ITEM'), String(e));
          }
          rejected++;
          return;
        }
        const ical = convertCalendar(data, 'ical20', { now: NOW });
        for (const part of ical.split(/(?<=END:VCALENDAR\r?\n)/).filter((x) => x.trim())) ICAL.parse(part);
        const back = convertCalendar(ical, 'vcal10');
        assert.match(back, /BEGIN:VCALENDAR\r\nVERSION:1.0/);
        assert.ok(!EXPECTED_REJECT[rel], `${rel} should have been rejected`);
        converted++;
      } catch (e) {
        const want = EXPECTED_REJECT[rel];
        if (!want) throw e;
        assert.ok(isGatewayError(e, 'INVALID_ITEM'));
        assert.match((e as Error).message, want);
        rejected++;
      }
    });
  }
  after(() => {
    assert.ok(converted > 250, `converted ${converted}`);
    void rejected;
  });
});

describe('corpus: KOrganizer vCal -> iCal expected conversions (kcalendarcore *.vcs.ical.ref)', function () {
  before(function () {
    requireShared(this);
  });
  const dir = path.join(corpus, 'kcalendarcore/vCalendar-libicalV4');
  const cases = listFilesBelow(dir).map((f) => path.basename(f)).filter((n) => n.endsWith('.vcs'));
  for (const n of cases) {
    it(n, () => {
      const ours = ev(toIcal(readFileSync(path.join(dir, n), 'utf8'), { countMode: 'occurrences' }));
      const ref = new ICAL.Component(ICAL.parse(readFileSync(path.join(dir, `${n}.ical.ref`), 'utf8')) as unknown[]).getFirstSubcomponent('vevent');
      assert.ok(ref);
      for (const p of ['uid', 'summary', 'organizer', 'transp', 'sequence', 'created', 'last-modified']) {
        // KDE omits SEQUENCE:0 (the default).
        const norm = (v: unknown): string => (p === 'sequence' && (v === null || v === 0) ? '0' : String(v).toLowerCase());
        assert.equal(norm(ours.getFirstPropertyValue(p)), norm(ref.getFirstPropertyValue(p)), p);
      }
      // Recurrence compared by instances (UNTIL values may differ, see CALENDAR-DEVIATIONS.md).
      const inst = (c: InstanceType<typeof ICAL.Component>): string[] => {
        const e = new ICAL.Event(c);
        const it2 = e.iterator();
        const out: string[] = [];
        for (let k = 0; k < 200; k++) {
          const nx = it2.next();
          if (!nx) break;
          out.push(nx.toString());
        }
        return out;
      };
      assert.deepEqual(inst(ours), inst(ref));
    });
  }
});

describe('corpus: SyncEvolution vcal10.ics matches eds_event.ics semantics', function () {
  before(function () {
    requireShared(this);
  });
  it('recurrence instances of each item equal those of the Evolution master', () => {
    const tc = path.join(corpus, 'syncevolution/testcases');
    const ours = convertCalendar(readFileSync(path.join(tc, 'vcal10.ics')), 'ical20', { now: NOW });
    const ref = readFileSync(path.join(tc, 'eds_event.ics'), 'utf8');
    const bySummary = (text: string): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const part of text.split(/(?<=END:VCALENDAR\r?\n)/).filter((x) => x.includes('BEGIN:VEVENT'))) {
        const c = new ICAL.Component(ICAL.parse(part) as unknown[]);
        for (const vtz of c.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(vtz);
        const e = new ICAL.Event(c.getFirstSubcomponent('vevent') ?? undefined);
        const it2 = e.iterator();
        const inst: string[] = [];
        for (let k = 0; k < 5; k++) {
          const nx = it2.next();
          if (!nx) break;
          inst.push(nx.toJSDate().toISOString());
        }
        m.set(e.summary, inst);
      }
      return m;
    };
    const a = bySummary(ours);
    const b = bySummary(ref);
    let compared = 0;
    for (const [k, v] of a) {
      const r = b.get(k);
      if (!r) continue;
      // 'two day event' needs the device zone (tested above); 'all day event' disagrees with its
      // Evolution master by one day in the test data itself (CALENDAR-DEVIATIONS.md).
      if (k === 'two day event' || k === 'all day event') continue;
      assert.deepEqual(v, r, k);
      compared++;
    }
    assert.ok(compared >= 5, `compared ${compared}`);
  });
});
