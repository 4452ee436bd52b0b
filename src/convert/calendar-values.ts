// Property values of VEVENT/VTODO that CalDAV servers refuse (Radicale: "not a valid DATE-TIME",
// "VEVENT components cannot contain more than 1 …", PERIOD RDATEs it cannot expand, no DTSTART).
// None is dropped: a value that cannot stay under its own name is kept under its X- stand-in with
// the device's name in X-SYNCML-NAME (versit/names.ts), and every repair is reported.
import { ADDED_PARAM, addedDtstart } from './vcalendar/repairs.js';
import { isStorableName, standIn, type VersitComponent, type VersitProperty } from './versit/index.js';

/** Properties RFC 5545 §3.6.1/§3.6.2 allow once per component (servers enforce it). */
const ONCE = new Set([
  'CLASS', 'COMPLETED', 'CREATED', 'DESCRIPTION', 'DTSTAMP', 'DTSTART', 'DTEND', 'DUE', 'DURATION', 'GEO',
  'LAST-MODIFIED', 'LOCATION', 'ORGANIZER', 'PERCENT-COMPLETE', 'PRIORITY', 'RECURRENCE-ID', 'SEQUENCE',
  'STATUS', 'SUMMARY', 'TRANSP', 'UID', 'URL',
]);
/** Properties whose value is DATE or DATE-TIME (lists for EXDATE/RDATE). */
const TIMES = new Set(['DTSTAMP', 'CREATED', 'LAST-MODIFIED', 'COMPLETED', 'DTSTART', 'DTEND', 'DUE', 'RECURRENCE-ID', 'EXDATE', 'RDATE']);
const TIME = /^\d{8}(T\d{6}Z?)?$/;

function isPeriod(p: VersitProperty): boolean {
  return p.params.some((x) => x.name === 'VALUE' && x.value.toUpperCase() === 'PERIOD');
}

function validTimes(p: VersitProperty): boolean {
  return p.value.split(',').every((v) => TIME.test(v.trim()));
}

/** Replaces `p` in `c` by its X- stand-in (value and parameters as they were). */
function toStandIn(p: VersitProperty): VersitProperty {
  const s = standIn(p.name);
  return { ...p, name: s.name, params: [...p.params, s.param] };
}

/**
 * EXDATE/RDATE;VALUE=DATE in a series whose DTSTART is a DATE-TIME: RFC 5545 §3.8.5.1 wants the
 * DTSTART type; the day means that day's occurrence, so the start's time (and zone) is added, as
 * servers do on their own (Radicale wrote `EXDATE:20060407T183000Z` for `EXDATE;VALUE=DATE:20060407`).
 */
function datesAtStartTime(p: VersitProperty, start: VersitProperty | undefined): VersitProperty | undefined {
  if (!start || !/^\d{8}T\d{6}Z?$/.test(start.value.trim()) || !['EXDATE', 'RDATE'].includes(p.name)) return undefined;
  if (!p.params.some((x) => x.name === 'VALUE' && x.value.toUpperCase() === 'DATE')) return undefined;
  const time = start.value.trim().slice(8);
  const value = p.value.split(',').map((d) => `${d.trim()}${time}`).join(',');
  const tzid = start.params.filter((x) => x.name === 'TZID');
  return { ...p, params: [...p.params.filter((x) => x.name !== 'VALUE' && x.name !== 'TZID'), ...tzid], value, rawValue: value };
}

function repairItem(c: VersitComponent, now: Date, warn: (m: string) => void): boolean {
  let changed = false;
  const seen = new Set<string>();
  const out: VersitProperty[] = [];
  const start = c.properties.find((p) => p.name === 'DTSTART');
  for (const p of c.properties) {
    const timed = datesAtStartTime(p, start);
    if (timed) {
      warn(`${c.name} ${p.name};VALUE=DATE:${p.value} in a timed series: written at the start's time (${timed.value})`);
      out.push(timed);
      changed = true;
      continue;
    }
    if (p.name === 'RDATE' && isPeriod(p)) {
      // vobject cannot expand PERIOD values: the starts stay in the set, each period as written.
      const starts = p.value.split(',').map((v) => v.split('/')[0]!.trim());
      warn(`${c.name} RDATE;VALUE=PERIOD:${p.value}: RDATE ${starts.join(',')} and the periods as X-RDATE`);
      const params = p.params.filter((x) => x.name !== 'VALUE');
      out.push({ ...p, params, value: starts.join(','), rawValue: starts.join(',') }, toStandIn(p));
      changed = true;
      continue;
    }
    const why =
      !isStorableName(p.name) ? 'is an invalid name'
      : TIMES.has(p.name) && !isPeriod(p) && !validTimes(p) ? `"${p.value}" is no DATE-TIME`
      : ONCE.has(p.name) && seen.has(p.name) ? 'occurs more than once'
      : undefined;
    seen.add(p.name);
    if (why === undefined) {
      out.push(p);
      continue;
    }
    const s = toStandIn(p);
    warn(`${c.name} ${p.name} ${why}: kept as ${s.name}`);
    out.push(s);
    changed = true;
  }
  c.properties = out;
  if (c.name === 'VEVENT' && !out.some((p) => p.name === 'DTSTART')) {
    // RFC 5545 §3.6.1: DTSTART is required (here without a calendar METHOD).
    const end = out.find((p) => p.name === 'DTEND');
    const stamp = out.find((p) => p.name === 'DTSTAMP' || p.name === 'CREATED' || p.name === 'LAST-MODIFIED')?.value ?? now.toISOString().replace(/[-:]/g, '');
    const added = addedDtstart(end, stamp);
    warn(`VEVENT without DTSTART: DTSTART ${added.value} added from ${end ? 'DTEND' : 'the item date'} (X-SYNCML-ADDED)`);
    c.properties.unshift(added);
    changed = true;
  }
  return changed;
}

/**
 * RFC 5545 §3.6.6: a VALARM has ACTION and TRIGGER. Missing ones are added as servers would
 * (vobject writes AUDIO and PT0S itself), marked X-SYNCML-ADDED so it shows they were not sent.
 */
function repairAlarms(c: VersitComponent, warn: (m: string) => void): boolean {
  let changed = false;
  for (const a of c.components.filter((x) => x.name === 'VALARM')) {
    for (const [name, value] of [['ACTION', 'AUDIO'], ['TRIGGER', 'PT0S']] as const) {
      if (a.properties.some((p) => p.name === name)) continue;
      warn(`${c.name} VALARM without ${name}: ${name}:${value} added (X-SYNCML-ADDED)`);
      a.properties.unshift({ name, params: [{ name: ADDED_PARAM, value: 'TRUE' }], value, rawValue: value });
      changed = true;
    }
  }
  return changed;
}

/** Repairs the VEVENT/VTODO of `cal` in place; returns whether anything changed. */
export function repairValues(cal: VersitComponent, now: Date, warn: (message: string) => void): boolean {
  let changed = false;
  for (const c of cal.components) {
    if (c.name !== 'VEVENT' && c.name !== 'VTODO') continue;
    changed = repairItem(c, now, warn) || changed;
    changed = repairAlarms(c, warn) || changed;
  }
  return changed;
}
