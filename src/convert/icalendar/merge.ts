// Merging a device's edit of an event, task or journal into the server's iCalendar object:
// device fields win, server fields the device cannot hold are kept, and values the device sent
// back unchanged keep the server's spelling.
import { randomUUID } from 'node:crypto';
import {
  cloneComponent, cloneProperty, isOverride, itemsOf, masterOf, newCalendar, newItem, parseICalendar, serializeICalendar, stampProperty, tzidsUsed,
  type CalendarItemKind, type Component, type Property, type Time,
} from './component.js';
import { Instants } from './instants.js';
import { normaliseCalendarItem } from './item.js';

export interface CalendarMergeOptions {
  /** IANA zone of the device: its floating times are compared as times in this zone. */
  defaultTimezone?: string;
  /** DTSTAMP/LAST-MODIFIED of the merged item when the device sent none. */
  now: Date;
}

/**
 * Properties every device with this kind of item stores: when the device's item lacks one, the
 * user removed it on the device, so the server's value goes too. Everything else the device did
 * not send (ATTENDEE, ORGANIZER, URL, X-…, a VEVENT STATUS or CLASS a phone has no field for)
 * keeps its server value — losing it would be silent data loss for other CalDAV clients.
 */
const DEVICE_OWNED: Record<CalendarItemKind, ReadonlySet<string>> = {
  vevent: new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'DTSTART', 'DTEND', 'DURATION', 'RRULE', 'RDATE', 'EXDATE', 'EXRULE']),
  vtodo: new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'DTSTART', 'DUE', 'DURATION', 'RRULE', 'RDATE', 'EXDATE', 'EXRULE', 'STATUS', 'COMPLETED', 'PRIORITY']),
  vjournal: new Set(['SUMMARY', 'DESCRIPTION']),
};

/** Written by the merge itself, never copied from either side. */
const MERGE_MANAGED = new Set(['UID', 'DTSTAMP', 'LAST-MODIFIED']);

const TIME_PROPS = new Set(['DTSTART', 'DTEND', 'DUE', 'RECURRENCE-ID', 'COMPLETED']);

/** An ATTENDEE/ORGANIZER by address (and participation), whatever its display name. */
export function personKey(p: Property): string {
  const addr = String(p.getFirstValue() ?? '').replace(/^mailto:/i, '').trim().toLowerCase();
  const partstat = p.name === 'attendee' ? String(p.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase() : '';
  return `${addr}|${partstat}`;
}

/** vCalendar 1.0 has three priorities: 1-4 -> 1 -> 1, 5 -> 2 -> 5, 6-9 -> 3 -> 9. */
export function samePriority(server: Property, device: Property): boolean {
  const bucket = (n: number): number => (n <= 0 ? 0 : n <= 4 ? 1 : n === 5 ? 2 : 3);
  const sv = Number(server.getFirstValue());
  const dv = Number(device.getFirstValue());
  return [1, 5, 9].includes(dv) && bucket(sv) === bucket(dv);
}

/**
 * Device fields win; server fields the device does not own are kept; where the device's value
 * means the same as the server's (same instant in another zone, a COUNT rule sent back as
 * UNTIL, an absolute alarm for a relative one) the server's spelling is kept, so a round trip
 * through a phone does not rewrite every event.
 */
function mergeItem(kind: CalendarItemKind, s: Component, sCal: Component, d: Component, dCal: Component, inst: Instants, now: Date): { item: Component; sameSchedule: boolean } {
  const owned = DEVICE_OWNED[kind];
  const out = newItem(kind);
  const sent = new Set(d.getAllProperties().map((p) => p.name.toUpperCase()));
  const sameStart = inst.of(s.getFirstProperty('dtstart'), sCal) === inst.of(d.getFirstProperty('dtstart'), dCal);
  // Both rules are expanded from the server's start, the one kept when the instants agree: a
  // phone's UTC start re-read in its own zone must not make a daily rule look different.
  const sameRule = (inst.occurrences(s, s, sCal) ?? 'none') === (inst.occurrences(d, s, sCal) ?? 'none');
  const sameEnd = inst.end(s, sCal) === inst.end(d, dCal);

  // DTEND and DURATION are one field written two ways: keep the server's way if the end is equal.
  const keepServerEnd = sameStart && sameEnd && (s.hasProperty('dtend') || s.hasProperty('duration')) && (d.hasProperty('dtend') || d.hasProperty('duration'));
  const allDay = (s.getFirstPropertyValue('dtstart') as Time | null)?.isDate === true;
  const sameDates = (name: string): boolean =>
    s.hasProperty(name) && inst.dateSet(s, name, sCal, allDay) === inst.dateSet(d, name, dCal, allDay);
  const keepDates = new Set(['EXDATE', 'RDATE'].filter((n) => d.hasProperty(n.toLowerCase()) && sameDates(n.toLowerCase())));
  const usedPeople = new Set<Property>();
  for (const p of d.getAllProperties()) {
    const name = p.name.toUpperCase();
    if (MERGE_MANAGED.has(name)) continue;
    if (keepServerEnd && (name === 'DTEND' || name === 'DURATION')) continue;
    if (keepDates.has(name)) continue;
    const sp = s.getFirstProperty(p.name);
    if (sp && TIME_PROPS.has(name) && inst.of(sp, sCal) === inst.of(p, dCal)) out.addProperty(cloneProperty(sp));
    else if (name === 'RRULE' && sp && sameRule && sameStart) out.addProperty(cloneProperty(sp));
    else if (name === 'PRIORITY' && sp && samePriority(sp, p)) out.addProperty(cloneProperty(sp));
    else if (name === 'ATTENDEE' || name === 'ORGANIZER') {
      // Phones write people as "Name <mail>": the server's line keeps CUTYPE, DELEGATED-TO…
      const match = s.getAllProperties(p.name).find((x) => !usedPeople.has(x) && personKey(x) === personKey(p));
      if (match) usedPeople.add(match);
      out.addProperty(cloneProperty(match ?? p));
    } else out.addProperty(cloneProperty(p));
  }
  for (const n of keepDates) for (const p of s.getAllProperties(n.toLowerCase())) out.addProperty(cloneProperty(p));
  if (keepServerEnd) for (const p of [...s.getAllProperties('dtend'), ...s.getAllProperties('duration')]) out.addProperty(cloneProperty(p));
  for (const p of s.getAllProperties()) {
    const name = p.name.toUpperCase();
    if (MERGE_MANAGED.has(name) || sent.has(name) || owned.has(name)) continue;
    out.addProperty(cloneProperty(p));
  }

  const sUid = s.getFirstPropertyValue('uid');
  const dUid = d.getFirstPropertyValue('uid');
  // Changing the UID of a stored resource would break every other client's copy.
  out.addPropertyWithValue('uid', typeof sUid === 'string' && sUid ? sUid : typeof dUid === 'string' && dUid ? dUid : randomUUID());
  out.addProperty(d.getFirstProperty('dtstamp') ? cloneProperty(d.getFirstProperty('dtstamp')!) : stampProperty('dtstamp', now));
  out.addProperty(d.getFirstProperty('last-modified') ? cloneProperty(d.getFirstProperty('last-modified')!) : stampProperty('last-modified', now));
  const created = s.getFirstProperty('created');
  if (created && !out.hasProperty('created')) out.addProperty(cloneProperty(created));

  if (kind === 'vtodo') {
    // A task the device re-opened must not stay 100 % done from the server's copy.
    const status = String(out.getFirstPropertyValue('status') ?? '').toUpperCase();
    if (status !== 'COMPLETED' && !out.hasProperty('completed') && Number(out.getFirstPropertyValue('percent-complete')) === 100) out.removeAllProperties('percent-complete');
  }

  const dAlarms = d.getAllSubcomponents('valarm');
  const sAlarms = s.getAllSubcomponents('valarm');
  if (dAlarms.length === 0) {
    // Phones without alarm support send none; dropping the server's would lose them for good.
    for (const a of sAlarms) out.addSubcomponent(cloneComponent(a));
  } else {
    const byKey = new Map(sAlarms.map((a) => [inst.alarmKey(a, s, sCal), a] as const));
    for (const a of dAlarms) {
      const match = byKey.get(inst.alarmKey(a, d, dCal));
      out.addSubcomponent(cloneComponent(match ?? a));
    }
  }
  for (const sub of s.getAllSubcomponents()) if (sub.name !== 'valarm') out.addSubcomponent(cloneComponent(sub));
  return { item: out, sameSchedule: sameStart && sameRule };
}

/**
 * The server object after the device's edit (`deviceAsServer`, already iCalendar 2.0), or the
 * device's item ready to be created when `serverData` is undefined: one item of `kind` with its
 * overrides, UID and DTSTAMP set, and the VTIMEZONEs it uses.
 */
export function mergeCalendarItem(kind: CalendarItemKind, serverData: string | undefined, deviceAsServer: string, opts: CalendarMergeOptions): string {
  return mergeCalendar(kind, serverData, deviceAsServer, new Instants(opts.defaultTimezone), opts.now);
}

function mergeCalendar(kind: CalendarItemKind, serverData: string | undefined, deviceAsServer: string, inst: Instants, now: Date): string {
  const dCal = parseICalendar(normaliseCalendarItem(deviceAsServer, kind));
  const dItems = itemsOf(dCal, kind);
  const out = newCalendar();
  let items: Component[];
  let sCal: Component | undefined;
  if (serverData === undefined) {
    items = dItems.map(cloneComponent);
    const found = masterOf(items)!.getFirstPropertyValue('uid');
    // CalDAV requires UID and DTSTAMP; 2.0 devices may omit both (1.0 input got a UID already).
    const uid = typeof found === 'string' && found.trim() ? found : randomUUID();
    for (const c of items) {
      c.updatePropertyWithValue('uid', uid);
      if (!c.hasProperty('dtstamp')) c.addProperty(stampProperty('dtstamp', now));
    }
  } else {
    sCal = parseICalendar(serverData);
    const sItems = itemsOf(sCal, kind);
    const sMaster = masterOf(sItems);
    const dMaster = masterOf(dItems)!;
    if (!sMaster) {
      // The stored resource holds another kind (a VTODO in an events collection?): replace it.
      return mergeCalendar(kind, undefined, deviceAsServer, inst, now);
    }
    const merged = mergeItem(kind, sMaster, sCal, dMaster, dCal, inst, now);
    items = [merged.item];
    const uid = String(merged.item.getFirstPropertyValue('uid'));
    const dOverrides = dItems.filter((c) => c !== dMaster && isOverride(c));
    const sOverrides = sItems.filter((c) => c !== sMaster && isOverride(c));
    if (dOverrides.length) {
      for (const o of dOverrides) {
        const rid = inst.of(o.getFirstProperty('recurrence-id'), dCal);
        const sO = sOverrides.find((x) => inst.of(x.getFirstProperty('recurrence-id'), sCal!) === rid);
        const m = sO ? mergeItem(kind, sO, sCal, o, dCal, inst, now).item : cloneComponent(o);
        m.updatePropertyWithValue('uid', uid);
        items.push(m);
      }
    } else if (merged.sameSchedule) {
      // Devices without exception support send only the master: the server's moved or
      // changed instances still fit an unchanged series, so they stay.
      for (const o of sOverrides) items.push(cloneComponent(o));
    }
  }
  const zones = new Set<string>();
  for (const c of items) tzidsUsed(c, zones);
  const defs = [...dCal.getAllSubcomponents('vtimezone'), ...(sCal?.getAllSubcomponents('vtimezone') ?? [])];
  for (const tz of zones) {
    const def = defs.find((z) => z.getFirstPropertyValue('tzid') === tz);
    if (def) out.addSubcomponent(cloneComponent(def));
  }
  for (const c of items) out.addSubcomponent(c);
  return serializeICalendar(out);
}
