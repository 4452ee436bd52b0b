// vCalendar 1.0 (parsed versit tree) -> iCalendar 2.0 text: times and TZ/DAYLIGHT -> TZID +
// VTIMEZONE, all-day forms -> VALUE=DATE, RRULE 1.0 -> 2.0, xALARM -> VALARM, enum renames.
import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { VersitComponent, VersitParam, VersitProperty } from '../versit/index.js';
import { escapeText, isStorableName, serializeVersit, standIn, unescapeText } from '../versit/index.js';
import {
  priorityToIcal,
  statusToIcal,
  transpToIcal,
  type CalKind,
  type PriorityScale,
} from './mappings.js';
import { ADDED_PARAM, addedDtstart } from './repairs.js';
import { vcalRruleToIcal } from './rrule.js';
import { alarmComponents, type EventTimes } from './vcal-alarms.js';
import { attachToIcal, attendee, calAddress, listValues } from './vcal-props.js';
import {
  buildVtimezone,
  fieldsToMs,
  formatLocal,
  localToUtcMs,
  utcMsToLocalMs,
  zoneOffsetMinutes,
  type LocalFields,
} from './tz.js';
import {
  dayToDate,
  detectAllDay,
  fmtFields,
  parseVcalTime,
  referenceFor,
  toUtcMs,
  wallFields,
  type TimeReference,
  type VcalTime,
} from './vcal-time.js';

export interface ToIcalOptions {
  defaultTimezone?: string;
  /** How `#n` is read for rules with several entries per interval (see rrule.ts). */
  countMode?: 'intervals' | 'occurrences';
  /** DTSTAMP when the item carries no LAST-MODIFIED/DCREATED. */
  now?: Date;
  /**
   * An item without UID gets `vcal-<sha1 of its content>` (default, for the stateless `convert`
   * command). The gateway passes false and derives the UID from identity (account, device,
   * datastore, LUID): two phone items with equal content are still two items.
   */
  uidFromContent?: boolean;
  /** The device's PRIORITY scale (see mappings.ts); default 3 (phones). */
  priorityScale?: PriorityScale;
  onWarning?: (message: string) => void;
}

const PRODID = '-//syncml-dav-gateway//vCalendar 1.0 import//EN';

// Device noise that must not reach the CalDAV store.
const DROP = new Set(['X-IRMC-LUID', 'VERSION', 'PRODID']);

function prop(name: string, value: string, params: VersitParam[] = []): VersitProperty {
  return { name, params, value, rawValue: value };
}

function textProp(name: string, text: string, params: VersitParam[] = []): VersitProperty {
  return prop(name, escapeText(text, 'ical2.0'), params);
}

function first(c: VersitComponent, name: string): VersitProperty | undefined {
  return c.properties.find((p) => p.name === name);
}

/** Text of a legacy value: QP/CHARSET are decoded by the parser; backslash escapes removed. */
function text(p: VersitProperty): string {
  return unescapeText(p.value).replace(/\r\n|\r/g, '\n');
}


function timeValue(t: VcalTime, times: EventTimes, name: string): VersitProperty {
  if (times.allDay || t.dateOnly) {
    return prop(name, fmtFields(wallFields(t, times.ref)).slice(0, 8), [{ name: 'VALUE', value: 'DATE' }]);
  }
  times.years.push(t.fields.y);
  const ref = times.ref;
  if (t.utc) {
    if (times.utcToZone && ref.kind === 'zone') {
      times.usedZones.add(ref.zone);
      return prop(name, fmtFields(wallFields(t, ref)), [{ name: 'TZID', value: ref.zone }]);
    }
    return prop(name, fmtFields(t.fields, true));
  }
  switch (ref.kind) {
    case 'zone': {
      // A wall time in the repeated hour after DST ends means its first occurrence (as vCal
      // 1.0 reads it), but iCalendar readers differ (ical.js takes the second): write the
      // instant in UTC where that changes nothing else, i.e. not on a recurring DTSTART.
      const utc = localToUtcMs(ref.zone, t.fields);
      if (!(times.utcToZone && name === 'DTSTART') && isAmbiguousWallTime(ref.zone, fieldsToMs(t.fields), utc)) {
        return prop(name, formatLocal(utc, true));
      }
      times.usedZones.add(ref.zone);
      return prop(name, fmtFields(t.fields), [{ name: 'TZID', value: ref.zone }]);
    }
    case 'rules': {
      const ms = toUtcMs(t, ref) ?? fieldsToMs(t.fields);
      return prop(name, formatLocal(ms, true));
    }
    case 'floating':
      return prop(name, fmtFields(t.fields));
  }
}

/** Whether `wall` in `zone` also names a later instant than `utc` (the fall-back hour). */
function isAmbiguousWallTime(zone: string, wall: number, utc: number): boolean {
  const laterOffset = zoneOffsetMinutes(zone, utc + 6 * 3600000);
  const other = wall - laterOffset * 60000;
  return other > utc && utcMsToLocalMs(zone, other) === wall;
}

/** A UTC DATE-TIME (CREATED, LAST-MODIFIED, COMPLETED, DTSTAMP must be UTC). */
function utcValue(v: string, ref: TimeReference): string | undefined {
  const t = parseVcalTime(v);
  if (!t) return undefined;
  const ms = toUtcMs(t, ref) ?? fieldsToMs(t.fields);
  return formatLocal(ms, true);
}


function convertItem(
  c: VersitComponent,
  ref: TimeReference,
  opts: ToIcalOptions,
  usedZones: Set<string>,
  years: number[],
  warn: (m: string) => void,
): VersitComponent {
  const kind = c.name as CalKind;
  const out: VersitProperty[] = [];
  const dtstartP = first(c, 'DTSTART');
  const endP = first(c, kind === 'VEVENT' ? 'DTEND' : 'DUE');
  const start = dtstartP && dtstartP.value.trim() !== '' ? parseVcalTime(dtstartP.value) : undefined;
  const end = endP && endP.value.trim() !== '' ? parseVcalTime(endP.value) : undefined;
  if (dtstartP && dtstartP.value.trim() !== '' && !start) {
    throw new GatewayError('INVALID_ITEM', `${kind}: unreadable DTSTART "${dtstartP.value}"`);
  }
  if (endP && endP.value.trim() !== '' && !end) {
    throw new GatewayError('INVALID_ITEM', `${kind}: unreadable ${endP.name} "${endP.value}"`);
  }
  const rruleP = first(c, 'RRULE');
  const recurring = rruleP !== undefined && rruleP.value.trim() !== '';
  let span = kind === 'VEVENT' && start ? detectAllDay(start, end, ref) : undefined;
  const todoAllDay = kind === 'VTODO' && (start?.dateOnly || (!start && end?.dateOnly)) === true;
  if (kind === 'VTODO' && start && end && start.dateOnly !== end.dateOnly) {
    // RFC 5545: DUE and DTSTART must have the same value type; the date one wins as all-day.
    span = undefined;
  }
  const times: EventTimes = {
    ref,
    zone: ref.kind === 'zone' ? ref.zone : undefined,
    allDay: span !== undefined || todoAllDay,
    utcToZone: recurring,
    usedZones,
    years,
  };
  const summaryP = first(c, 'SUMMARY');
  const summary = summaryP ? text(summaryP) : undefined;

  let uid = first(c, 'UID')?.value.trim();
  if (!uid && opts.uidFromContent !== false) {
    // RFC 5545 needs a UID; derive it from the content so re-conversion gives the same one.
    uid = `vcal-${createHash('sha1').update(serializeVersit(c, { version: 'vcal1.0' })).digest('hex').slice(0, 20)}`;
  }
  if (uid) out.push(prop('UID', escapeText(uid, 'ical2.0')));
  const stampSrc = first(c, 'LAST-MODIFIED') ?? first(c, 'DCREATED');
  const stamp = (stampSrc && utcValue(stampSrc.value, ref)) ?? formatLocal((opts.now ?? new Date()).getTime(), true);
  out.push(prop('DTSTAMP', stamp));

  if (start) {
    if (span) out.push(prop('DTSTART', dayToDate(span.startDay), [{ name: 'VALUE', value: 'DATE' }]));
    else out.push(timeValue(start, times, 'DTSTART'));
  }
  let endOut: VersitProperty | undefined;
  if (end) {
    if (span) {
      endOut = prop('DTEND', dayToDate(span.endDay), [{ name: 'VALUE', value: 'DATE' }]);
    } else if (kind === 'VTODO' && start && start.dateOnly !== end.dateOnly) {
      endOut = timeValue(end, { ...times, allDay: start.dateOnly }, 'DUE');
    } else {
      endOut = timeValue(end, times, kind === 'VEVENT' ? 'DTEND' : 'DUE');
    }
  }
  if (kind === 'VEVENT' && !start) {
    const added = addedDtstart(endOut, stamp);
    warn(`VEVENT without DTSTART: DTSTART ${added.value} added from ${endOut ? 'DTEND' : 'the item date'} (${ADDED_PARAM}, not sent back)`);
    out.push(added);
  }
  if (endOut) out.push(endOut);

  const alarmAnchor = start
    ? { t: start, related: 'START' as const }
    : end
      ? { t: end, related: 'END' as const }
      : undefined;

  // A value iCalendar has no place for under the device's name: kept under its X- stand-in with
  // the name in X-SYNCML-NAME; to-vcal.ts gives it back to the phone as it was sent.
  const keep = (p: VersitProperty, why: string): void => {
    const s = standIn(p.name);
    warn(`${kind} ${p.name} ${why}: kept as ${s.name};${s.param.name}=${p.name}`);
    out.push(textProp(s.name, text(p), [s.param]));
  };
  const categories: string[] = [];
  let percent: string | undefined;
  let completed = false;
  for (const p of c.properties) {
    switch (p.name) {
      case 'DTSTART':
      case 'DTEND':
      case 'UID':
      case 'DTSTAMP':
      case 'AALARM':
      case 'DALARM':
      case 'PALARM':
      case 'MALARM':
        break;
      case 'DUE':
        // Symbian writes DUE on events; iCalendar has none there: kept as X-DUE for the phone.
        if (kind === 'VEVENT') keep(p, 'on a VEVENT');
        break;
      case 'SUMMARY':
      case 'DESCRIPTION':
      case 'LOCATION':
      case 'COMMENT':
      case 'CONTACT':
        if (p.value !== '') out.push(textProp(p.name, text(p)));
        break;
      case 'URL': {
        // A URI has no blanks; a QP value folded over several lines is joined.
        const uri = p.value.replace(/\s+/g, '');
        if (uri !== '') out.push(prop('URL', uri));
        break;
      }
      case 'ATTACH': {
        const a = attachToIcal(p);
        if (a) out.push(a);
        break;
      }
      case 'CLASS': {
        const cls = p.value.trim().split(/\s+/)[0] ?? '';
        if (cls !== '') out.push(prop('CLASS', cls.toUpperCase()));
        break;
      }
      case 'CATEGORIES':
        categories.push(...listValues(p));
        break;
      case 'RESOURCES': {
        const r = listValues(p);
        if (r.length) out.push(prop('RESOURCES', r.map((x) => escapeText(x, 'ical2.0')).join(',')));
        break;
      }
      case 'PRIORITY': {
        const n = priorityToIcal(p.value, opts.priorityScale, warn);
        if (n !== undefined && n > 0) out.push(prop('PRIORITY', String(n)));
        break;
      }
      case 'STATUS': {
        const s = statusToIcal(p.value, kind);
        if (s) out.push(prop('STATUS', s));
        if (/COMPLETED/i.test(p.value) && kind === 'VTODO') completed = true;
        break;
      }
      case 'TRANSP': {
        const t = transpToIcal(p.value);
        if (t && kind === 'VEVENT') out.push(prop('TRANSP', t));
        break;
      }
      case 'SEQUENCE': {
        const n = Number.parseInt(p.value, 10);
        if (Number.isInteger(n) && n >= 0) out.push(prop('SEQUENCE', String(n)));
        break;
      }
      case 'DCREATED':
      case 'CREATED': {
        const v = utcValue(p.value, ref);
        if (v) out.push(prop('CREATED', v));
        break;
      }
      case 'LAST-MODIFIED': {
        const v = utcValue(p.value, ref);
        if (v) out.push(prop('LAST-MODIFIED', v));
        break;
      }
      case 'COMPLETED': {
        const v = utcValue(p.value, ref);
        if (v && kind === 'VTODO') {
          out.push(prop('COMPLETED', v));
          completed = true;
        }
        break;
      }
      case 'PERCENT-COMPLETE':
        if (/^\d+$/.test(p.value.trim())) percent = p.value.trim();
        break;
      case 'GEO': {
        // 1.0 uses "a,b"; 2.0 "lat;lon". The order is kept as written (unverified in the spec).
        const m = /^\s*(-?[\d.]+)\s*[,;]\s*(-?[\d.]+)\s*$/.exec(p.value);
        if (m) out.push(prop('GEO', `${m[1]};${m[2]}`));
        break;
      }
      case 'ATTENDEE': {
        const a = attendee(p, warn);
        if (a) out.push(a.prop);
        else warn('empty ATTENDEE dropped');
        break;
      }
      case 'X-ORGANIZER':
      case 'ORGANIZER': {
        const a = calAddress(text(p));
        if (a.uri) out.push(prop('ORGANIZER', a.uri, a.cn ? [{ name: 'CN', value: a.cn }] : []));
        else if (a.cn) {
          warn(`ORGANIZER "${a.cn}" has no address; kept as X-VCAL-ORGANIZER`);
          out.push(textProp('X-VCAL-ORGANIZER', a.cn));
        }
        break;
      }
      case 'RRULE': {
        if (!start && !end) {
          keep(p, 'without DTSTART or an end to repeat from');
          break;
        }
        const anchorT = (start ?? end) as VcalTime;
        const startFields = times.allDay ? wallFields(anchorT, ref) : recurring && anchorT.utc && ref.kind === 'zone' ? wallFields(anchorT, ref) : anchorT.fields;
        const r = vcalRruleToIcal(p.value, {
          start: startFields,
          allDay: times.allDay,
          countMode: opts.countMode,
          until: (f: LocalFields, utc: boolean) => untilValue(f, utc, anchorT, ref),
        });
        for (const w of r.warnings) warn(`RRULE "${p.value}": ${w}`);
        if (r.rrule) out.push(prop('RRULE', r.rrule));
        break;
      }
      case 'EXRULE':
        keep(p, 'is deprecated in RFC 5545');
        break;
      case 'EXDATE':
      case 'RDATE': {
        for (const v of listValues(p)) {
          const t = parseVcalTime(v);
          if (!t) {
            warn(`${p.name} value "${v}" unreadable, dropped`);
            continue;
          }
          if (t.dateOnly && !times.allDay && start && !start.dateOnly) {
            // A day excluded from a timed series means that day's occurrence: written at the
            // start's time, as RFC 5545 wants the DTSTART type (servers rewrite a DATE anyway).
            const wall = ref.kind === 'floating' && start.utc ? start.fields : wallFields(start, ref);
            const at: VcalTime = { fields: { ...wall, y: t.fields.y, m: t.fields.m, d: t.fields.d }, utc: ref.kind === 'floating' && start.utc, dateOnly: false };
            out.push(timeValue(at, times, p.name));
          } else if (times.allDay || t.dateOnly) {
            out.push(prop(p.name, fmtFields(wallFields(t, ref)).slice(0, 8), [{ name: 'VALUE', value: 'DATE' }]));
          } else if (!t.utc && start && !start.dateOnly && ref.kind === 'floating' && start.utc) {
            out.push(prop(p.name, fmtFields(t.fields, true)));
          } else {
            out.push(timeValue(t, times, p.name));
          }
        }
        break;
      }
      case 'X-RECURRENCE-ID':
      case 'RECURRENCE-ID': {
        const t = parseVcalTime(p.value);
        if (t) out.push(timeValue(t, times, 'RECURRENCE-ID'));
        break;
      }
      default:
        if (DROP.has(p.name)) break;
        if (!isStorableName(p.name)) {
          keep(p, 'is an invalid name in iCalendar'); // RFC 5545 §3.1 (X-BAD/SLASH)
        } else if (p.name.startsWith('X-')) {
          // Keep device extensions (X-EPOCAGENDAENTRYTYPE…) as text.
          out.push(textProp(p.name, text(p)));
        } else {
          keep(p, 'has no iCalendar 2.0 mapping');
        }
    }
  }
  if (categories.length) out.push(prop('CATEGORIES', categories.map((x) => escapeText(x, 'ical2.0')).join(',')));
  if (kind === 'VTODO') {
    if (percent !== undefined) out.push(prop('PERCENT-COMPLETE', percent));
    else if (completed) out.push(prop('PERCENT-COMPLETE', '100'));
  }
  const alarms = alarmComponents(c, kind, times, alarmAnchor, summary, warn);
  return { name: kind, properties: out, components: alarms };
}

/** UNTIL for a vCal end date: UTC unless the event itself is floating. */
function untilValue(f: LocalFields, utc: boolean, start: VcalTime, ref: TimeReference): string {
  if (utc) return fmtFields(f, true);
  const t: VcalTime = { fields: f, utc: false, dateOnly: false };
  if (ref.kind === 'floating') {
    // DTSTART in UTC with a local end date and no zone info: KDE reads the end as UTC.
    return start.utc ? fmtFields(f, true) : fmtFields(f);
  }
  const ms = ref.kind === 'zone' ? localToUtcMs(ref.zone, f) : (toUtcMs(t, ref) ?? fieldsToMs(f));
  return formatLocal(ms, true);
}

/** Converts one parsed VCALENDAR 1.0 to iCalendar 2.0 text. */
export function vcalToIcal(cal: VersitComponent, opts: ToIcalOptions = {}): string {
  const warn = opts.onWarning ?? (() => undefined);
  const items = cal.components.filter((c) => c.name === 'VEVENT' || c.name === 'VTODO');
  for (const c of cal.components) {
    if (c.name !== 'VEVENT' && c.name !== 'VTODO') warn(`component ${c.name} ignored`);
  }
  if (items.length === 0) throw new GatewayError('INVALID_ITEM', 'VCALENDAR holds no VEVENT or VTODO');
  const tz = first(cal, 'TZ')?.value;
  const daylight = cal.properties.filter((p) => p.name === 'DAYLIGHT').map((p) => p.value);
  let refYear = new Date().getUTCFullYear();
  for (const c of items) {
    const t = parseVcalTime(first(c, 'DTSTART')?.value ?? first(c, 'DUE')?.value ?? '');
    if (t) {
      refYear = t.fields.y;
      break;
    }
  }
  const ref = referenceFor(tz, daylight, refYear, opts.defaultTimezone, warn);
  const usedZones = new Set<string>();
  const years: number[] = [];
  const comps = items.map((c) => convertItem(c, ref, opts, usedZones, years, warn));
  const root: VersitComponent = {
    name: 'VCALENDAR',
    properties: [prop('VERSION', '2.0'), prop('PRODID', PRODID)],
    components: [],
  };
  const body = serializeVersit(root, { version: 'ical2.0' }).replace(/END:VCALENDAR\r\n$/, '');
  let tzText = '';
  if (usedZones.size > 0) {
    const y0 = Math.min(...years, refYear);
    const y1 = Math.max(...years, refYear);
    for (const z of usedZones) tzText += buildVtimezone(z, y0 - 1, Math.max(y1 + 1, y0 + 2)) + '\r\n';
  }
  let itemsText = '';
  for (const c of comps) itemsText += serializeVersit(c, { version: 'ical2.0' });
  return `${body}${tzText}${itemsText}END:VCALENDAR\r\n`;
}


