// Calendar field filters: a phone that cannot store DESCRIPTION or alarms, or cuts SUMMARY,
// gets only what it stores, and its Replace does not erase what it could not hold.
import assert from 'node:assert/strict';
import type { FieldFilter } from '../../../src/convert/filters/index.js';
import { filterCalendarForDevice, protectUnstorable } from '../../../src/sync/calendar-filter.js';
import { eventsTranslator } from '../../../src/sync/calendar-translators.js';

// Like a basic phone: no DESCRIPTION, no alarms, SUMMARY cut to 10 bytes.
const phone: FieldFilter = {
  ctType: 'text/x-vcalendar', verCt: '1.0',
  properties: { BEGIN: {}, END: {}, VERSION: {}, SUMMARY: { maxSize: 10 }, DTSTART: {}, DTEND: {}, RRULE: {}, LOCATION: {} },
};

const server = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:ev-1', 'DTSTAMP:20250101T000000Z',
  'DTSTART:20250711T120000Z', 'DTEND:20250711T130000Z', 'SUMMARY:Quarterly planning meeting', 'DESCRIPTION:Agenda: budget\\, hiring',
  'LOCATION:Room 4', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'DESCRIPTION:Reminder', 'END:VALARM', 'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');

describe('calendar field filters', function () {
  it('the device gets only what it stores, text cut to its MaxSize', function () {
    const out = eventsTranslator.toDevice(server, { type: 'text/x-vcalendar', version: '1.0' }, phone);
    assert.match(out, /SUMMARY:Quarterly /);
    assert.doesNotMatch(out, /Quarterly planning/);
    assert.doesNotMatch(out, /DESCRIPTION|AALARM|DALARM/);
    assert.match(out, /LOCATION:Room 4/);
    assert.match(out, /DTSTART:20250711T120000Z/);
  });

  it('without a filter (no CTCap) everything is sent', function () {
    const out = eventsTranslator.toDevice(server, { type: 'text/x-vcalendar', version: '1.0' });
    assert.match(out, /DESCRIPTION/);
    assert.match(out, /Quarterly planning meeting/);
  });

  it('a Replace of what the device got changes nothing on the server', function () {
    const sent = eventsTranslator.toDevice(server, { type: 'text/x-vcalendar', version: '1.0' }, phone);
    const back = eventsTranslator.toServer(sent, { type: 'text/x-vcalendar' });
    const merged = eventsTranslator.mergeFromDevice(server, back, phone);
    assert.equal(eventsTranslator.hash(merged), eventsTranslator.hash(server));
  });

  it('a real change on the phone (new time, new location) changes exactly that', function () {
    const sent = eventsTranslator.toDevice(server, { type: 'text/x-vcalendar', version: '1.0' }, phone)
      .replace('DTSTART:20250711T120000Z', 'DTSTART:20250711T140000Z').replace('DTEND:20250711T130000Z', 'DTEND:20250711T150000Z')
      .replace('LOCATION:Room 4', 'LOCATION:Room 5');
    const merged = eventsTranslator.mergeFromDevice(server, eventsTranslator.toServer(sent, { type: 'text/x-vcalendar' }), phone);
    assert.match(merged, /DTSTART:20250711T140000Z/);
    assert.match(merged, /LOCATION:Room 5/);
    assert.match(merged, /DESCRIPTION:Agenda: budget\\, hiring/);
    assert.match(merged, /SUMMARY:Quarterly planning meeting/, 'the cut summary keeps its full server value');
    assert.match(merged, /BEGIN:VALARM/, 'the alarm the phone cannot store survives');
  });

  it('filter helpers leave items alone when the filter is empty', function () {
    assert.equal(filterCalendarForDevice(server, undefined, 'ical2.0'), server);
    assert.equal(protectUnstorable(server, server, { ctType: 'x', properties: {} }), server);
  });
});
