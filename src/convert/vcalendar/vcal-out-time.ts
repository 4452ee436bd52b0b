// Times for vCalendar 1.0 output: an iCal time resolved to its wall fields and UTC instant,
// written as UTC or device-local wall time; RRULE ends (UNTIL, COUNT -> last date); the TZ and
// DAYLIGHT lines of the device zone. Used by to-vcal.ts.
import ICAL from 'ical.js';
import type { VersitParam, VersitProperty } from '../versit/index.js';
import type { PriorityScale } from './mappings.js';
import {
  fieldsToMs,
  formatLocal,
  formatOffset,
  isKnownZone,
  localToUtcMs,
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

export type ICALComponent = InstanceType<typeof ICAL.Component>;
export type ICALProperty = InstanceType<typeof ICAL.Property>;
export type ICALTime = InstanceType<typeof ICAL.Time>;
export type ICALTimezone = InstanceType<typeof ICAL.Timezone>;

export function prop(name: string, value: string, params: VersitParam[] = []): VersitProperty {
  return { name, params, value, rawValue: value };
}

export interface Ctx {
  opts: ToVcalOptions;
  warn: (m: string) => void;
  zones: Map<string, ICALTimezone>;
  years: number[];
  localZone?: string; // set when deviceTime is 'local'
}

/** A resolved iCal time: wall fields, and the UTC instant when it is known. */
export interface Resolved {
  fields: LocalFields;
  isDate: boolean;
  utcMs?: number;
}

function timeFields(t: ICALTime): LocalFields {
  return { y: t.year, m: t.month, d: t.day, hh: t.hour, mi: t.minute, ss: t.second };
}

export function resolveTime(t: ICALTime, tzid: string | undefined, ctx: Ctx): Resolved {
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

export function propTime(p: ICALProperty, ctx: Ctx): Resolved | undefined {
  const v = p.getFirstValue();
  if (!(v instanceof ICAL.Time)) return undefined;
  const tz = p.getParameter('tzid');
  return resolveTime(v, typeof tz === 'string' ? tz : undefined, ctx);
}

export function fmt(f: LocalFields, z = false): string {
  return formatLocal(fieldsToMs(f), z);
}

/** A date-time value for the device. */
export function outTime(r: Resolved, ctx: Ctx, forceUtc = false): string {
  if (r.isDate) return `${fmt(r.fields).slice(0, 8)}T000000`;
  if (r.utcMs === undefined) return fmt(r.fields); // floating, no device zone
  ctx.years.push(new Date(r.utcMs).getUTCFullYear());
  if (ctx.localZone && !forceUtc) return formatLocal(utcMsToLocalMs(ctx.localZone, r.utcMs));
  return formatLocal(r.utcMs, true);
}

export function untilOut(u: string, start: Resolved, dtstartP: ICALProperty, ctx: Ctx): string {
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

export function countEnd(recur: InstanceType<typeof ICAL.Recur>, dtstartP: ICALProperty, n: number, start: Resolved, ctx: Ctx): string | undefined {
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
  const tzName = typeof tz === 'string' ? tz : undefined;
  const zone = tzName ? (isKnownZone(tzName) ? tzName : undefined) : ctx.opts.defaultTimezone;
  return outTime(laterReading(resolveTime(last, tzName, ctx), zone), ctx);
}

/**
 * A last instance in the hour repeated at the end of DST: RFC 5545 reads that wall time as its
 * first occurrence, ical.js (and so clients built on it) as the second. The end is written at the
 * later instant so that the instance counts under either reading; vCalendar 1.0 has no rule finer
 * than daily, so no further instance can fall in between.
 */
function laterReading(r: Resolved, zone: string | undefined): Resolved {
  if (!zone || r.utcMs === undefined) return r;
  const wall = fieldsToMs(r.fields);
  for (const shift of [3_600_000, 1_800_000]) {
    if (utcMsToLocalMs(zone, r.utcMs + shift) === wall) return { ...r, utcMs: r.utcMs + shift };
  }
  return r;
}

/** TZ + DAYLIGHT lines for the device zone over the given years (vCalendar 1.0 §2.1.4.x). */
export function zoneProps(zone: string, years: number[]): VersitProperty[] {
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
