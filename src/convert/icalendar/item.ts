// One server resource = one calendar item: cutting an iCalendar object down to one item (master
// plus its overrides) and its zones, dropping overrides for devices without exceptions, and a
// content hash that ignores how the object happens to be written.
import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { parseVersit, serializeProperty, type VersitComponent } from '../versit/index.js';
import { cloneComponent, itemsOf, masterOf, newCalendar, parseICalendar, serializeICalendar, tzidsUsed, type CalendarItemKind } from './component.js';

/** Never compared for content: stamps, generator ids, and the time zone definitions themselves
 * (a changed TZID shows in the DTSTART line; two definitions of one zone are the same zone). */
const VOLATILE = new Set(['DTSTAMP', 'LAST-MODIFIED', 'PRODID', 'VERSION', 'SEQUENCE', 'CREATED', 'CALSCALE', 'X-LIC-ERROR']);

/**
 * iCalendar text of one item of `kind` (master plus overrides of the same UID) and the
 * VTIMEZONEs it uses. Throws GatewayError('INVALID_ITEM') when `ical` holds no item of `kind`.
 */
export function normaliseCalendarItem(ical: string, kind: CalendarItemKind): string {
  const cal = parseICalendar(ical);
  const items = itemsOf(cal, kind);
  if (items.length === 0) {
    const found = cal.getAllSubcomponents().map((c) => c.name.toUpperCase()).filter((n) => n !== 'VTIMEZONE');
    throw new GatewayError('INVALID_ITEM', `expected a ${kind.toUpperCase()}, found ${found.join(', ') || 'nothing'}`);
  }
  const master = masterOf(items)!;
  const uid = master.getFirstPropertyValue('uid');
  // One SyncML item is one server resource: extra objects with another UID cannot be stored in it.
  const keep = items.filter((c) => c === master || (uid !== null && c.getFirstPropertyValue('uid') === uid));
  const out = newCalendar();
  const zones = new Set<string>();
  for (const c of keep) tzidsUsed(c, zones);
  for (const z of cal.getAllSubcomponents('vtimezone')) if (zones.has(String(z.getFirstPropertyValue('tzid')))) out.addSubcomponent(cloneComponent(z));
  for (const c of keep) out.addSubcomponent(cloneComponent(c));
  return serializeICalendar(out);
}

/**
 * The object with only the series master of `kind` (every other item of that kind, i.e. its
 * overrides, removed), for formats without exceptions (vCalendar 1.0): moved instances stay on
 * the server, the phone shows them at their regular times. Other components are left as they are.
 */
export function seriesWithoutOverrides(ical: string, kind: CalendarItemKind): string {
  const cal = parseICalendar(ical);
  const items = itemsOf(cal, kind);
  const master = masterOf(items);
  if (master && items.length > 1) for (const c of items) if (c !== master) cal.removeSubcomponent(c);
  return serializeICalendar(cal);
}

function contentKeys(c: VersitComponent): string[] {
  const lines = c.properties.filter((p) => !VOLATILE.has(p.name)).map((p) => serializeProperty({ ...p, group: undefined }, 'ical2.0')).sort();
  const subs = c.components.filter((s) => s.name !== 'VTIMEZONE').map((s) => `${s.name}{${contentKeys(s).join('\n')}}`).sort();
  return [...lines, ...subs];
}

/**
 * Hash of what an iCalendar object says, blind to stamps, PRODID, SEQUENCE, VTIMEZONE
 * definitions and the order of properties and components.
 */
export function calendarContentHash(ical: string): string {
  const cals = parseVersit(ical).filter((c) => c.name === 'VCALENDAR');
  if (cals.length === 0) throw new GatewayError('INVALID_ITEM', 'no VCALENDAR found');
  return createHash('sha1').update(cals.map((c) => contentKeys(c).join('\n')).join('\n--\n')).digest('base64');
}
