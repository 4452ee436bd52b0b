// vCalendar 1.0 RRULE grammar (D/W/MP/MD/YM/YD, #count, end date, $ markers) <-> RFC 5545
// RRULE. Pure string work; time-zone handling of end dates is delegated to the caller.
import { msToFields, type LocalFields } from './tz.js';
import { fieldsFromMatch } from './vcal-time.js';

export const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

export interface VcalRruleContext {
  /** DTSTART wall-clock fields (UTC fields when DTSTART is UTC). */
  start: LocalFields;
  /** True for all-day events: UNTIL becomes a DATE value. */
  allDay: boolean;
  /**
   * Turns an end instant into an iCalendar UNTIL value. `utc` tells whether `fields` are UTC
   * (the vCal value ended in Z) or wall-clock time of the event.
   */
  until(fields: LocalFields, utc: boolean): string;
  /**
   * `intervals` (vCal 1.0 spec, libsynthesis): `#n` counts intervals, so a list with several
   * entries per interval becomes an UNTIL at the end of the n-th interval. `occurrences`
   * (KDE kcalendarcore, sync*gw): `#n` is COUNT=n.
   */
  countMode?: 'intervals' | 'occurrences';
}

export interface RruleResult {
  rrule?: string; // RFC 5545 value without "RRULE:"
  warnings: string[];
}

const FREQ_RE = /^(D|W|MP|MD|YM|YD|M|Y)(\d+)$/;
const LONG_DAYS = new Set(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']);
const END_DATE_RE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$/;

function weekdayOf(f: LocalFields): number {
  return new Date(Date.UTC(f.y, f.m - 1, f.d)).getUTCDay();
}

function addMonths(f: LocalFields, months: number): LocalFields {
  const total = f.y * 12 + (f.m - 1) + months;
  return { y: Math.floor(total / 12), m: (total % 12) + 1, d: 1, hh: 0, mi: 0, ss: 0 };
}

function minusOneSecond(ms: number): LocalFields {
  return msToFields(ms - 1000);
}

function fieldsMs(f: LocalFields): number {
  return Date.UTC(f.y, f.m - 1, f.d, f.hh, f.mi, f.ss);
}

/** Converts a vCalendar 1.0 RRULE value to an RFC 5545 RRULE value. */
export function vcalRruleToIcal(rule: string, ctx: VcalRruleContext): RruleResult {
  const warnings: string[] = [];
  const text = rule.trim();
  if (/FREQ=/i.test(text)) {
    // Some phones put a 2.0 rule into a 1.0 object; pass it on.
    return { rrule: text.replace(/^RRULE:/i, ''), warnings };
  }
  const tokens = text.split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 0) return { warnings: ['empty RRULE'] };
  const head = FREQ_RE.exec(tokens[0].toUpperCase());
  if (!head) return { warnings: [`unknown RRULE frequency "${tokens[0]}"`] };
  // `M1`/`Y1` (Nokia 9110, Symbian) = by day of month / by month.
  const kind = head[1] === 'M' ? 'MD' : head[1] === 'Y' ? 'YM' : head[1];
  const interval = Number(head[2]) || 1;
  const entries: string[] = [];
  let count: number | undefined = 2; // nothing at all = #2 (libsynthesis)
  let untilValue: string | undefined;
  let i = 1;
  for (; i < tokens.length; i++) {
    let tok = tokens[i].toUpperCase().replace(/\$+$/, ''); // `$` marks an entry; irrelevant here
    if (LONG_DAYS.has(tok)) tok = tok.slice(0, 2);
    if (tok.startsWith('#')) {
      const n = Number(tok.slice(1));
      if (!Number.isInteger(n) || n < 0) return { warnings: [`bad RRULE count "${tok}"`] };
      count = n;
      i++;
      break;
    }
    if (tok.length >= 8 && END_DATE_RE.test(tok)) {
      // An 8+ digit token is an end date; 4-digit tokens are time lists.
      untilValue = tok;
      count = undefined;
      i++;
      break;
    }
    entries.push(tok);
  }
  if (i < tokens.length) warnings.push(`second rule "${tokens.slice(i).join(' ')}" dropped (no single-RRULE equivalent)`);

  const parts: string[] = [];
  let perInterval = 1;
  const timeList = entries.filter((e) => /^\d{4}$/.test(e));
  if (timeList.length > 0 && (kind === 'D' || kind === 'W')) {
    warnings.push(`time list ${timeList.join(' ')} dropped`);
  }
  const items = entries.filter((e) => !(/^\d{4}$/.test(e) && (kind === 'D' || kind === 'W')));
  switch (kind) {
    case 'D':
      parts.push('FREQ=DAILY');
      if (items.length > 0) return { warnings: [...warnings, `unexpected daily entries ${items.join(' ')}`] };
      break;
    case 'W': {
      parts.push('FREQ=WEEKLY');
      const days = items.filter((d) => (WEEKDAYS as readonly string[]).includes(d));
      if (days.length !== items.length) return { warnings: [...warnings, `bad weekly entries ${items.join(' ')}`] };
      if (days.length > 0) {
        parts.push(`BYDAY=${days.join(',')}`);
        perInterval = days.length;
      }
      break;
    }
    case 'MP': {
      parts.push('FREQ=MONTHLY');
      const byday: string[] = [];
      let ord: number | undefined;
      let pendingOrd = false;
      for (const it of items) {
        const m = /^(\d)([+-])$/.exec(it);
        if (m) {
          if (pendingOrd && ord !== undefined) byday.push(`${ord}${WEEKDAYS[weekdayOf(ctx.start)]}`);
          ord = m[2] === '-' ? -Number(m[1]) : Number(m[1]);
          pendingOrd = true;
        } else if ((WEEKDAYS as readonly string[]).includes(it)) {
          const o = ord ?? Math.ceil(ctx.start.d / 7);
          byday.push(`${o}${it}`);
          pendingOrd = false;
        } else {
          return { warnings: [...warnings, `bad monthly-by-position entry "${it}"`] };
        }
      }
      if (pendingOrd && ord !== undefined) byday.push(`${ord}${WEEKDAYS[weekdayOf(ctx.start)]}`);
      if (byday.length === 0) byday.push(`${Math.ceil(ctx.start.d / 7)}${WEEKDAYS[weekdayOf(ctx.start)]}`);
      parts.push(`BYDAY=${byday.join(',')}`);
      perInterval = byday.length;
      break;
    }
    case 'MD': {
      parts.push('FREQ=MONTHLY');
      const days: number[] = [];
      for (const it of items) {
        if (it === 'LD') days.push(-1);
        else {
          const m = /^(\d{1,2})([+-])?$/.exec(it);
          if (!m) return { warnings: [...warnings, `bad monthly-by-day entry "${it}"`] };
          const n = Number(m[1]);
          if (n < 1 || n > 31) return { warnings: [...warnings, `bad monthly-by-day entry "${it}"`] };
          days.push(m[2] === '-' ? -n : n);
        }
      }
      if (days.length > 0) {
        parts.push(`BYMONTHDAY=${days.join(',')}`);
        perInterval = days.length;
      }
      break;
    }
    case 'YM': {
      parts.push('FREQ=YEARLY');
      const months = items.map(Number);
      if (months.some((n) => !Number.isInteger(n) || n < 1 || n > 12)) {
        return { warnings: [...warnings, `bad yearly-by-month entries ${items.join(' ')}`] };
      }
      if (months.length > 0 && !(months.length === 1 && months[0] === ctx.start.m)) {
        parts.push(`BYMONTH=${months.join(',')}`);
      }
      if (months.length > 0) perInterval = months.length;
      break;
    }
    case 'YD': {
      parts.push('FREQ=YEARLY');
      const days = items.map(Number);
      if (days.some((n) => !Number.isInteger(n) || n < 1 || n > 366)) {
        return { warnings: [...warnings, `bad yearly-by-day entries ${items.join(' ')}`] };
      }
      if (days.length > 0) {
        parts.push(`BYYEARDAY=${days.join(',')}`);
        perInterval = days.length;
      }
      break;
    }
  }
  if (interval !== 1) parts.push(`INTERVAL=${interval}`);

  if (untilValue !== undefined) {
    const m = END_DATE_RE.exec(untilValue);
    if (!m) return { warnings: [...warnings, `bad RRULE end date "${untilValue}"`] };
    const utc = m[7] === 'Z';
    let f: LocalFields = fieldsFromMatch(m);
    if (ctx.allDay) {
      parts.push(`UNTIL=${untilValue.slice(0, 8)}`);
    } else {
      // An end date at 00:00:00 (or date only) means "through that day": phones and
      // libsynthesis export the last occurrence's date this way (SyncEvolution vcal10.ics
      // "recurs four times due its end date").
      if (f.hh === 0 && f.mi === 0 && f.ss === 0 && !(ctx.start.hh === 0 && ctx.start.mi === 0 && ctx.start.ss === 0)) {
        f = { ...f, hh: 23, mi: 59, ss: 59 };
      }
      parts.push(`UNTIL=${ctx.until(f, utc)}`);
    }
  } else if (count !== undefined && count > 0) {
    if (perInterval <= 1 || ctx.countMode === 'occurrences') {
      parts.push(`COUNT=${count}`);
    } else {
      // End of the n-th interval, in the event's own wall-clock reference.
      const s = ctx.start;
      let endMs: number;
      const n = count * interval;
      if (kind === 'W') {
        const dow = (weekdayOf(s) + 6) % 7; // Monday-based week
        endMs = Date.UTC(s.y, s.m - 1, s.d - dow + 7 * n);
      } else if (kind === 'MP' || kind === 'MD') {
        endMs = fieldsMs(addMonths(s, n));
      } else {
        endMs = Date.UTC(s.y + n, 0, 1);
      }
      const f = minusOneSecond(endMs);
      parts.push(ctx.allDay ? `UNTIL=${formatDateOnly(f)}` : `UNTIL=${ctx.until(f, false)}`);
    }
  }
  return { rrule: parts.join(';'), warnings };
}

function formatDateOnly(f: LocalFields): string {
  return `${String(f.y).padStart(4, '0')}${String(f.m).padStart(2, '0')}${String(f.d).padStart(2, '0')}`;
}

export interface IcalRruleContext {
  start: LocalFields;
  /** vCal 1.0 end-date token for an RFC 5545 UNTIL value. */
  until(value: string): string;
  /** vCal end-date token for the last occurrence of a COUNT rule; `#n` is used when absent. */
  countEnd?(count: number): string | undefined;
}

/** The RFC 5545 rule as name -> value. */
export function parseRecur(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.replace(/^RRULE:/i, '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).toUpperCase().trim(), part.slice(eq + 1).toUpperCase().trim());
  }
  return out;
}

/**
 * Converts an RFC 5545 RRULE value to vCalendar 1.0, or returns an error reason when 1.0 cannot
 * express it (BYSETPOS, BYWEEKNO, BYHOUR…, yearly by weekday, monthly every weekday).
 */
export function icalRruleToVcal(value: string, ctx: IcalRruleContext): { rule?: string; reason?: string } {
  const r = parseRecur(value);
  const freq = r.get('FREQ');
  const interval = Number(r.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval < 1) return { reason: `bad INTERVAL ${r.get('INTERVAL')}` };
  const allowed = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYYEARDAY', 'WKST']);
  for (const k of r.keys()) if (!allowed.has(k)) return { reason: `${k} has no vCalendar 1.0 equivalent` };
  const byday = r.get('BYDAY')?.split(',').filter(Boolean) ?? [];
  const bymonthday = r.get('BYMONTHDAY')?.split(',').filter(Boolean).map(Number) ?? [];
  const bymonth = r.get('BYMONTH')?.split(',').filter(Boolean).map(Number) ?? [];
  const byyearday = r.get('BYYEARDAY')?.split(',').filter(Boolean).map(Number) ?? [];
  const plainDays = byday.every((d) => /^(SU|MO|TU|WE|TH|FR|SA)$/.test(d));
  let head: string;
  switch (freq) {
    case 'DAILY':
      if (bymonthday.length || bymonth.length || byyearday.length) return { reason: 'daily rule with BY* filters' };
      if (byday.length) {
        // Daily on some weekdays = weekly on those weekdays (only for INTERVAL=1).
        if (interval !== 1 || !plainDays) return { reason: 'daily rule with BYDAY and INTERVAL' };
        head = `W1 ${byday.join(' ')}`;
      } else head = `D${interval}`;
      break;
    case 'WEEKLY':
      if (bymonthday.length || bymonth.length || byyearday.length) return { reason: 'weekly rule with BY* filters' };
      if (!plainDays) return { reason: 'weekly BYDAY with ordinals' };
      head = `W${interval}${byday.length ? ' ' + byday.join(' ') : ''}`;
      break;
    case 'MONTHLY':
      if (bymonth.length || byyearday.length) return { reason: 'monthly rule with BYMONTH/BYYEARDAY' };
      if (byday.length && bymonthday.length) return { reason: 'monthly rule with BYDAY and BYMONTHDAY' };
      if (byday.length) {
        const items: string[] = [];
        let lastOrd = '';
        for (const d of byday) {
          const m = /^([+-]?)(\d)(SU|MO|TU|WE|TH|FR|SA)$/.exec(d);
          if (!m) return { reason: `monthly BYDAY ${d} without ordinal 1-5` };
          const ord = `${m[2]}${m[1] === '-' ? '-' : '+'}`;
          if (ord !== lastOrd) items.push(ord);
          items.push(m[3]);
          lastOrd = ord;
        }
        head = `MP${interval} ${items.join(' ')}`;
      } else {
        const days = bymonthday.length ? bymonthday : [ctx.start.d];
        if (days.some((n) => !Number.isInteger(n) || n === 0 || Math.abs(n) > 31)) return { reason: 'bad BYMONTHDAY' };
        head = `MD${interval} ${days.map((n) => (n < 0 ? `${-n}-` : String(n))).join(' ')}`;
      }
      break;
    case 'YEARLY':
      if (byday.length) return { reason: 'yearly rule by weekday' };
      if (byyearday.length) {
        if (bymonth.length || bymonthday.length) return { reason: 'yearly rule mixing BYYEARDAY with others' };
        if (byyearday.some((n) => n < 1)) return { reason: 'negative BYYEARDAY' };
        head = `YD${interval} ${byyearday.join(' ')}`;
      } else {
        if (bymonthday.length && !(bymonthday.length === 1 && bymonthday[0] === ctx.start.d)) {
          return { reason: 'yearly rule with BYMONTHDAY other than the start day' };
        }
        const months = bymonth.length ? bymonth : [ctx.start.m];
        head = `YM${interval} ${months.join(' ')}`;
      }
      break;
    default:
      return { reason: `FREQ=${freq ?? '(none)'} has no vCalendar 1.0 equivalent` };
  }
  const until = r.get('UNTIL');
  const count = r.get('COUNT');
  let end: string;
  if (until) end = ctx.until(until);
  else if (count) {
    const n = Number(count);
    end = ctx.countEnd?.(n) ?? `#${n}`;
  } else end = '#0';
  return { rule: `${head} ${end}` };
}
