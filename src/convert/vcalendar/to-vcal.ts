// iCalendar 2.0 (parsed by ical.js) -> vCalendar 1.0 text: TZID/UTC/floating times -> UTC or
// device-local (+TZ/DAYLIGHT), VALUE=DATE -> phone all-day form, RRULE 2.0 -> 1.0, VALARM -> xALARM.
import { isUtf8 } from 'node:buffer';
import ICAL from 'ical.js';
import type { VersitComponent, VersitParam, VersitProperty } from '../versit/index.js';
import { DEVICE_NAME_PARAM, deviceName, escapeComponent, serializeVersit, unescapeText } from '../versit/index.js';
import {
  partstatToVcal,
  priorityToVcal,
  roleToVcalExpect,
  statusToVcal,
  transpToVcal,
  type CalKind,
  type PriorityScale,
} from './mappings.js';
import { ADDED_PARAM } from './repairs.js';
import { icalRruleToVcal } from './rrule.js';
import {
  fieldsToMs,
  formatLocal,
  formatOffset,
  isKnownZone,
  localToUtcMs,
  msToFields,
  transitions,
  utcMsToLocalMs,
  zoneOffsetMinutes,
  type LocalFields,
} from './tz.js';

export interface ToVcalOptions {
  /** The device's PRIORITY scale (see mappings.ts); default 3 (phones). */
  priorityScale?: PriorityScale;
  /** Device zone: floating times are read in it; `deviceTime: 'local'` writes in it. */
  defaultTimezone?: string;
  /** Write alarm run times as UTC (`…Z`) whenever the instant is known. */
  absoluteAlarms?: boolean;
  /** 'utc' (default; DevInf `<UTC/>`) or 'local' wall-clock time of defaultTimezone + TZ/DAYLIGHT. */
  deviceTime?: 'utc' | 'local';
  /**
   * All-day output: 'midnight' = T000000 to next day T000000 (libsynthesis default),
   * 'sameday-2359' = T000000 to last day T235900 (Nokia/SE), 'date' = date-only values.
   */
  allDayStyle?: 'midnight' | 'sameday-2359' | 'date';
  onWarning?: (message: string) => void;
}

type ICALComponent = InstanceType<typeof ICAL.Component>;
type ICALProperty = InstanceType<typeof ICAL.Property>;
type ICALTime = InstanceType<typeof ICAL.Time>;
type ICALTimezone = InstanceType<typeof ICAL.Timezone>;

function prop(name: string, value: string, params: VersitParam[] = []): VersitProperty {
  return { name, params, value, rawValue: value };
}

interface Ctx {
  opts: ToVcalOptions;
  warn: (m: string) => void;
  zones: Map<string, ICALTimezone>;
  years: number[];
  localZone?: string; // set when deviceTime is 'local'
}

/** A resolved iCal time: wall fields, and the UTC instant when it is known. */
interface Resolved {
  fields: LocalFields;
  isDate: boolean;
  utcMs?: number;
}

function timeFields(t: ICALTime): LocalFields {
  return { y: t.year, m: t.month, d: t.day, hh: t.hour, mi: t.minute, ss: t.second };
}

function resolveTime(t: ICALTime, tzid: string | undefined, ctx: Ctx): Resolved {
  const fields = timeFields(t);
  if (t.isDate) return { fields, isDate: true };
  const wall = fieldsToMs(fields);
  const zoneName = (t.zone as { tzid?: string } | null | undefined)?.tzid;
  if (zoneName === 'UTC' || t.zone === ICAL.Timezone.utcTimezone) return { fields, isDate: false, utcMs: wall };
  if (tzid) {
    const vtz = ctx.zones.get(tzid);
    if (isKnownZone(tzid)) return { fields, isDate: false, utcMs: localToUtcMs(tzid, wall) };
    if (vtz) {
      const probe = t.clone();
      return { fields, isDate: false, utcMs: wall - vtz.utcOffset(probe) * 1000 };
    }
    // Outlook-style names ("W. Europe Standard Time") without VTIMEZONE.
    ctx.warn(`unknown TZID "${tzid}", time read in the device zone`);
  }
  if (ctx.opts.defaultTimezone) return { fields, isDate: false, utcMs: localToUtcMs(ctx.opts.defaultTimezone, wall) };
  return { fields, isDate: false };
}

function propTime(p: ICALProperty, ctx: Ctx): Resolved | undefined {
  const v = p.getFirstValue();
  if (!(v instanceof ICAL.Time)) return undefined;
  const tz = p.getParameter('tzid');
  return resolveTime(v, typeof tz === 'string' ? tz : undefined, ctx);
}

function fmt(f: LocalFields, z = false): string {
  return formatLocal(fieldsToMs(f), z);
}

/** A date-time value for the device. */
function outTime(r: Resolved, ctx: Ctx, forceUtc = false): string {
  if (r.isDate) return `${fmt(r.fields).slice(0, 8)}T000000`;
  if (r.utcMs === undefined) return fmt(r.fields); // floating, no device zone
  ctx.years.push(new Date(r.utcMs).getUTCFullYear());
  if (ctx.localZone && !forceUtc) return formatLocal(utcMsToLocalMs(ctx.localZone, r.utcMs));
  return formatLocal(r.utcMs, true);
}

/**
 * iCal ATTACH -> vCal 1.0 ATTACH: a URI as `ATTACH;VALUE=URL:`, inline text (FMTTYPE text/*,
 * valid UTF-8: what a phone's text ATTACH became on the way in) as text, other inline data as
 * base64 with its type.
 */
function attachToVcal(p: ICALProperty): VersitProperty | undefined {
  const raw = p.getFirstValue() as unknown;
  const v = typeof raw === 'string' ? raw : raw === null || raw === undefined ? '' : String(raw as { toString(): string });
  if (v.trim() === '') return undefined;
  const fmt = p.getParameter('fmttype');
  const binary = p.type === 'binary' || /^base64$/i.test(String(p.getParameter('encoding') ?? ''));
  if (!binary) return prop('ATTACH', v.trim(), [{ name: 'VALUE', value: 'URL' }]);
  const b64 = v.replace(/\s+/g, '');
  const bytes = Buffer.from(b64, 'base64');
  if (typeof fmt === 'string' && /^text\//i.test(fmt) && isUtf8(bytes)) return prop('ATTACH', bytes.toString('utf8'));
  const params: VersitParam[] = typeof fmt === 'string' ? [{ name: 'TYPE', value: fmt }] : [];
  return { name: 'ATTACH', params, value: b64, rawValue: b64, encoding: 'BASE64' };
}

function textOf(p: ICALProperty): string {
  const v = p.getFirstValue();
  return typeof v === 'string' ? v : v === null ? '' : String(v);
}

function durationMs(d: InstanceType<typeof ICAL.Duration>): number {
  return d.toSeconds() * 1000;
}

function alarmProps(valarm: ICALComponent, anchors: { start?: Resolved; end?: Resolved }, summary: string, ctx: Ctx): VersitProperty[] {
  const action = String(valarm.getFirstPropertyValue('action') ?? 'DISPLAY').toUpperCase();
  const trig = valarm.getFirstProperty('trigger');
  if (!trig) return [];
  const tv = trig.getFirstValue();
  let run: Resolved | undefined;
  if (tv instanceof ICAL.Time) {
    run = resolveTime(tv, undefined, ctx);
  } else if (tv instanceof ICAL.Duration) {
    const related = String(trig.getParameter('related') ?? 'START').toUpperCase();
    const base = related === 'END' ? (anchors.end ?? anchors.start) : (anchors.start ?? anchors.end);
    if (!base) {
      ctx.warn('relative alarm without DTSTART/DUE dropped');
      return [];
    }
    const off = durationMs(tv);
    const wall = fieldsToMs(base.fields) + off;
    run = {
      fields: msToFields(base.isDate ? wall : wall),
      isDate: false,
      utcMs: base.utcMs !== undefined ? base.utcMs + off : undefined,
    };
    if (base.isDate && ctx.opts.defaultTimezone) run.utcMs = localToUtcMs(ctx.opts.defaultTimezone, wall);
  }
  if (!run) return [];
  const time = outTime(run, ctx, ctx.opts.absoluteAlarms === true);
  const dur = valarm.getFirstPropertyValue('duration');
  const rep = valarm.getFirstPropertyValue('repeat');
  const snooze = dur instanceof ICAL.Duration && typeof rep === 'number' && rep > 0 ? dur.toString() : '';
  const repeat = snooze ? String(rep) : '';
  const desc = String(valarm.getFirstPropertyValue('description') ?? summary ?? '');
  switch (action) {
    case 'AUDIO': {
      const att = valarm.getFirstPropertyValue('attach');
      return [prop('AALARM', [time, snooze, repeat, typeof att === 'string' ? att : ''].join(';'))];
    }
    case 'EMAIL': {
      const att = valarm.getFirstPropertyValue('attendee');
      const addr = typeof att === 'string' ? att.replace(/^mailto:/i, '') : '';
      return [prop('MALARM', [time, snooze, repeat, addr, escapeComponent(desc, 'vcal1.0')].join(';'))];
    }
    case 'PROCEDURE':
      return [prop('PALARM', [time, snooze, repeat, escapeComponent(desc, 'vcal1.0')].join(';'))];
    default:
      // Phones ring on AALARM and show DALARM text; send both (merged again on the way back).
      return [
        prop('DALARM', [time, snooze, repeat, escapeComponent(desc, 'vcal1.0')].join(';')),
        prop('AALARM', [time, snooze, repeat, ''].join(';')),
      ];
  }
}

function mailbox(p: ICALProperty): string {
  const addr = textOf(p).replace(/^(mailto|tel):/i, '');
  const cn = p.getParameter('cn');
  return typeof cn === 'string' && cn !== '' ? `${cn} <${addr}>` : addr;
}

function convertItem(comp: ICALComponent, ctx: Ctx): VersitComponent {
  const kind = comp.name.toUpperCase() as CalKind;
  const out: VersitProperty[] = [];
  const dtstartP = comp.getFirstProperty('dtstart');
  const start = dtstartP ? propTime(dtstartP, ctx) : undefined;
  // A DTSTART the gateway added for the server (repairs.ts) is not the device's: not sent back.
  const startAdded = typeof dtstartP?.getParameter(ADDED_PARAM.toLowerCase()) === 'string';
  const endName = kind === 'VEVENT' ? 'dtend' : 'due';
  const endP = comp.getFirstProperty(endName);
  let end = endP ? propTime(endP, ctx) : undefined;
  if (!end && start && kind === 'VEVENT' && !startAdded) {
    const dur = comp.getFirstPropertyValue('duration');
    if (dur instanceof ICAL.Duration) {
      const ms = durationMs(dur);
      end = {
        fields: msToFields(fieldsToMs(start.fields) + ms),
        isDate: start.isDate,
        utcMs: start.utcMs !== undefined ? start.utcMs + ms : undefined,
      };
    } else if (start.isDate) {
      end = { fields: msToFields(fieldsToMs(start.fields) + 86400000), isDate: true };
    }
  }
  const allDay = start?.isDate === true;
  const style = ctx.opts.allDayStyle ?? 'midnight';
  const summary = String(comp.getFirstPropertyValue('summary') ?? '');

  const uid = comp.getFirstPropertyValue('uid');
  if (typeof uid === 'string' && uid !== '') out.push(prop('UID', uid));
  if (start && !startAdded) {
    if (allDay && style === 'date') out.push(prop('DTSTART', fmt(start.fields).slice(0, 8)));
    else out.push(prop('DTSTART', outTime(start, ctx)));
  }
  if (end) {
    let v: string;
    if (end.isDate && kind === 'VEVENT') {
      const lastDay = msToFields(fieldsToMs(end.fields) - 86400000);
      if (style === 'date') v = fmt(lastDay).slice(0, 8);
      else if (style === 'sameday-2359') v = `${fmt(lastDay).slice(0, 8)}T235900`;
      else v = `${fmt(end.fields).slice(0, 8)}T000000`;
    } else if (end.isDate) {
      v = style === 'date' ? fmt(end.fields).slice(0, 8) : `${fmt(end.fields).slice(0, 8)}T000000`;
    } else v = outTime(end, ctx);
    out.push(prop(kind === 'VEVENT' ? 'DTEND' : 'DUE', v));
  }

  const categories: string[] = [];
  let rruleDone = false;
  for (const p of comp.getAllProperties()) {
    const name = p.name.toUpperCase();
    switch (name) {
      case 'UID':
      case 'DTSTART':
      case 'DTEND':
      case 'DUE':
      case 'DTSTAMP':
      case 'DURATION':
        break;
      case 'SUMMARY':
      case 'DESCRIPTION':
      case 'LOCATION':
      case 'COMMENT':
      case 'CONTACT':
      case 'URL':
      case 'RELATED-TO':
        out.push(prop(name, textOf(p)));
        break;
      case 'CLASS':
        out.push(prop('CLASS', textOf(p).toUpperCase()));
        break;
      case 'CATEGORIES':
        for (const v of p.getValues()) if (typeof v === 'string' && v.trim() !== '') categories.push(v.trim());
        break;
      case 'RESOURCES':
        out.push(prop('RESOURCES', p.getValues().map((v) => escapeComponent(String(v), 'vcal1.0')).join(';')));
        break;
      case 'PRIORITY': {
        const n = priorityToVcal(Number(p.getFirstValue()), ctx.opts.priorityScale);
        if (n !== undefined) out.push(prop('PRIORITY', String(n)));
        break;
      }
      case 'STATUS': {
        const s = statusToVcal(textOf(p), kind);
        if (s) out.push(prop('STATUS', s));
        break;
      }
      case 'TRANSP': {
        const t = transpToVcal(textOf(p));
        if (t) out.push(prop('TRANSP', t));
        break;
      }
      case 'SEQUENCE':
        out.push(prop('SEQUENCE', String(p.getFirstValue())));
        break;
      case 'CREATED':
      case 'LAST-MODIFIED':
      case 'COMPLETED': {
        const r = propTime(p, ctx);
        if (r && r.utcMs !== undefined) out.push(prop(name === 'CREATED' ? 'DCREATED' : name, formatLocal(r.utcMs, true)));
        break;
      }
      case 'GEO': {
        const g = p.getFirstValue();
        if (Array.isArray(g) && g.length === 2) out.push(prop('GEO', `${g[0]},${g[1]}`));
        break;
      }
      case 'ORGANIZER':
        out.push(prop('ATTENDEE', mailbox(p), [{ name: 'ROLE', value: 'ORGANIZER' }]));
        break;
      case 'ATTENDEE': {
        const params: VersitParam[] = [{ name: 'ROLE', value: 'ATTENDEE' }];
        const ps = p.getParameter('partstat');
        const st = typeof ps === 'string' ? partstatToVcal(ps) : undefined;
        if (st) params.push({ name: 'STATUS', value: st });
        const rsvp = p.getParameter('rsvp');
        if (typeof rsvp === 'string') params.push({ name: 'RSVP', value: /^true$/i.test(rsvp) ? 'YES' : 'NO' });
        const role = p.getParameter('role');
        const ex = roleToVcalExpect(typeof role === 'string' ? role : undefined);
        if (ex) params.push({ name: 'EXPECT', value: ex });
        out.push(prop('ATTENDEE', mailbox(p), params));
        break;
      }
      case 'RRULE': {
        if (rruleDone) {
          ctx.warn('second RRULE dropped (vCalendar 1.0 holds one)');
          break;
        }
        rruleDone = true;
        if (!start || !dtstartP) break;
        const recur = p.getFirstValue();
        if (!(recur instanceof ICAL.Recur)) break;
        const value = recur.toString();
        const r = icalRruleToVcal(value, {
          start: start.fields,
          until: (u: string) => untilOut(u, start, dtstartP, ctx),
          countEnd: (n: number) => countEnd(recur, dtstartP, n, start, ctx),
        });
        if (r.rule) out.push(prop('RRULE', r.rule));
        else ctx.warn(`RRULE ${value} not sent: ${r.reason}`);
        break;
      }
      case 'EXDATE':
      case 'RDATE': {
        const vals: string[] = [];
        const tz = p.getParameter('tzid');
        for (const v of p.getValues()) {
          if (!(v instanceof ICAL.Time)) continue; // PERIOD values have no 1.0 form
          const r = resolveTime(v, typeof tz === 'string' ? tz : undefined, ctx);
          vals.push(allDay || r.isDate ? `${fmt(r.fields).slice(0, 8)}T000000` : outTime(r, ctx));
        }
        if (vals.length) out.push(prop(name, vals.join(';')));
        break;
      }
      case 'RECURRENCE-ID': {
        const r = propTime(p, ctx);
        if (r) out.push(prop('X-RECURRENCE-ID', allDay || r.isDate ? `${fmt(r.fields).slice(0, 8)}T000000` : outTime(r, ctx)));
        break;
      }
      case 'ATTACH': {
        const a = attachToVcal(p);
        if (a) out.push(a);
        break;
      }
      case 'PERCENT-COMPLETE':
        break; // no 1.0 field (completion is carried by STATUS/COMPLETED)
      default:
        // RFC 5545 §3.1 names are letters, digits and '-' (gammu badline.ics has X-BAD/SLASH).
        if (!/^[A-Z0-9-]+$/.test(name)) ctx.warn(`property "${name}" has an invalid name, dropped`);
        else if (name === 'X-VCAL-ATTENDEE' || name === 'X-VCAL-ORGANIZER') {
          // A name-only attendee the phone sent (no CAL-ADDRESS possible): back as it was.
          const role = name === 'X-VCAL-ORGANIZER' ? 'ORGANIZER' : p.getParameter('x-role');
          out.push(prop('ATTENDEE', unescapeText(textOf(p)), typeof role === 'string' && role ? [{ name: 'ROLE', value: role }] : []));
        } else if (name.startsWith('X-')) {
          // Stored under a valid stand-in name (to-ical.ts): the device gets its own name back.
          const devName = p.getParameter(DEVICE_NAME_PARAM.toLowerCase());
          const own = typeof devName === 'string' ? deviceName(name, [{ name: DEVICE_NAME_PARAM, value: devName }])?.name : undefined;
          out.push(prop(own ?? name, p.type === 'unknown' ? unescapeText(textOf(p)) : textOf(p)));
        }
    }
  }
  if (categories.length) out.push(prop('CATEGORIES', categories.map((c) => escapeComponent(c, 'vcal1.0')).join(';')));
  const anchors = { start, end: kind === 'VTODO' ? end : (end ?? start) };
  for (const va of comp.getAllSubcomponents('valarm')) out.push(...alarmProps(va, anchors, summary, ctx));
  return { name: kind, properties: out, components: [] };
}

function untilOut(u: string, start: Resolved, dtstartP: ICALProperty, ctx: Ctx): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(u.replace(/[-:]/g, ''));
  if (!m) return '#0';
  const f: LocalFields = { y: +m[1], m: +m[2], d: +m[3], hh: +(m[4] ?? 0), mi: +(m[5] ?? 0), ss: +(m[6] ?? 0) };
  if (m[4] === undefined || start.isDate) return `${fmt(f).slice(0, 8)}T000000`;
  if (m[7] === 'Z') return outTime({ fields: f, isDate: false, utcMs: fieldsToMs(f) }, ctx);
  // Floating UNTIL goes with a floating (or zoned) DTSTART: same zone as DTSTART.
  const tz = dtstartP.getParameter('tzid');
  const t = ICAL.Time.fromData({ year: f.y, month: f.m, day: f.d, hour: f.hh, minute: f.mi, second: f.ss });
  return outTime(resolveTime(t, typeof tz === 'string' ? tz : undefined, ctx), ctx);
}

function countEnd(recur: InstanceType<typeof ICAL.Recur>, dtstartP: ICALProperty, n: number, start: Resolved, ctx: Ctx): string | undefined {
  if (n > 5000) return undefined;
  const dt = dtstartP.getFirstValue();
  if (!(dt instanceof ICAL.Time)) return undefined;
  // Iterate in wall-clock time of DTSTART (zone not registered = floating semantics).
  const base = ICAL.Time.fromData({
    year: dt.year,
    month: dt.month,
    day: dt.day,
    hour: dt.hour,
    minute: dt.minute,
    second: dt.second,
    isDate: dt.isDate,
  });
  const it = recur.iterator(base);
  let last: ICALTime | null = null;
  for (let k = 0; k < n; k++) {
    const nx = it.next();
    if (!nx) break;
    last = nx;
  }
  if (!last) return undefined;
  if (start.isDate) return `${fmt(timeFields(last)).slice(0, 8)}T000000`;
  const tz = dtstartP.getParameter('tzid');
  const utc = (dt.zone as { tzid?: string } | null | undefined)?.tzid === 'UTC';
  if (utc) {
    const f = timeFields(last);
    return outTime({ fields: f, isDate: false, utcMs: fieldsToMs(f) }, ctx);
  }
  return outTime(resolveTime(last, typeof tz === 'string' ? tz : undefined, ctx), ctx);
}

/** TZ + DAYLIGHT lines for the device zone over the given years (vCalendar 1.0 §2.1.4.x). */
function zoneProps(zone: string, years: number[]): VersitProperty[] {
  const y0 = Math.min(...years);
  const y1 = Math.max(...years);
  const jan = zoneOffsetMinutes(zone, Date.UTC(y0, 0, 15));
  const jul = zoneOffsetMinutes(zone, Date.UTC(y0, 6, 15));
  const std = Math.min(jan, jul);
  const out: VersitProperty[] = [prop('TZ', formatOffset(std, true))];
  let any = false;
  // Start one year early: in the southern hemisphere the DST period covering January began
  // in the previous October.
  for (let y = y0 - 1; y <= y1 && y <= y0 + 20; y++) {
    const on = transitions(zone, y, y).find((t) => t.to > t.from);
    const off = on ? transitions(zone, y, y + 1).find((t) => t.to < t.from && t.utcMs > on.utcMs) : undefined;
    if (on && off && off.utcMs > Date.UTC(y0, 0, 1)) {
      any = true;
      out.push(
        prop(
          'DAYLIGHT',
          `TRUE;${formatOffset(on.to, true)};${formatLocal(on.utcMs + on.from * 60000)};${formatLocal(off.utcMs + off.from * 60000)};;`,
        ),
      );
    }
  }
  if (!any) out.push(prop('DAYLIGHT', 'FALSE'));
  return out;
}

/** Converts an iCalendar 2.0 VCALENDAR (ical.js component) to vCalendar 1.0 text. */
export function icalToVcal(cal: ICALComponent, opts: ToVcalOptions = {}): string {
  const warn = opts.onWarning ?? (() => undefined);
  const zones = new Map<string, ICALTimezone>();
  for (const vtz of cal.getAllSubcomponents('vtimezone')) {
    const id = vtz.getFirstPropertyValue('tzid');
    if (typeof id === 'string') zones.set(id, new ICAL.Timezone(vtz));
  }
  const localZone = opts.deviceTime === 'local' && opts.defaultTimezone && isKnownZone(opts.defaultTimezone) ? opts.defaultTimezone : undefined;
  const ctx: Ctx = { opts, warn, zones, years: [], localZone };
  const items: VersitComponent[] = [];
  for (const c of cal.getAllSubcomponents()) {
    const n = c.name.toUpperCase();
    if (n === 'VEVENT' || n === 'VTODO') items.push(convertItem(c, ctx));
    else if (n !== 'VTIMEZONE') warn(`component ${n} has no vCalendar 1.0 form, dropped`);
  }
  const props: VersitProperty[] = [prop('VERSION', '1.0')];
  if (localZone && ctx.years.length) props.push(...zoneProps(localZone, ctx.years));
  return serializeVersit({ name: 'VCALENDAR', properties: props, components: items }, { version: 'vcal1.0' });
}
