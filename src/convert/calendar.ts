// Calendar item conversion for the gateway: vCalendar 1.0 (phones) <-> iCalendar 2.0 (CalDAV),
// slow-sync fingerprints, and splitting mixed event/task payloads. Pure: no I/O.
import ICAL from 'ical.js';
import { GatewayError } from '../errors.js';
import type { VersitComponent } from './versit/index.js';
import { parseVersit, serializeVersit, unescapeText } from './versit/index.js';
import { repairOverrides } from './calendar-overrides.js';
import { repairTimezones } from './calendar-timezones.js';
import { repairValues } from './calendar-values.js';
import { icalToVcal, localToUtcMs, vcalToIcal, type PriorityScale } from './vcalendar/index.js';

export interface CalendarConvertOptions {
  /** IANA zone of the device: floating phone times are read (and local output written) in it. */
  defaultTimezone?: string;
  /** Write vCalendar alarm run times as UTC whenever the instant is known. */
  absoluteAlarms?: boolean;
  /** vCalendar output times: 'utc' (default, DevInf <UTC/>) or 'local' in defaultTimezone + TZ/DAYLIGHT. */
  deviceTime?: 'utc' | 'local';
  /** vCalendar all-day output form (see ToVcalOptions). */
  allDayStyle?: 'midnight' | 'sameday-2359' | 'date';
  /** Reading `#n` in multi-entry vCal rules: 'intervals' (spec, default) or 'occurrences' (KDE). */
  countMode?: 'intervals' | 'occurrences';
  /** DTSTAMP for items without LAST-MODIFIED/DCREATED (default: now). */
  now?: Date;
  /** vCalendar items without UID: content-derived UID (default) or none (the caller sets one). */
  uidFromContent?: boolean;
  /** Charset of unlabelled 8-bit device data (device profile `charset`). */
  defaultCharset?: string;
  /** The device's vCalendar PRIORITY scale: 3 (phones, default), 5 (Palm) or 9 (Psion, desktop). */
  priorityScale?: PriorityScale;
  onWarning?: (message: string) => void;
}

export type CalendarFormat = 'vcal10' | 'ical20';

function toText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
}

function parseStrict(input: string | Uint8Array, warn: (m: string) => void, defaultCharset?: string): VersitComponent[] {
  const roots = parseVersit(input, {
    ...(defaultCharset !== undefined ? { defaultCharset } : {}),
    onWarning: (m) => {
      // A component closed by its parent's END is a truncated object (Symbian Invalid/2.vcs).
      if (/unterminated|never ended/i.test(m)) throw new GatewayError('INVALID_ITEM', `truncated calendar object: ${m}`);
      warn(m);
    },
  });
  const cals = roots.filter((r) => r.name === 'VCALENDAR');
  if (cals.length === 0) throw new GatewayError('INVALID_ITEM', `no VCALENDAR found (got ${roots.map((r) => r.name).join(', ') || 'nothing'})`);
  return cals;
}

/** 'vcal10' or 'ical20' from VERSION, or from 2.0-only syntax when VERSION is missing. */
export function detectCalendarFormat(cal: VersitComponent): CalendarFormat {
  const v = cal.properties.find((p) => p.name === 'VERSION')?.value.trim();
  if (v === '1.0') return 'vcal10';
  if (v === '2.0') return 'ical20';
  const has2 = (c: VersitComponent): boolean =>
    c.name === 'VTIMEZONE' ||
    c.name === 'VALARM' ||
    c.properties.some((p) => p.params.some((x) => x.name === 'TZID') || (p.name === 'RRULE' && /FREQ=/i.test(p.value))) ||
    c.components.some(has2);
  return has2(cal) ? 'ical20' : 'vcal10';
}

// Tolerated 2.0 sloppiness seen in the corpus (gammu): lower-case RRULE enums (RFC 5545 says
// case-insensitive, ical.js does not) and date-only DTSTART/DUE without VALUE=DATE.
function tolerate(text: string): string {
  // Unfolded first: a fold right after 8 digits (`DTSTART;TZID=…:20101212` CRLF ` T100000`) is not a date.
  return text
    .replace(/\r?\n[ \t]/g, '')
    .replace(/^(RRULE|EXRULE)([;:][^\r\n]*)$/gim, (_m, n: string, rest: string) => n + rest.toUpperCase())
    .replace(
      /^(DTSTART|DTEND|DUE|RECURRENCE-ID|EXDATE|RDATE)((?:;[^:\r\n]*)?):(\d{8}(?:,\d{8})*)(\r?)$/gim,
      (m, n: string, params: string, v: string, cr: string) => (/VALUE=/i.test(params) ? m : `${n}${params};VALUE=DATE:${v}${cr}`),
    );
}

function parseIcal(input: string): InstanceType<typeof ICAL.Component> {
  const text = tolerate(input);
  try {
    const jcal: unknown = ICAL.parse(text);
    // Several top-level objects parse to an array of jCal arrays; take the first VCALENDAR.
    const list = Array.isArray(jcal) && Array.isArray(jcal[0]) ? (jcal as unknown[]) : [jcal];
    const comps = list.map((j) => new ICAL.Component(j as unknown[]));
    const cal = comps.find((c) => c.name === 'vcalendar');
    if (!cal) throw new GatewayError('INVALID_ITEM', 'no VCALENDAR found');
    return cal;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('INVALID_ITEM', `iCalendar parse error: ${(err as Error).message}`, { cause: err });
  }
}

/** The VCALENDAR objects of `input` as separate iCalendar texts (one per root object). */
function icalTexts(input: string | Uint8Array, opts: CalendarConvertOptions): string[] {
  const warn = opts.onWarning ?? (() => undefined);
  const cals = parseStrict(input, warn);
  const out: string[] = [];
  const text = toText(input);
  for (const cal of cals) {
    if (detectCalendarFormat(cal) === 'vcal10') {
      out.push(vcalToIcal(cal, { defaultTimezone: opts.defaultTimezone, countMode: opts.countMode, now: opts.now, uidFromContent: opts.uidFromContent, priorityScale: opts.priorityScale, onWarning: warn }));
    } else {
      out.push(text);
    }
  }
  return out;
}

/**
 * Converts calendar data to vCalendar 1.0 or iCalendar 2.0; accepts either format. One
 * VCALENDAR may hold several VEVENT/VTODO. Throws GatewayError('INVALID_ITEM') with a reason.
 */
export function convertCalendar(input: string | Uint8Array, to: CalendarFormat, opts: CalendarConvertOptions = {}): string {
  const warn = opts.onWarning ?? (() => undefined);
  const cals = parseStrict(input, warn, opts.defaultCharset);
  const parts: string[] = [];
  for (const cal of cals) {
    const from = detectCalendarFormat(cal);
    if (from === 'vcal10') {
      const ical = vcalToIcal(cal, { defaultTimezone: opts.defaultTimezone, countMode: opts.countMode, now: opts.now, uidFromContent: opts.uidFromContent, priorityScale: opts.priorityScale, onWarning: warn });
      if (to === 'ical20') parts.push(ical);
      else parts.push(icalToVcal(parseIcal(ical), { ...opts, onWarning: warn }));
    } else {
      // Quoted-printable (Funambol writes it in 2.0 too) is decoded by the versit parser, not ical.js.
      const legacy = /;ENCODING=QUOTED-PRINTABLE/i.test(toText(input));
      const icalText = cals.length === 1 && !legacy ? toText(input) : serializeVersit(cal, { version: 'ical2.0' });
      const comp = parseIcal(icalText);
      if (to === 'ical20') parts.push(comp.toString().replace(/\r?\n/g, '\r\n') + '\r\n');
      else parts.push(icalToVcal(comp, { ...opts, onWarning: warn }));
    }
  }
  return to === 'ical20' ? storable(parts, opts.now ?? new Date(), warn) : parts.join('');
}

/**
 * The iCalendar parts of one item as servers store them, joined: broken VTIMEZONEs repaired
 * (calendar-timezones.ts), overrides made valid (calendar-overrides.ts), values servers refuse
 * kept under X- names (calendar-values.ts). Unchanged text otherwise.
 */
function storable(parts: string[], now: Date, warn: (m: string) => void): string {
  const cals = parts.map((t) => parseVersit(t).filter((r) => r.name === 'VCALENDAR'));
  let changed = false;
  for (const c of cals.flat()) changed = repairTimezones(c, warn) || changed;
  changed = repairOverrides(cals.flat(), warn) || changed;
  for (const c of cals.flat()) changed = repairValues(c, now, warn) || changed;
  if (!changed) return parts.join('');
  return cals.map((list) => list.map((c) => serializeVersit(c, { version: 'ical2.0' })).join('')).join('');
}

export interface CalendarFingerprint {
  uid?: string;
  summary: string;
  /** UTC instant `YYYYMMDDTHHMMSSZ`, date `YYYYMMDD`, or floating `YYYYMMDDTHHMMSS`. */
  start?: string;
  kind: 'VEVENT' | 'VTODO';
}

/** Identity of the first VEVENT/VTODO for slow-sync matching (same result for 1.0 and 2.0 input). */
export function calendarFingerprint(input: string | Uint8Array, opts: CalendarConvertOptions = {}): CalendarFingerprint {
  const cals = parseStrict(input, opts.onWarning ?? (() => undefined));
  const src = cals[0].components.find((c) => c.name === 'VEVENT' || c.name === 'VTODO');
  if (!src) throw new GatewayError('INVALID_ITEM', 'VCALENDAR holds no VEVENT or VTODO');
  const uidRaw = src.properties.find((p) => p.name === 'UID')?.value.trim();
  const ical = parseIcal(icalTexts(input, { ...opts, now: new Date(0) })[0]);
  const item = ical.getAllSubcomponents().find((c) => c.name === 'vevent' || c.name === 'vtodo');
  if (!item) throw new GatewayError('INVALID_ITEM', 'VCALENDAR holds no VEVENT or VTODO');
  const summary = String(item.getFirstPropertyValue('summary') ?? '').trim();
  let start: string | undefined;
  const sp = item.getFirstProperty('dtstart') ?? item.getFirstProperty('due');
  const t = sp?.getFirstValue();
  if (t instanceof ICAL.Time) {
    if (t.isDate) start = t.toICALString();
    else {
      const tzid = sp?.getParameter('tzid');
      const zone = typeof tzid === 'string' ? tzid : undefined;
      const zoneFromCal = zone ? ical.getAllSubcomponents('vtimezone').find((z) => z.getFirstPropertyValue('tzid') === zone) : undefined;
      if (zoneFromCal) {
        const tz = new ICAL.Timezone(zoneFromCal);
        const local = t.clone();
        local.zone = tz;
        start = local.convertToZone(ICAL.Timezone.utcTimezone).toICALString();
      } else if ((t.zone as { tzid?: string } | null)?.tzid === 'UTC') start = t.toICALString();
      else if (opts.defaultTimezone && !zone) {
        const ms = localToUtcMs(opts.defaultTimezone, Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second));
        start = new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
      } else start = t.toICALString();
    }
  }
  return {
    uid: uidRaw ? unescapeText(uidRaw) : undefined,
    summary,
    start,
    kind: (item.name.toUpperCase() as 'VEVENT' | 'VTODO'),
  };
}

/** Splits a VCALENDAR mixing events and tasks into one VCALENDAR per kind (same format). */
export function splitByComponent(input: string | Uint8Array): { events?: string; tasks?: string } {
  const cals = parseStrict(input, () => undefined);
  const cal = cals[0];
  const version = detectCalendarFormat(cal) === 'vcal10' ? 'vcal1.0' : 'ical2.0';
  const pick = (kind: string): string | undefined => {
    const items = cals.flatMap((c) => c.components.filter((x) => x.name === kind));
    if (items.length === 0) return undefined;
    const tz = cal.components.filter((x) => x.name === 'VTIMEZONE');
    return serializeVersit({ name: 'VCALENDAR', properties: cal.properties, components: [...tz, ...items] }, { version });
  };
  return { events: pick('VEVENT'), tasks: pick('VTODO') };
}
