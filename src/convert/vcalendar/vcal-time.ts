// vCalendar 1.0 date/time values and the calendar-level time reference (TZ/DAYLIGHT, device
// default zone, or floating): parsing, UTC resolution, and all-day detection.
import type { LocalFields, VcalDaylight, VcalZoneInfo } from './tz.js';
import { fieldsToMs, localToUtcMs, matchZone, utcMsToLocalMs, msToFields } from './tz.js';

export interface VcalTime {
  fields: LocalFields;
  utc: boolean;
  dateOnly: boolean;
}

// 20240101, 20240101T0900, 20240101T090000, 20240101T090000Z, 2024-01-01T09:00:00Z, and
// T240000 (end of day) as some phones write all-day ends.
const VALUE_RE = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?\s*(Z)?)?$/i;

/** Date/time fields from a match whose groups 1-6 are year, month, day, hour, minute, second. */
export function fieldsFromMatch(m: RegExpExecArray): LocalFields {
  return { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]), hh: Number(m[4] ?? 0), mi: Number(m[5] ?? 0), ss: Number(m[6] ?? 0) };
}

export function parseVcalTime(value: string): VcalTime | undefined {
  const m = VALUE_RE.exec(value.trim());
  if (!m) return undefined;
  const f = fieldsFromMatch(m);
  if (f.m < 1 || f.m > 12 || f.d < 1 || f.d > 31 || f.hh > 24 || f.mi > 59 || f.ss > 60) return undefined;
  if (f.hh === 24) {
    // T240000 = midnight at the end of that day.
    if (f.mi !== 0 || f.ss !== 0) return undefined;
    const next = msToFields(Date.UTC(f.y, f.m - 1, f.d + 1));
    return { fields: next, utc: m[7] !== undefined, dateOnly: false };
  }
  if (f.ss === 60) f.ss = 59;
  return { fields: f, utc: m[7] !== undefined, dateOnly: m[4] === undefined };
}

/** How local (non-Z) vCal times are anchored. */
export type TimeReference =
  | { kind: 'zone'; zone: string } // IANA zone (matched from TZ/DAYLIGHT, or the device default)
  | { kind: 'rules'; info: VcalZoneInfo } // TZ/DAYLIGHT without a matching IANA zone: exact offsets
  | { kind: 'floating' };

/** Parses `TZ:+01`, `TZ:+01:00`, `TZ:-0500`, `TZ:-07` into minutes; undefined if malformed. */
export function parseTzOffset(v: string): number | undefined {
  const m = /^([+-])?(\d{1,2})(?::?(\d{2}))?$/.exec(v.trim());
  if (!m) return undefined;
  const h = Number(m[2]);
  const mi = Number(m[3] ?? 0);
  if (h > 14 || mi > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + mi);
}

/**
 * Parses DAYLIGHT values (`TRUE;+02;20240331T010000Z;20241027T010000Z;CET;CEST`). Start and end
 * given as local time are read as standard time (start) and daylight time (end).
 */
export function parseDaylight(v: string, stdOffset: number): VcalDaylight | undefined {
  const f = v.split(';');
  if ((f[0] ?? '').trim().toUpperCase() !== 'TRUE') return undefined;
  const offset = parseTzOffset(f[1] ?? '');
  const s = parseVcalTime(f[2] ?? '');
  const e = parseVcalTime(f[3] ?? '');
  if (offset === undefined || !s || !e) return undefined;
  const startUtcMs = fieldsToMs(s.fields) - (s.utc ? 0 : stdOffset * 60000);
  const endUtcMs = fieldsToMs(e.fields) - (e.utc ? 0 : offset * 60000);
  return { offset, startUtcMs, endUtcMs };
}

export function referenceFor(
  tz: string | undefined,
  daylight: string[],
  refYear: number,
  defaultZone: string | undefined,
  warn: (m: string) => void,
): TimeReference {
  if (tz === undefined) {
    return defaultZone ? { kind: 'zone', zone: defaultZone } : { kind: 'floating' };
  }
  const std = parseTzOffset(tz);
  if (std === undefined) {
    warn(`malformed TZ "${tz}" ignored`);
    return defaultZone ? { kind: 'zone', zone: defaultZone } : { kind: 'floating' };
  }
  const dls: VcalDaylight[] = [];
  for (const d of daylight) {
    const p = parseDaylight(d, std);
    if (p) dls.push(p);
    else if (!/^\s*FALSE/i.test(d)) warn(`malformed DAYLIGHT "${d}" ignored`);
  }
  const info: VcalZoneInfo = { stdOffset: std, daylight: dls };
  const zone = matchZone(info, refYear, defaultZone);
  if (zone) return { kind: 'zone', zone };
  return { kind: 'rules', info };
}

/** UTC instant of a vCal time; undefined for floating local times. */
export function toUtcMs(t: VcalTime, ref: TimeReference): number | undefined {
  const wall = fieldsToMs(t.fields);
  if (t.utc) return wall;
  switch (ref.kind) {
    case 'zone':
      return localToUtcMs(ref.zone, wall);
    case 'rules': {
      for (const d of ref.info.daylight) {
        const asDst = wall - d.offset * 60000;
        if (asDst >= d.startUtcMs && asDst < d.endUtcMs) return asDst;
      }
      return wall - ref.info.stdOffset * 60000;
    }
    case 'floating':
      return undefined;
  }
}

/** Wall-clock fields of a time in the reference (UTC times converted when a zone is known). */
export function wallFields(t: VcalTime, ref: TimeReference): LocalFields {
  if (!t.utc) return t.fields;
  if (ref.kind === 'zone') return msToFields(utcMsToLocalMs(ref.zone, fieldsToMs(t.fields)));
  if (ref.kind === 'rules') {
    const utc = fieldsToMs(t.fields);
    for (const d of ref.info.daylight) {
      if (utc >= d.startUtcMs && utc < d.endUtcMs) return msToFields(utc + d.offset * 60000);
    }
    return msToFields(utc + ref.info.stdOffset * 60000);
  }
  return t.fields;
}

function isMidnight(f: LocalFields): boolean {
  return f.hh === 0 && f.mi === 0 && f.ss === 0;
}

function dayNumber(f: LocalFields): number {
  return Math.round(Date.UTC(f.y, f.m - 1, f.d) / 86400000);
}

/** An all-day span: first day and exclusive end day (days since the epoch). */
export interface AllDaySpan {
  startDay: number;
  endDay: number;
}

function spanOf(s: LocalFields, e: LocalFields | undefined): AllDaySpan | undefined {
  if (!isMidnight(s)) return undefined;
  if (!e) return undefined;
  const sd = dayNumber(s);
  const ed = dayNumber(e);
  if (isMidnight(e) && ed > sd) return { startDay: sd, endDay: ed };
  // 23:59 / 23:59:59 on the same or a later day (Nokia, Sony Ericsson, Symbian).
  if (e.hh === 23 && e.mi === 59 && ed >= sd) return { startDay: sd, endDay: ed + 1 };
  return undefined;
}

/**
 * All-day detection (libsynthesis `AlldayCount` plus date-only values): date-only start; start
 * at 00:00 and end at 00:00 of a later day or at 23:59(:59). UTC values are tested both as UTC
 * (Outlook writes T000000Z-T000000Z) and as wall-clock time of the reference zone.
 */
export function detectAllDay(start: VcalTime, end: VcalTime | undefined, ref: TimeReference): AllDaySpan | undefined {
  if (start.dateOnly) {
    const sd = dayNumber(start.fields);
    if (!end) return { startDay: sd, endDay: sd + 1 };
    const ed = dayNumber(end.fields);
    if (end.dateOnly || isMidnight(end.fields)) {
      // Date-only ends are inclusive; a midnight end is exclusive.
      return { startDay: sd, endDay: Math.max(sd + 1, end.dateOnly ? ed + 1 : ed) };
    }
    return { startDay: sd, endDay: Math.max(sd + 1, ed + 1) };
  }
  if (!end || end.dateOnly) return undefined;
  if (start.utc !== end.utc) return undefined;
  const direct = spanOf(start.fields, end.fields);
  if (direct) return direct;
  if (start.utc && ref.kind !== 'floating') return spanOf(wallFields(start, ref), wallFields(end, ref));
  return undefined;
}

export function dayToDate(day: number): string {
  const f = msToFields(day * 86400000);
  return `${String(f.y).padStart(4, '0')}${String(f.m).padStart(2, '0')}${String(f.d).padStart(2, '0')}`;
}

export function fmtFields(f: LocalFields, z = false): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(f.y, 4)}${p(f.m)}${p(f.d)}T${p(f.hh)}${p(f.mi)}${p(f.ss)}${z ? 'Z' : ''}`;
}
