// iCalendar 2.0 objects as ical.js components: strict parsing, serialising with CRLF, and the
// small operations the item functions share (master/overrides, copies, time zones in use).
import ICAL from 'ical.js';
import { GatewayError } from '../../errors.js';

export type Component = InstanceType<typeof ICAL.Component>;
export type Property = InstanceType<typeof ICAL.Property>;
export type Time = InstanceType<typeof ICAL.Time>;

/** The component one server resource of an item kind holds. */
export type CalendarItemKind = 'vevent' | 'vtodo' | 'vjournal';

const PRODID = '-//syncml-dav-gateway//sync//EN';

/** The first VCALENDAR of `text`. Throws GatewayError('INVALID_ITEM') when there is none. */
export function parseICalendar(text: string): Component {
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text);
  } catch (err) {
    throw new GatewayError('INVALID_ITEM', `iCalendar parse error: ${(err as Error).message}`, { cause: err });
  }
  // Several top-level objects parse to an array of jCal arrays.
  const list = Array.isArray(jcal) && Array.isArray(jcal[0]) ? (jcal as unknown[]) : [jcal];
  const cal = list.map((j) => new ICAL.Component(j as unknown[])).find((c) => c.name === 'vcalendar');
  if (!cal) throw new GatewayError('INVALID_ITEM', 'no VCALENDAR found');
  return cal;
}

/** iCalendar text with CRLF line ends, as CalDAV servers expect. */
export function serializeICalendar(cal: Component): string {
  return cal.toString().replace(/\r?\n/g, '\r\n') + '\r\n';
}

/** An empty VCALENDAR 2.0 with the gateway's PRODID. */
export function newCalendar(): Component {
  const cal = new ICAL.Component('vcalendar');
  cal.addPropertyWithValue('version', '2.0');
  cal.addPropertyWithValue('prodid', PRODID);
  return cal;
}

export function newItem(kind: CalendarItemKind): Component {
  return new ICAL.Component(kind);
}

/** A changed instance of a series (it carries a RECURRENCE-ID). */
export function isOverride(c: Component): boolean {
  return c.hasProperty('recurrence-id');
}

export function itemsOf(cal: Component, kind: CalendarItemKind): Component[] {
  return cal.getAllSubcomponents(kind);
}

/** The master (no RECURRENCE-ID), or the first item when the object holds only overrides. */
export function masterOf(items: Component[]): Component | undefined {
  return items.find((c) => !isOverride(c)) ?? items[0];
}

/** A deep copy, free to be added to another calendar. */
export function cloneComponent(c: Component): Component {
  return new ICAL.Component(JSON.parse(JSON.stringify(c.toJSON())) as unknown[]);
}

export function cloneProperty(p: Property): Property {
  return new ICAL.Property(JSON.parse(JSON.stringify(p.toJSON())) as unknown[]);
}

/** Every TZID parameter used in `c` and its subcomponents. */
export function tzidsUsed(c: Component, into = new Set<string>()): Set<string> {
  for (const p of c.getAllProperties()) {
    const tz = p.getParameter('tzid');
    if (typeof tz === 'string') into.add(tz);
  }
  for (const sub of c.getAllSubcomponents()) tzidsUsed(sub, into);
  return into;
}

/** A DTSTAMP/LAST-MODIFIED style property at `now`. */
export function stampProperty(name: string, now: Date): Property {
  // jCal date-time form: always UTC, whole seconds.
  return new ICAL.Property([name, {}, 'date-time', now.toISOString().replace(/\.\d{3}Z$/, 'Z')]);
}
