// Public surface of the iCalendar 2.0 item functions the sync engine's translators call: cutting
// an object to one item, merging a device's edit into the server's object, content hashes.
export { normaliseCalendarItem, seriesWithoutOverrides, calendarContentHash } from './item.js';
export { mergeCalendarItem, type CalendarMergeOptions } from './merge.js';
export type { CalendarItemKind } from './component.js';
