// vCalendar 1.0 RRULE grammar <-> RFC 5545 RRULE, one case per form of pim-formats.md §5.
import assert from 'node:assert/strict';
import { icalRruleToVcal, vcalRruleToIcal, type VcalRruleContext } from '../../../src/convert/vcalendar/rrule.js';
import { localToUtcMs } from '../../../src/convert/vcalendar/tz.js';

// Friday 2005-05-20 09:00, like the KOrganizer samples.
const start = { y: 2005, m: 5, d: 20, hh: 9, mi: 0, ss: 0 };

function fmtUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function ctx(extra: Partial<VcalRruleContext> = {}): VcalRruleContext {
  return {
    start,
    allDay: false,
    until: (f, utc) => {
      const ms = Date.UTC(f.y, f.m - 1, f.d, f.hh, f.mi, f.ss);
      return utc ? fmtUtc(ms) : fmtUtc(localToUtcMs('Europe/Berlin', ms));
    },
    ...extra,
  };
}

function conv(rule: string, extra: Partial<VcalRruleContext> = {}): string | undefined {
  return vcalRruleToIcal(rule, ctx(extra)).rrule;
}

describe('vCal 1.0 RRULE -> iCal 2.0', () => {
  const cases: Array<[string, string]> = [
    ['D1 #0', 'FREQ=DAILY'],
    ['D2 #0', 'FREQ=DAILY;INTERVAL=2'],
    ['D10 #5', 'FREQ=DAILY;INTERVAL=10;COUNT=5'],
    ['D1 19941224T000000Z', 'FREQ=DAILY;UNTIL=19941224T235959Z'],
    ['D1 20050601T090000Z', 'FREQ=DAILY;UNTIL=20050601T090000Z'],
    ['W1 #20', 'FREQ=WEEKLY;COUNT=20'],
    ['W2 #0', 'FREQ=WEEKLY;INTERVAL=2'],
    // Local end date: end of that day in Europe/Berlin (CET in winter: 23:59:59 = 22:59:59Z).
    ['W1 MO TU 20051231T000000', 'FREQ=WEEKLY;BYDAY=MO,TU;UNTIL=20051231T225959Z'],
    ['W2 MO WE FR 19941224T000000Z', 'FREQ=WEEKLY;BYDAY=MO,WE,FR;INTERVAL=2;UNTIL=19941224T235959Z'],
    ['MP1 1+ MO #12', 'FREQ=MONTHLY;BYDAY=1MO;COUNT=12'],
    ['MP1 2- MO #6', 'FREQ=MONTHLY;BYDAY=-2MO;COUNT=6'],
    ['MP6 2+ MO TU WE TH FR #0', 'FREQ=MONTHLY;BYDAY=2MO,2TU,2WE,2TH,2FR;INTERVAL=6'],
    ['MD1 15 #0', 'FREQ=MONTHLY;BYMONTHDAY=15'],
    ['MD1 3- #0', 'FREQ=MONTHLY;BYMONTHDAY=-3'],
    ['MD1 #0', 'FREQ=MONTHLY'],
    ['YM1 6 #0', 'FREQ=YEARLY;BYMONTH=6'],
    ['YM2 #0', 'FREQ=YEARLY;INTERVAL=2'],
    ['YD1 100 #5', 'FREQ=YEARLY;BYYEARDAY=100;COUNT=5'],
    // `$` marks an entry; nothing at all = #2.
    ['W1 FR$ #3', 'FREQ=WEEKLY;BYDAY=FR;COUNT=3'],
    ['D1', 'FREQ=DAILY;COUNT=2'],
    // Nokia 9110 / Symbian short forms and three-letter weekdays.
    ['M1 #0', 'FREQ=MONTHLY'],
    ['W1 SUN #2', 'FREQ=WEEKLY;BYDAY=SU;COUNT=2'],
  ];
  for (const [v1, v2] of cases) {
    it(`${v1} -> ${v2}`, () => assert.equal(conv(v1), v2));
  }

  it('#n with several entries per interval counts intervals (spec) by default', () => {
    // 5 weeks starting in the week of Fri 2005-05-20: Mon 2005-05-16 + 5 weeks - 1 s, Berlin.
    assert.equal(conv('W1 TU TH #5'), 'FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20050619T215959Z');
    assert.equal(conv('MD1 1 LD #11'), 'FREQ=MONTHLY;BYMONTHDAY=1,-1;UNTIL=20060331T215959Z');
    assert.equal(conv('YM1 6 7 #10'), 'FREQ=YEARLY;BYMONTH=6,7;UNTIL=20141231T225959Z');
  });

  it('#n is COUNT in occurrences mode (KDE semantics)', () => {
    assert.equal(conv('W2 TU TH #27', { countMode: 'occurrences' }), 'FREQ=WEEKLY;BYDAY=TU,TH;INTERVAL=2;COUNT=27');
  });

  it('all-day events get a DATE UNTIL', () => {
    assert.equal(conv('D1 20050601T000000', { allDay: true }), 'FREQ=DAILY;UNTIL=20050601');
  });

  it('drops time lists and chained second rules with a warning', () => {
    const r = vcalRruleToIcal('D1 0600 1200 #5', ctx());
    assert.equal(r.rrule, 'FREQ=DAILY;COUNT=5');
    assert.match(r.warnings.join(), /time list/);
    const r2 = vcalRruleToIcal('YM1 6 #10 W1 TU TH #4', ctx());
    assert.equal(r2.rrule, 'FREQ=YEARLY;BYMONTH=6;COUNT=10');
    assert.match(r2.warnings.join(), /second rule/);
  });

  it('rejects malformed rules with a reason', () => {
    for (const bad of ['A1 MO 20050301T100000', 'MD1 39 #10', 'YM1 15 #10', 'W1 XX #2', '']) {
      const r = vcalRruleToIcal(bad, ctx());
      assert.equal(r.rrule, undefined, bad);
      assert.ok(r.warnings.length > 0, bad);
    }
  });
});

describe('iCal 2.0 RRULE -> vCal 1.0', () => {
  const ictx = { start, until: (u: string) => u };
  const cases: Array<[string, string]> = [
    ['FREQ=DAILY', 'D1 #0'],
    ['FREQ=DAILY;INTERVAL=10;COUNT=5', 'D10 #5'],
    ['FREQ=WEEKLY;BYDAY=MO,TU;UNTIL=20051230T230000Z', 'W1 MO TU 20051230T230000Z'],
    ['FREQ=MONTHLY;BYDAY=1MO;COUNT=12', 'MP1 1+ MO #12'],
    ['FREQ=MONTHLY;BYDAY=-2MO', 'MP1 2- MO #0'],
    ['FREQ=MONTHLY;BYDAY=1SU,-1SU;INTERVAL=2', 'MP2 1+ SU 1- SU #0'],
    ['FREQ=MONTHLY;BYMONTHDAY=15', 'MD1 15 #0'],
    ['FREQ=MONTHLY;BYMONTHDAY=-3', 'MD1 3- #0'],
    ['FREQ=MONTHLY', 'MD1 20 #0'],
    ['FREQ=YEARLY;BYMONTH=6', 'YM1 6 #0'],
    ['FREQ=YEARLY', 'YM1 5 #0'],
    ['FREQ=YEARLY;INTERVAL=3;BYYEARDAY=1,100,200', 'YD3 1 100 200 #0'],
    ['FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR', 'W1 MO TU WE TH FR #0'],
  ];
  for (const [v2, v1] of cases) {
    it(`${v2} -> ${v1}`, () => assert.equal(icalRruleToVcal(v2, ictx).rule, v1));
  }
  it('uses the computed end date for COUNT when available', () => {
    assert.equal(icalRruleToVcal('FREQ=DAILY;COUNT=3', { ...ictx, countEnd: () => '20050522T090000Z' }).rule, 'D1 20050522T090000Z');
  });
  it('refuses rules 1.0 cannot express', () => {
    for (const v of ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1', 'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'FREQ=HOURLY', 'FREQ=WEEKLY;BYWEEKNO=3']) {
      const r = icalRruleToVcal(v, ictx);
      assert.equal(r.rule, undefined, v);
      assert.ok(r.reason, v);
    }
  });
});
