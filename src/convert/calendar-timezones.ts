// VTIMEZONE definitions servers cannot read, in iCalendar passed through from a 2.0 device: Apple
// iCal 1.5 wrote observances without DTSTART and TZOFFSETFROM and offsets without a sign
// (`TZOFFSETTO:0100`); Radicale (vobject) then refuses every event that uses the zone. RFC 5545
// §3.6.5 requires DTSTART, TZOFFSETFROM and TZOFFSETTO (`+hhmm`) in each STANDARD/DAYLIGHT.
import { parseVersit, type VersitComponent, type VersitProperty } from './versit/index.js';
import { buildVtimezone, isKnownZone } from './vcalendar/tz.js';

const OBSERVANCES = new Set(['STANDARD', 'DAYLIGHT']);
const OFFSET = /^[+-]\d{4}(\d{2})?$/;

function prop(name: string, value: string): VersitProperty {
  return { name, params: [], value, rawValue: value };
}

function valueOf(c: VersitComponent, name: string): string | undefined {
  return c.properties.find((p) => p.name === name)?.value.trim();
}

/** What RFC 5545 §3.6.5 misses in `tz`, empty when it is complete. */
export function vtimezoneDefects(tz: VersitComponent): string[] {
  const out: string[] = [];
  const obs = tz.components.filter((c) => OBSERVANCES.has(c.name));
  if (obs.length === 0) out.push('no STANDARD or DAYLIGHT');
  for (const o of obs) {
    if (!valueOf(o, 'DTSTART')) out.push(`${o.name} without DTSTART`);
    for (const name of ['TZOFFSETFROM', 'TZOFFSETTO']) {
      const v = valueOf(o, name);
      if (v === undefined) out.push(`${o.name} without ${name}`);
      else if (!OFFSET.test(v)) out.push(`${o.name} ${name} "${v}"`);
    }
  }
  return out;
}

/** The year range the events of `cal` use (a zone definition must cover them). */
function yearsUsed(cal: VersitComponent): [number, number] {
  const years: number[] = [];
  const walk = (c: VersitComponent): void => {
    for (const p of c.properties) {
      const m = /^(\d{4})\d{4}/.exec(p.value.trim());
      if (m && /^(DTSTART|DTEND|DUE|RECURRENCE-ID|EXDATE|RDATE)$/.test(p.name)) years.push(Number(m[1]));
    }
    c.components.filter((s) => s.name !== 'VTIMEZONE').forEach(walk);
  };
  walk(cal);
  return years.length ? [Math.min(...years), Math.max(...years)] : [1970, 1971];
}

/**
 * Minimal repair of an unknown zone: a sign on unsigned offsets, TZOFFSETFROM from the other
 * observance (else TZOFFSETTO), DTSTART 19700101T000000 where missing.
 */
function patch(tz: VersitComponent): void {
  const obs = tz.components.filter((c) => OBSERVANCES.has(c.name));
  const signed = (v: string): string => (/^\d{4}(\d{2})?$/.test(v) ? `+${v}` : v);
  for (const o of obs) {
    for (const p of o.properties) if (p.name === 'TZOFFSETFROM' || p.name === 'TZOFFSETTO') p.value = p.rawValue = signed(p.value.trim());
  }
  for (const o of obs) {
    const to = valueOf(o, 'TZOFFSETTO') ?? '+0000';
    if (valueOf(o, 'TZOFFSETTO') === undefined) o.properties.push(prop('TZOFFSETTO', to));
    if (valueOf(o, 'TZOFFSETFROM') === undefined) {
      const other = obs.find((x) => x !== o && valueOf(x, 'TZOFFSETTO') !== undefined);
      o.properties.push(prop('TZOFFSETFROM', (other && valueOf(other, 'TZOFFSETTO')) ?? to));
    }
    if (!valueOf(o, 'DTSTART')) o.properties.unshift(prop('DTSTART', '19700101T000000'));
  }
  if (obs.length === 0) tz.components.push({ name: 'STANDARD', properties: [prop('DTSTART', '19700101T000000'), prop('TZOFFSETFROM', '+0000'), prop('TZOFFSETTO', '+0000')], components: [] });
}

/**
 * Replaces or completes each broken VTIMEZONE of `cal` in place: an IANA TZID gets the zone's own
 * definition (tz.ts, for the years the events use), any other is patched. Returns whether
 * anything changed; each repair is reported through `warn`.
 */
export function repairTimezones(cal: VersitComponent, warn: (message: string) => void): boolean {
  let changed = false;
  cal.components = cal.components.map((c) => {
    if (c.name !== 'VTIMEZONE') return c;
    const defects = vtimezoneDefects(c);
    if (defects.length === 0) return c;
    changed = true;
    const tzid = valueOf(c, 'TZID') ?? '';
    if (isKnownZone(tzid)) {
      const [y0, y1] = yearsUsed(cal);
      warn(`VTIMEZONE ${tzid} incomplete (${defects.join(', ')}): replaced by the ${tzid} definition`);
      return parseVersit(buildVtimezone(tzid, y0 - 1, Math.max(y1 + 1, y0 + 2)))[0]!;
    }
    warn(`VTIMEZONE ${tzid} incomplete (${defects.join(', ')}): completed`);
    patch(c);
    return c;
  });
  return changed;
}
