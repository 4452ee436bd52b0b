// Regression (Symbian vCal89.vcs): a DAYLIGHT period from 1899 to 2101 is no DST rule. It used to
// make zone matching walk 200 years of transitions for every IANA zone (about 2 s per item, a
// cheap way for one phone to stall the gateway); it must be answered at once with fixed offsets.
import assert from 'node:assert/strict';
import { convertCalendar } from '../../../src/convert/calendar.js';

const item = [
  'BEGIN:VCALENDAR', 'VERSION:1.0', 'TZ:+01', 'DAYLIGHT:TRUE;+02;18990326T010000Z;21011029T010000Z;;',
  'BEGIN:VTODO', 'UID:todo-1', 'DTSTART:20050516T133000', 'DUE:20050516T143000', 'SUMMARY:x', 'END:VTODO', 'END:VCALENDAR', '',
].join('\r\n');

describe('vCal 1.0 DAYLIGHT spanning two centuries (Symbian)', function () {
  it('converts quickly, with the times as fixed-offset instants', function () {
    const t0 = process.hrtime.bigint();
    const out = convertCalendar(item, 'ical20');
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    assert.match(out, /BEGIN:VTODO/);
    assert.match(out, /DUE[;:]/);
  });
});
