// Repairs of vCalendar items that iCalendar servers refuse as sent, each marked in the stored
// item so the way back to the device undoes it (the phone gets what it sent, nothing more).
import type { VersitProperty } from '../versit/index.js';

/** Parameter on a property the gateway added (the device did not send it): not sent back. */
export const ADDED_PARAM = 'X-SYNCML-ADDED';

/**
 * DTSTART for a VEVENT the device sent without one (Symbian writes reminders with DTEND only, or
 * no time at all): RFC 5545 §3.6.1 requires it and Radicale refuses the event without. It takes
 * the end's value (a zero-length event at the end time); with no end either, the day the item was
 * created or modified, else today, as a date.
 */
export function addedDtstart(end: VersitProperty | undefined, stampUtc: string): VersitProperty {
  const marker = { name: ADDED_PARAM, value: 'TRUE' };
  if (end) return { name: 'DTSTART', params: [...end.params, marker], value: end.value, rawValue: end.value };
  const day = stampUtc.slice(0, 8);
  return { name: 'DTSTART', params: [{ name: 'VALUE', value: 'DATE' }, marker], value: day, rawValue: day };
}
