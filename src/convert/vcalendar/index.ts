// Public surface of the vCalendar 1.0 <-> iCalendar 2.0 converter internals (used by
// convert/calendar.ts and tests).
export { vcalToIcal, type ToIcalOptions } from './to-ical.js';
export { icalToVcal, type ToVcalOptions } from './to-vcal.js';
export { vcalRruleToIcal, icalRruleToVcal, type VcalRruleContext, type IcalRruleContext } from './rrule.js';
export { statusToIcal, statusToVcal, priorityToIcal, priorityToVcal, priorityScaleOf, type PriorityScale } from './mappings.js';
export { buildVtimezone, matchZone, zoneOffsetMinutes, localToUtcMs } from './tz.js';
export { detectAllDay, parseVcalTime, referenceFor, type TimeReference } from './vcal-time.js';
