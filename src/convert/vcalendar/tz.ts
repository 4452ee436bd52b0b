// Time-zone arithmetic on top of Node's Intl (IANA data without an extra package): offsets,
// local<->UTC, DST transitions, VTIMEZONE text for a zone, and picking an IANA zone that
// matches a vCalendar 1.0 TZ/DAYLIGHT description.

export interface LocalFields {
  y: number;
  m: number; // 1-12
  d: number;
  hh: number;
  mi: number;
  ss: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const validZones = new Map<string, boolean>();

/** True when Intl knows the IANA zone name. */
export function isKnownZone(zone: string): boolean {
  let ok = validZones.get(zone);
  if (ok === undefined) {
    try {
      formatter(zone);
      ok = true;
    } catch {
      ok = false;
    }
    validZones.set(zone, ok);
  }
  return ok;
}

/** Offset of `zone` from UTC in minutes at the UTC instant `utcMs` (east positive). */
export function zoneOffsetMinutes(zone: string, utcMs: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  // Whole seconds only: Intl drops milliseconds.
  const t = Math.floor(utcMs / 1000) * 1000;
  const parts = formatter(zone).formatToParts(new Date(t));
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) y = 1 - y;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  return Math.round((asUtc - t) / 60000);
}

export function fieldsToMs(f: LocalFields): number {
  return Date.UTC(f.y, f.m - 1, f.d, f.hh, f.mi, f.ss);
}

export function msToFields(ms: number): LocalFields {
  const dt = new Date(ms);
  return {
    y: dt.getUTCFullYear(),
    m: dt.getUTCMonth() + 1,
    d: dt.getUTCDate(),
    hh: dt.getUTCHours(),
    mi: dt.getUTCMinutes(),
    ss: dt.getUTCSeconds(),
  };
}

/**
 * UTC instant of a wall-clock time in `zone`. Times in a DST gap are shifted forward and
 * ambiguous times take the first (daylight) occurrence, as RFC 5545 §3.3.5 asks.
 */
export function localToUtcMs(zone: string, local: LocalFields | number): number {
  const wall = typeof local === 'number' ? local : fieldsToMs(local);
  const o1 = zoneOffsetMinutes(zone, wall - 0);
  let guess = wall - o1 * 60000;
  const o2 = zoneOffsetMinutes(zone, guess);
  if (o2 !== o1) {
    guess = wall - o2 * 60000;
    const o3 = zoneOffsetMinutes(zone, guess);
    if (o3 !== o2) {
      // In a gap: use the offset before the transition (moves the time forward).
      guess = wall - Math.min(o1, o2) * 60000;
    }
  }
  // Ambiguous (fall back): prefer the earlier instant if it maps to the same wall time.
  const earlier = guess - 3600000;
  if (utcMsToLocalMs(zone, earlier) === wall) return earlier;
  return guess;
}

/** Wall-clock time (as a UTC-based ms number) in `zone` of the instant `utcMs`. */
export function utcMsToLocalMs(zone: string, utcMs: number): number {
  return utcMs + zoneOffsetMinutes(zone, utcMs) * 60000;
}

export interface Transition {
  utcMs: number;
  from: number; // offset minutes before
  to: number; // offset minutes after
}

const transitionCache = new Map<string, Transition[]>();

/** DST/offset transitions of `zone` in the calendar years [fromYear, toYear]. */
export function transitions(zone: string, fromYear: number, toYear: number): Transition[] {
  const key = `${zone}|${fromYear}|${toYear}`;
  const hit = transitionCache.get(key);
  if (hit) return hit;
  const out: Transition[] = [];
  const start = Date.UTC(fromYear, 0, 1);
  const end = Date.UTC(toYear + 1, 0, 1);
  const step = 7 * 86400000;
  let t = start;
  let off = zoneOffsetMinutes(zone, t);
  while (t < end) {
    const next = Math.min(t + step, end);
    const offNext = zoneOffsetMinutes(zone, next);
    if (offNext !== off) {
      // Binary search to the minute.
      let lo = t;
      let hi = next;
      while (hi - lo > 60000) {
        const mid = Math.floor((lo + hi) / 120000) * 60000;
        if (mid <= lo || mid >= hi) break;
        if (zoneOffsetMinutes(zone, mid) === off) lo = mid;
        else hi = mid;
      }
      out.push({ utcMs: hi, from: off, to: offNext });
    }
    t = next;
    off = offNext;
  }
  if (transitionCache.size > 500) transitionCache.clear();
  transitionCache.set(key, out);
  return out;
}

export function formatOffset(min: number, withColon = false, secondsOk = false): string {
  const sign = min < 0 ? '-' : '+';
  const a = Math.abs(min);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  void secondsOk;
  return withColon ? `${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
}

export function formatLocal(ms: number, withZ = false): string {
  const f = msToFields(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(f.y, 4)}${p(f.m)}${p(f.d)}T${p(f.hh)}${p(f.mi)}${p(f.ss)}${withZ ? 'Z' : ''}`;
}

export function formatDate(ms: number): string {
  return formatLocal(ms).slice(0, 8);
}

const DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

interface RulePattern {
  month: number;
  weekday: number;
  ordinal: number; // 1..4 or -1 (last)
  timeMs: number; // wall time of day in the 'from' offset
  from: number;
  to: number;
}

function patternOf(tr: Transition): { wallMs: number; pat: RulePattern } {
  const wallMs = tr.utcMs + tr.from * 60000;
  const f = new Date(wallMs);
  const d = f.getUTCDate();
  const month = f.getUTCMonth() + 1;
  const dim = new Date(Date.UTC(f.getUTCFullYear(), month, 0)).getUTCDate();
  const ordinal = d + 7 > dim ? -1 : Math.ceil(d / 7);
  return {
    wallMs,
    pat: {
      month,
      weekday: f.getUTCDay(),
      ordinal,
      timeMs: wallMs % 86400000,
      from: tr.from,
      to: tr.to,
    },
  };
}

function samePattern(a: RulePattern, b: RulePattern): boolean {
  return (
    a.month === b.month &&
    a.weekday === b.weekday &&
    a.ordinal === b.ordinal &&
    a.timeMs === b.timeMs &&
    a.from === b.from &&
    a.to === b.to
  );
}

/**
 * A VTIMEZONE (RFC 5545 §3.6.5) for an IANA zone covering the years [fromYear, toYear], built
 * from Intl. Regular yearly transitions become one STANDARD/DAYLIGHT with an RRULE.
 */
export function buildVtimezone(zone: string, fromYear: number, toYear: number): string {
  const trs = transitions(zone, fromYear, toYear);
  const lines: string[] = ['BEGIN:VTIMEZONE', `TZID:${zone}`];
  if (trs.length === 0) {
    const off = zoneOffsetMinutes(zone, Date.UTC(fromYear, 0, 1));
    lines.push(
      'BEGIN:STANDARD',
      `DTSTART:${fromYear}0101T000000`,
      `TZOFFSETFROM:${formatOffset(off)}`,
      `TZOFFSETTO:${formatOffset(off)}`,
      'END:STANDARD',
    );
  } else {
    // Group by kind (daylight = offset grows), then check whether each kind follows one rule.
    const groups = new Map<string, Transition[]>();
    for (const tr of trs) {
      const kind = tr.to > tr.from ? 'DAYLIGHT' : 'STANDARD';
      const g = groups.get(kind) ?? [];
      g.push(tr);
      groups.set(kind, g);
    }
    for (const [kind, list] of groups) {
      const pats = list.map(patternOf);
      const first = pats[0];
      const regular = pats.every((p) => samePattern(p.pat, first.pat)) && list.length >= 2;
      if (regular) {
        const p = first.pat;
        lines.push(
          `BEGIN:${kind}`,
          `DTSTART:${formatLocal(first.wallMs)}`,
          `TZOFFSETFROM:${formatOffset(p.from)}`,
          `TZOFFSETTO:${formatOffset(p.to)}`,
          `RRULE:FREQ=YEARLY;BYMONTH=${p.month};BYDAY=${p.ordinal}${DAYS[p.weekday]}`,
          `END:${kind}`,
        );
      } else {
        for (const p of pats) {
          lines.push(
            `BEGIN:${kind}`,
            `DTSTART:${formatLocal(p.wallMs)}`,
            `TZOFFSETFROM:${formatOffset(p.pat.from)}`,
            `TZOFFSETTO:${formatOffset(p.pat.to)}`,
            `END:${kind}`,
          );
        }
      }
    }
  }
  lines.push('END:VTIMEZONE');
  return lines.join('\r\n');
}

/** One DAYLIGHT period of a vCalendar 1.0 calendar, all instants in UTC. */
export interface VcalDaylight {
  offset: number; // minutes, the DST offset
  startUtcMs: number;
  endUtcMs: number;
}

export interface VcalZoneInfo {
  stdOffset: number; // minutes
  daylight: VcalDaylight[];
}

// Zones tried first, so that e.g. +01:00 with EU rules becomes Europe/Berlin rather than
// Africa/Ceuta. The configured device zone always wins when it fits.
const PREFERRED = [
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
  'America/Phoenix',
  'America/Sao_Paulo',
  'Europe/Helsinki',
  'Europe/Moscow',
  'Asia/Tokyo',
  'Asia/Shanghai',
  'Asia/Kolkata',
  'Australia/Sydney',
  'Pacific/Auckland',
  'UTC',
];

let allZones: string[] | undefined;

function zoneList(): string[] {
  if (!allZones) {
    const supported = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
    const list = supported ? supported('timeZone') : [];
    allZones = [...PREFERRED, ...list.filter((z) => !PREFERRED.includes(z))];
  }
  return allZones;
}

const matchCache = new Map<string, string | null>();

// DAYLIGHT start/end values from phones are often given in local time or off by a day
// (Symbian test data); accept transitions within this window.
const TRANSITION_SLACK_MS = 36 * 3600000;
const MAX_DAYLIGHT_PERIOD_MS = 370 * 86400000;

function zoneFits(zone: string, info: VcalZoneInfo, refYear: number): boolean {
  if (info.daylight.length === 0) {
    // No DST: offset must be the standard one all year round.
    const jan = zoneOffsetMinutes(zone, Date.UTC(refYear, 0, 15));
    const jul = zoneOffsetMinutes(zone, Date.UTC(refYear, 6, 15));
    return jan === info.stdOffset && jul === info.stdOffset;
  }
  for (const dl of info.daylight) {
    const mid = (dl.startUtcMs + dl.endUtcMs) / 2;
    if (zoneOffsetMinutes(zone, mid) !== dl.offset) return false;
    if (zoneOffsetMinutes(zone, dl.startUtcMs - 3 * 86400000) !== info.stdOffset) return false;
    if (zoneOffsetMinutes(zone, dl.endUtcMs + 3 * 86400000) !== info.stdOffset) return false;
    const y1 = new Date(dl.startUtcMs).getUTCFullYear();
    const y2 = new Date(dl.endUtcMs).getUTCFullYear();
    const trs = transitions(zone, Math.min(y1, y2), Math.max(y1, y2));
    const near = (t: number): boolean => trs.some((tr) => Math.abs(tr.utcMs - t) <= TRANSITION_SLACK_MS);
    if (!near(dl.startUtcMs) || !near(dl.endUtcMs)) return false;
  }
  return true;
}

/**
 * The IANA zone matching a vCalendar TZ/DAYLIGHT description, or undefined. `preferred` (the
 * device's configured zone) is tried first.
 */
export function matchZone(info: VcalZoneInfo, refYear: number, preferred?: string): string | undefined {
  const key = `${info.stdOffset}|${info.daylight.map((d) => `${d.offset},${d.startUtcMs},${d.endUtcMs}`).join('/')}|${refYear}|${preferred ?? ''}`;
  const hit = matchCache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let found: string | undefined;
  if (info.daylight.length === 0) {
    // TZ without DAYLIGHT: many phones omit DAYLIGHT even in DST zones, so only the device's
    // configured zone is trusted (same standard offset); otherwise the caller uses the fixed offset.
    if (preferred && isKnownZone(preferred)) {
      const jan = zoneOffsetMinutes(preferred, Date.UTC(refYear, 0, 15));
      const jul = zoneOffsetMinutes(preferred, Date.UTC(refYear, 6, 15));
      if (Math.min(jan, jul) === info.stdOffset) found = preferred;
    }
    matchCache.set(key, found ?? null);
    return found;
  }
  // A daylight period longer than a year is no DST rule (Symbian writes 1899..2101 for "always"):
  // no zone can match it, and checking 200 years of transitions per zone costs seconds.
  if (info.daylight.some((d) => Math.abs(d.endUtcMs - d.startUtcMs) > MAX_DAYLIGHT_PERIOD_MS)) {
    matchCache.set(key, null);
    return undefined;
  }
  const candidates = preferred && isKnownZone(preferred) ? [preferred, ...zoneList()] : zoneList();
  for (const z of candidates) {
    if (!isKnownZone(z)) continue;
    if (zoneFits(z, info, refYear)) {
      found = z;
      break;
    }
  }
  if (matchCache.size > 1000) matchCache.clear();
  matchCache.set(key, found ?? null);
  return found;
}
