// Item translators for events, tasks (vCalendar 1.0 / iCalendar 2.0 on the device) and notes
// (text/plain, vNote 1.1, VJOURNAL); the server side is always one iCalendar 2.0 object per item.
import { filterCalendarForDevice, protectUnstorable } from './calendar-filter.js';
import type { FieldFilter } from './types.js';
import { createHash, randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import { calendarFingerprint, convertCalendar } from '../convert/calendar.js';
import { convertNote, parseNote, writeNote, type Note } from '../convert/notes.js';
import { localToUtcMs, priorityScaleOf, type PriorityScale } from '../convert/vcalendar/index.js';
import { parseVersit, serializeProperty, type VersitComponent } from '../convert/versit/index.js';
import { GatewayError } from '../errors.js';
import type { ItemKind } from '../datastores/datastore.js';
import type { DeviceFormat, ItemTranslator } from './types.js';

type Component = InstanceType<typeof ICAL.Component>;
type Property = InstanceType<typeof ICAL.Property>;
type Time = InstanceType<typeof ICAL.Time>;

export interface CalendarTranslatorOptions {
  /** IANA zone of the device: its floating (local) times are read and written in this zone. */
  defaultTimezone?: string;
  /** Clock for DTSTAMP/LAST-MODIFIED of merged items (tests). */
  now?: () => Date;
}

type CalKind = 'vevent' | 'vtodo' | 'vjournal';

const PRODID = '-//syncml-dav-gateway//sync//EN';

/** Never compared for content: stamps, generator ids, and the time zone definitions themselves
 * (a changed TZID shows in the DTSTART line; two definitions of one zone are the same zone). */
const VOLATILE = new Set(['DTSTAMP', 'LAST-MODIFIED', 'PRODID', 'VERSION', 'SEQUENCE', 'CREATED', 'CALSCALE', 'X-LIC-ERROR']);

/**
 * Properties every device with this kind of item stores: when the device's item lacks one, the
 * user removed it on the device, so the server's value goes too. Everything else the device did
 * not send (ATTENDEE, ORGANIZER, URL, X-…, a VEVENT STATUS or CLASS a phone has no field for)
 * keeps its server value — losing it would be silent data loss for other CalDAV clients.
 */
const DEVICE_OWNED: Record<CalKind, ReadonlySet<string>> = {
  vevent: new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'DTSTART', 'DTEND', 'DURATION', 'RRULE', 'RDATE', 'EXDATE', 'EXRULE']),
  vtodo: new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'DTSTART', 'DUE', 'DURATION', 'RRULE', 'RDATE', 'EXDATE', 'EXRULE', 'STATUS', 'COMPLETED', 'PRIORITY']),
  vjournal: new Set(['SUMMARY', 'DESCRIPTION']),
};

/** Written by the merge itself, never copied from either side. */
const MERGE_MANAGED = new Set(['UID', 'DTSTAMP', 'LAST-MODIFIED']);

const TIME_PROPS = new Set(['DTSTART', 'DTEND', 'DUE', 'RECURRENCE-ID', 'COMPLETED']);

/** How many occurrences decide that two recurrence rules are the same. */
const RRULE_PROBE = 400;

function parseCal(text: string): Component {
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text);
  } catch (err) {
    throw new GatewayError('INVALID_ITEM', `iCalendar parse error: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(jcal) && Array.isArray(jcal[0]) ? (jcal as unknown[]) : [jcal];
  const cal = list.map((j) => new ICAL.Component(j as unknown[])).find((c) => c.name === 'vcalendar');
  if (!cal) throw new GatewayError('INVALID_ITEM', 'no VCALENDAR found');
  return cal;
}

function serialize(cal: Component): string {
  return cal.toString().replace(/\r?\n/g, '\r\n') + '\r\n';
}

function isOverride(c: Component): boolean {
  return c.hasProperty('recurrence-id');
}

function itemsOf(cal: Component, kind: CalKind): Component[] {
  return cal.getAllSubcomponents(kind);
}

/** The master (no RECURRENCE-ID), or the first item when the object holds only overrides. */
function masterOf(items: Component[]): Component | undefined {
  return items.find((c) => !isOverride(c)) ?? items[0];
}

function newCalendar(): Component {
  const cal = new ICAL.Component('vcalendar');
  cal.addPropertyWithValue('version', '2.0');
  cal.addPropertyWithValue('prodid', PRODID);
  return cal;
}

function clone(c: Component): Component {
  return new ICAL.Component(JSON.parse(JSON.stringify(c.toJSON())) as unknown[]);
}

function cloneProp(p: Property): Property {
  return new ICAL.Property(JSON.parse(JSON.stringify(p.toJSON())) as unknown[]);
}

function tzidsUsed(c: Component, into = new Set<string>()): Set<string> {
  for (const p of c.getAllProperties()) {
    const tz = p.getParameter('tzid');
    if (typeof tz === 'string') into.add(tz);
  }
  for (const sub of c.getAllSubcomponents()) tzidsUsed(sub, into);
  return into;
}

/** Time instants for comparing device and server values regardless of how they are written. */
class Instants {
  constructor(private readonly defaultTimezone: string | undefined) {}

  /** `D20250406` for a date, `T<unix seconds>` for a date-time, undefined if not a time. */
  of(p: Property | null, cal: Component): string | undefined {
    const t = p?.getFirstValue();
    if (!(t instanceof ICAL.Time)) return undefined;
    if (t.isDate) return `D${t.toICALString()}`;
    return `T${this.unix(t, p!.getParameter('tzid'), cal)}`;
  }

  unix(t: Time, tzid: unknown, cal: Component): number {
    if ((t.zone as { tzid?: string } | null)?.tzid === 'UTC') return t.toUnixTime();
    const zoned = this.zoned(t, tzid, cal);
    if (zoned) return zoned.toUnixTime();
    const zone = typeof tzid === 'string' ? tzid : this.defaultTimezone;
    const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
    if (zone) {
      try {
        return Math.round(localToUtcMs(zone, wall) / 1000);
      } catch {
        /* not an IANA name: read as UTC below */
      }
    }
    return Math.round(wall / 1000);
  }

  /** `t` with its VTIMEZONE attached, when the calendar defines the TZID. */
  zoned(t: Time, tzid: unknown, cal: Component): Time | undefined {
    if (typeof tzid !== 'string') return undefined;
    const def = cal.getAllSubcomponents('vtimezone').find((z) => z.getFirstPropertyValue('tzid') === tzid);
    if (!def) return undefined;
    const copy = t.clone();
    copy.zone = new ICAL.Timezone(def);
    return copy;
  }

  /**
   * All values of a multi-valued date property (EXDATE, RDATE) as a sorted key. For all-day
   * series a device's local midnight counts as that date (phones have no date-only values).
   */
  dateSet(item: Component, name: string, cal: Component, allDay: boolean): string {
    const keys: string[] = [];
    for (const p of item.getAllProperties(name)) {
      const tzid = p.getParameter('tzid');
      for (const v of p.getValues()) {
        if (!(v instanceof ICAL.Time)) {
          keys.push(String(v));
          continue;
        }
        if (v.isDate) keys.push(`D${v.toICALString()}`);
        else if (allDay && v.hour === 0 && v.minute === 0 && v.second === 0) keys.push(`D${v.toICALString().slice(0, 8)}`);
        else keys.push(`T${this.unix(v, tzid, cal)}`);
      }
    }
    return keys.sort().join(',');
  }

  /** Start time ready for recurrence expansion (zone attached, or floating in the device zone). */
  start(item: Component, cal: Component): Time | undefined {
    const p = item.getFirstProperty('dtstart') ?? item.getFirstProperty('due');
    const t = p?.getFirstValue();
    if (!(t instanceof ICAL.Time)) return undefined;
    return this.zoned(t, p!.getParameter('tzid'), cal) ?? t;
  }

  /** End of an event/task: DTEND/DUE, or DTSTART + DURATION. */
  end(item: Component, cal: Component): string | undefined {
    const explicit = item.getFirstProperty('dtend') ?? item.getFirstProperty('due');
    if (explicit) return this.of(explicit, cal);
    const start = item.getFirstProperty('dtstart');
    const dur = item.getFirstPropertyValue('duration');
    const t = start?.getFirstValue();
    if (!(t instanceof ICAL.Time) || !(dur instanceof ICAL.Duration)) return undefined;
    const zoned = this.zoned(t, start!.getParameter('tzid'), cal) ?? t.clone();
    zoned.addDuration(dur);
    if (zoned.isDate) return `D${zoned.toICALString()}`;
    return `T${this.unix(zoned, start!.getParameter('tzid'), cal)}`;
  }

  /** The first occurrences of `rule` started at `item`'s start, plus whether the rule ended. */
  occurrences(rule: Component, item: Component, cal: Component): string | undefined {
    const rrule = rule.getFirstPropertyValue('rrule');
    const start = this.start(item, cal);
    if (!(rrule instanceof ICAL.Recur) || !start) return undefined;
    const tzid = (item.getFirstProperty('dtstart') ?? item.getFirstProperty('due'))?.getParameter('tzid');
    const out: string[] = [];
    try {
      const it = rrule.iterator(start);
      for (let n = 0; n < RRULE_PROBE; n++) {
        const next = it.next();
        if (!next) return out.join(',') + '|end';
        out.push(next.isDate ? next.toICALString() : String(this.unix(next, tzid, cal)));
      }
    } catch {
      return undefined;
    }
    return out.join(',') + '|more';
  }
}

function personKey(p: Property): string {
  const addr = String(p.getFirstValue() ?? '').replace(/^mailto:/i, '').trim().toLowerCase();
  const partstat = p.name === 'attendee' ? String(p.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase() : '';
  return `${addr}|${partstat}`;
}

/** vCalendar 1.0 has three priorities: 1-4 -> 1 -> 1, 5 -> 2 -> 5, 6-9 -> 3 -> 9. */
function samePriority(server: Property, device: Property): boolean {
  const bucket = (n: number): number => (n <= 0 ? 0 : n <= 4 ? 1 : n === 5 ? 2 : 3);
  const sv = Number(server.getFirstValue());
  const dv = Number(device.getFirstValue());
  return [1, 5, 9].includes(dv) && bucket(sv) === bucket(dv);
}

function alarmKey(alarm: Component, owner: Component, cal: Component, inst: Instants): string {
  const action = String(alarm.getFirstPropertyValue('action') ?? '').toUpperCase();
  const trig = alarm.getFirstProperty('trigger');
  const v = trig?.getFirstValue();
  let when = '';
  if (v instanceof ICAL.Duration) {
    // Relative triggers are compared as instants too: phones send absolute run times.
    const related = String(trig!.getParameter('related') ?? 'START').toUpperCase();
    const anchorProp = related === 'END' ? (owner.getFirstProperty('dtend') ?? owner.getFirstProperty('due')) : (owner.getFirstProperty('dtstart') ?? owner.getFirstProperty('due'));
    const anchor = anchorProp?.getFirstValue();
    if (anchor instanceof ICAL.Time) {
      const base = inst.unix(anchor, anchorProp!.getParameter('tzid'), cal);
      when = String(base + v.toSeconds());
    } else when = `R${v.toString()}`;
  } else if (v instanceof ICAL.Time) when = String(inst.unix(v, trig!.getParameter('tzid'), cal));
  return `${action}|${when}`;
}

/** iCalendar text of one item of `kind` (master plus overrides of the same UID) and its zones. */
function normaliseItem(ical: string, kind: CalKind): string {
  const cal = parseCal(ical);
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
  for (const z of cal.getAllSubcomponents('vtimezone')) if (zones.has(String(z.getFirstPropertyValue('tzid')))) out.addSubcomponent(clone(z));
  for (const c of keep) out.addSubcomponent(clone(c));
  return serialize(out);
}

function stampProp(name: string, now: Date): Property {
  // jCal date-time form: always UTC, whole seconds.
  return new ICAL.Property([name, {}, 'date-time', now.toISOString().replace(/\.\d{3}Z$/, 'Z')]);
}

/**
 * Device fields win; server fields the device does not own are kept; where the device's value
 * means the same as the server's (same instant in another zone, a COUNT rule sent back as
 * UNTIL, an absolute alarm for a relative one) the server's spelling is kept, so a round trip
 * through a phone does not rewrite every event.
 */
function mergeItem(kind: CalKind, s: Component, sCal: Component, d: Component, dCal: Component, inst: Instants, now: Date): { item: Component; sameSchedule: boolean } {
  const owned = DEVICE_OWNED[kind];
  const out = new ICAL.Component(kind);
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
    if (sp && TIME_PROPS.has(name) && inst.of(sp, sCal) === inst.of(p, dCal)) out.addProperty(cloneProp(sp));
    else if (name === 'RRULE' && sp && sameRule && sameStart) out.addProperty(cloneProp(sp));
    else if (name === 'PRIORITY' && sp && samePriority(sp, p)) out.addProperty(cloneProp(sp));
    else if (name === 'ATTENDEE' || name === 'ORGANIZER') {
      // Phones write people as "Name <mail>": the server's line keeps CUTYPE, DELEGATED-TO…
      const match = s.getAllProperties(p.name).find((x) => !usedPeople.has(x) && personKey(x) === personKey(p));
      if (match) usedPeople.add(match);
      out.addProperty(cloneProp(match ?? p));
    } else out.addProperty(cloneProp(p));
  }
  for (const n of keepDates) for (const p of s.getAllProperties(n.toLowerCase())) out.addProperty(cloneProp(p));
  if (keepServerEnd) for (const p of [...s.getAllProperties('dtend'), ...s.getAllProperties('duration')]) out.addProperty(cloneProp(p));
  for (const p of s.getAllProperties()) {
    const name = p.name.toUpperCase();
    if (MERGE_MANAGED.has(name) || sent.has(name) || owned.has(name)) continue;
    out.addProperty(cloneProp(p));
  }

  const sUid = s.getFirstPropertyValue('uid');
  const dUid = d.getFirstPropertyValue('uid');
  // Changing the UID of a stored resource would break every other client's copy.
  out.addPropertyWithValue('uid', typeof sUid === 'string' && sUid ? sUid : typeof dUid === 'string' && dUid ? dUid : randomUUID());
  out.addProperty(d.getFirstProperty('dtstamp') ? cloneProp(d.getFirstProperty('dtstamp')!) : stampProp('dtstamp', now));
  out.addProperty(d.getFirstProperty('last-modified') ? cloneProp(d.getFirstProperty('last-modified')!) : stampProp('last-modified', now));
  const created = s.getFirstProperty('created');
  if (created && !out.hasProperty('created')) out.addProperty(cloneProp(created));

  if (kind === 'vtodo') {
    // A task the device re-opened must not stay 100 % done from the server's copy.
    const status = String(out.getFirstPropertyValue('status') ?? '').toUpperCase();
    if (status !== 'COMPLETED' && !out.hasProperty('completed') && Number(out.getFirstPropertyValue('percent-complete')) === 100) out.removeAllProperties('percent-complete');
  }

  const dAlarms = d.getAllSubcomponents('valarm');
  const sAlarms = s.getAllSubcomponents('valarm');
  if (dAlarms.length === 0) {
    // Phones without alarm support send none; dropping the server's would lose them for good.
    for (const a of sAlarms) out.addSubcomponent(clone(a));
  } else {
    const byKey = new Map(sAlarms.map((a) => [alarmKey(a, s, sCal, inst), a] as const));
    for (const a of dAlarms) {
      const match = byKey.get(alarmKey(a, d, dCal, inst));
      out.addSubcomponent(clone(match ?? a));
    }
  }
  for (const sub of s.getAllSubcomponents()) if (sub.name !== 'valarm') out.addSubcomponent(clone(sub));
  return { item: out, sameSchedule: sameStart && sameRule };
}

function mergeCalendar(kind: CalKind, serverData: string | undefined, deviceAsServer: string, inst: Instants, now: Date): string {
  const dCal = parseCal(normaliseItem(deviceAsServer, kind));
  const dItems = itemsOf(dCal, kind);
  const out = newCalendar();
  let items: Component[];
  let sCal: Component | undefined;
  if (serverData === undefined) {
    items = dItems.map(clone);
    const found = masterOf(items)!.getFirstPropertyValue('uid');
    // CalDAV requires UID and DTSTAMP; 2.0 devices may omit both (1.0 input got a UID already).
    const uid = typeof found === 'string' && found.trim() ? found : randomUUID();
    for (const c of items) {
      c.updatePropertyWithValue('uid', uid);
      if (!c.hasProperty('dtstamp')) c.addProperty(stampProp('dtstamp', now));
    }
  } else {
    sCal = parseCal(serverData);
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
        const m = sO ? mergeItem(kind, sO, sCal, o, dCal, inst, now).item : clone(o);
        m.updatePropertyWithValue('uid', uid);
        items.push(m);
      }
    } else if (merged.sameSchedule) {
      // Devices without exception support send only the master: the server's moved or
      // changed instances still fit an unchanged series, so they stay.
      for (const o of sOverrides) items.push(clone(o));
    }
  }
  const zones = new Set<string>();
  for (const c of items) tzidsUsed(c, zones);
  const defs = [...dCal.getAllSubcomponents('vtimezone'), ...(sCal?.getAllSubcomponents('vtimezone') ?? [])];
  for (const tz of zones) {
    const def = defs.find((z) => z.getFirstPropertyValue('tzid') === tz);
    if (def) out.addSubcomponent(clone(def));
  }
  for (const c of items) out.addSubcomponent(c);
  return serialize(out);
}

function versitKeys(c: VersitComponent): string[] {
  const lines = c.properties.filter((p) => !VOLATILE.has(p.name)).map((p) => serializeProperty({ ...p, group: undefined }, 'ical2.0')).sort();
  const subs = c.components.filter((s) => s.name !== 'VTIMEZONE').map((s) => `${s.name}{${versitKeys(s).join('\n')}}`).sort();
  return [...lines, ...subs];
}

function contentHash(serverData: string): string {
  const cals = parseVersit(serverData).filter((c) => c.name === 'VCALENDAR');
  if (cals.length === 0) throw new GatewayError('INVALID_ITEM', 'no VCALENDAR found');
  return createHash('sha1').update(cals.map((c) => versitKeys(c).join('\n')).join('\n--\n')).digest('base64');
}

function normText(s: string): string {
  return s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** The device's PRIORITY scale from the PRIORITY values its CTCap (or device profile) lists. */
function scaleOf(filter: FieldFilter | undefined): { priorityScale?: PriorityScale; defaultCharset?: string } {
  const scale = filter?.priorityScale ?? priorityScaleOf(filter?.properties['PRIORITY']?.valEnum);
  return { ...(scale ? { priorityScale: scale } : {}), ...(filter?.charset ? { defaultCharset: filter.charset } : {}) };
}

function isVcal(to: DeviceFormat): boolean {
  return to.type.toLowerCase() === 'text/x-vcalendar' || to.version === '1.0';
}

function calendarTranslator(kind: 'events' | 'tasks', opts: CalendarTranslatorOptions): ItemTranslator {
  const comp: CalKind = kind === 'events' ? 'vevent' : 'vtodo';
  const tz = opts.defaultTimezone;
  const now = opts.now ?? (() => new Date());
  const inst = new Instants(tz);
  const convOpts = tz ? { defaultTimezone: tz } : {};
  return {
    kind: kind satisfies ItemKind,
    deviceFormats: [
      { type: 'text/x-vcalendar', version: '1.0' },
      { type: 'text/calendar', version: '2.0' },
    ],

    // The content decides between 1.0 and 2.0: Meta/Type is often missing or generic.
    toServer(data: string, _from?: DeviceFormat, filter?: FieldFilter, onWarning?: (m: string) => void): string {
      // No content-derived UID: the sync engine derives one from (account, device, datastore, LUID).
      const warn = onWarning ? { onWarning } : {};
      return normaliseItem(convertCalendar(data, 'ical20', { ...convOpts, ...scaleOf(filter), ...warn, now: now(), uidFromContent: false }), comp);
    },

    toDevice(serverData: string, to: DeviceFormat, filter?: FieldFilter): string {
      if (!isVcal(to)) return filterCalendarForDevice(convertCalendar(serverData, 'ical20', convOpts), filter, 'ical2.0');
      // vCalendar 1.0 has no exceptions: send the series itself (moved instances stay on the
      // server; the phone shows them at their regular times).
      const cal = parseCal(serverData);
      const items = itemsOf(cal, comp);
      const master = masterOf(items);
      if (master && items.length > 1) for (const c of items) if (c !== master) cal.removeSubcomponent(c);
      return filterCalendarForDevice(convertCalendar(serialize(cal), 'vcal10', { ...convOpts, ...scaleOf(filter) }), filter, 'vcal1.0');
    },

    mergeFromDevice(serverData: string | undefined, deviceAsServer: string, filter?: FieldFilter): string {
      const device = serverData === undefined ? deviceAsServer : protectUnstorable(serverData, deviceAsServer, filter);
      return mergeCalendar(comp, serverData, device, inst, now());
    },

    fingerprints(serverData: string): string[] {
      const fp = calendarFingerprint(serverData, convOpts);
      const out: string[] = [];
      if (fp.uid) out.push(`uid:${fp.uid}`);
      if (fp.summary || fp.start) out.push(`${fp.kind}|${normText(fp.summary)}|${fp.start ?? ''}`);
      return out;
    },

    hash: contentHash,
  };
}

function noteFromDevice(data: string, from: DeviceFormat): Note {
  // Plain text is taken literally even if it happens to start like a vNote or a VCALENDAR.
  if (from.type.toLowerCase() === 'text/plain') {
    const body = data.replace(/\r\n|\r/g, '\n');
    return { summary: (body.split('\n')[0] ?? '').trim(), body, categories: [] };
  }
  return parseNote(data);
}

function buildNotesTranslator(opts: CalendarTranslatorOptions): ItemTranslator {
  const now = opts.now ?? (() => new Date());
  const inst = new Instants(opts.defaultTimezone);
  return {
    kind: 'notes',
    deviceFormats: [
      { type: 'text/plain', version: '1.0' },
      { type: 'text/x-vnote', version: '1.1' },
      { type: 'text/calendar', version: '2.0' },
    ],

    toServer(data: string, from: DeviceFormat): string {
      return normaliseItem(writeNote(noteFromDevice(data, from), 'ical20', { now: now(), uidFromText: false }), 'vjournal');
    },

    toDevice(serverData: string, to: DeviceFormat): string {
      const type = to.type.toLowerCase();
      if (type === 'text/x-vnote') return convertNote(serverData, 'vnote');
      if (type === 'text/calendar') return normaliseItem(serverData, 'vjournal');
      return convertNote(serverData, 'text');
    },

    mergeFromDevice(serverData: string | undefined, deviceAsServer: string): string {
      return mergeCalendar('vjournal', serverData, deviceAsServer, inst, now());
    },

    fingerprints(serverData: string): string[] {
      const note = parseNote(serverData);
      const body = normText(note.body || note.summary);
      const out = note.uid ? [`uid:${note.uid}`] : [];
      if (body) out.push(`note|${createHash('sha1').update(body).digest('hex')}`);
      return out;
    },

    hash: contentHash,
  };
}

export function createEventsTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return calendarTranslator('events', opts);
}

export function createTasksTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return calendarTranslator('tasks', opts);
}

export function createNotesTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return buildNotesTranslator(opts);
}

/** The three translators with one device time zone, ready for `EngineDeps.translators`. */
export function calendarTranslators(opts: CalendarTranslatorOptions = {}): { events: ItemTranslator; tasks: ItemTranslator; notes: ItemTranslator } {
  return { events: calendarTranslator('events', opts), tasks: calendarTranslator('tasks', opts), notes: buildNotesTranslator(opts) };
}

/** Without a device zone: floating device times stay floating on the server. */
export const eventsTranslator: ItemTranslator = createEventsTranslator();
export const tasksTranslator: ItemTranslator = createTasksTranslator();
export const notesTranslator: ItemTranslator = createNotesTranslator();
