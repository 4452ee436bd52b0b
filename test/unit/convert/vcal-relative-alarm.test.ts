// Regression: SyncEvolution (libsynthesis) writes vCalendar 1.0 alarms with a duration instead of
// a run time (`DALARM:-PT15M;;;text`); they must become relative VALARM triggers, not vanish.
import assert from 'node:assert/strict';
import { convertCalendar } from '../../../src/convert/calendar.js';

const vcal = (alarm: string): string => `BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:20250711T120000Z\r\nDTEND:20250711T123000Z\r\nSUMMARY:x\r\n${alarm}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

describe('vCal 1.0 relative alarms (SyncEvolution)', function () {
  it('DALARM:-PT15M becomes a DISPLAY alarm 15 minutes before the start', function () {
    const out = convertCalendar(vcal('DALARM:-PT15M;;;Event 5 alarm'), 'ical20');
    assert.match(out, /BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Event 5 alarm\r\nEND:VALARM/);
  });

  it('AALARM and DALARM with the same duration merge into one alarm', function () {
    const out = convertCalendar(vcal('AALARM;CHARSET=UTF-8:-PT15M;;;Event 5 alarm\r\nDALARM;CHARSET=UTF-8:-PT15M;;;Event 5 alarm'), 'ical20');
    assert.equal(out.match(/BEGIN:VALARM/g)?.length, 1);
    assert.match(out, /TRIGGER:-PT15M/);
  });

  it('a garbage run time is still dropped with a warning', function () {
    const warnings: string[] = [];
    const out = convertCalendar(vcal('DALARM:soon;;;x'), 'ical20', { onWarning: (m) => warnings.push(m) });
    assert.doesNotMatch(out, /VALARM/);
    assert.ok(warnings.some((w) => /unreadable run time/.test(w)));
  });
});
