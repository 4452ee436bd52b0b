// vCalendar 1.0 alarms (AALARM/DALARM/PALARM/MALARM) -> iCalendar VALARM: run times become
// triggers relative to the start (or end), snooze/repeat carry over, an AALARM and a DALARM at
// the same time are one reminder. Split out of to-ical.ts; pure.
import type { VersitComponent, VersitParam, VersitProperty } from '../versit/index.js';
import { escapeText, splitUnescaped } from '../versit/index.js';
import { splitMailbox, type CalKind } from './mappings.js';
import { fieldsToMs, formatLocal } from './tz.js';
import { fmtFields, parseVcalTime, toUtcMs, wallFields, type TimeReference, type VcalTime } from './vcal-time.js';

/** How the times of one component are written (see timeValue in to-ical.ts). */
export interface EventTimes {
  ref: TimeReference;
  /** Zone used for TZID output, when any. */
  zone?: string;
  allDay: boolean;
  /** Whether UTC times of this component are rewritten to the zone (recurring items). */
  utcToZone: boolean;
  usedZones: Set<string>;
  years: number[];
}

function prop(name: string, value: string, params: VersitParam[] = []): VersitProperty {
  return { name, params, value, rawValue: value };
}

function textProp(name: string, text: string, params: VersitParam[] = []): VersitProperty {
  return prop(name, escapeText(text, 'ical2.0'), params);
}

function durationText(ms: number): string {
  const neg = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  if (s === 0) return 'PT0S';
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = `${neg ? '-' : ''}P`;
  if (d && !h && !m && !s && d % 7 === 0) return `${out}${d / 7}W`;
  if (d) out += `${d}D`;
  if (h || m || s) out += 'T';
  if (h) out += `${h}H`;
  if (m) out += `${m}M`;
  if (s) out += `${s}S`;
  return out;
}

/** vCal snooze time: ISO duration (`PT5M`) or, from some phones, plain minutes. */
function snoozeDuration(v: string): string | undefined {
  const t = v.trim().toUpperCase();
  if (/^P(\d+W|(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)$/.test(t) && t !== 'P' && t !== 'PT') return t;
  if (/^\d+$/.test(t)) return `PT${Number(t)}M`;
  return undefined;
}

interface AlarmInput {
  kind: string;
  runTime?: VcalTime;
  /** A duration instead of a run time (`-PT15M`): SyncEvolution/libsynthesis write relative alarms so. */
  relative?: string;
  fields: string[];
}

export function alarmComponents(
  c: VersitComponent,
  kind: CalKind,
  times: EventTimes,
  anchor: { t: VcalTime; related: 'START' | 'END' } | undefined,
  summary: string | undefined,
  warn: (m: string) => void,
): VersitComponent[] {
  const inputs: AlarmInput[] = [];
  for (const p of c.properties) {
    if (!/^[ADPM]ALARM$/.test(p.name)) continue;
    const fields = splitUnescaped(p.value, ';');
    const rt = (fields[0] ?? '').trim();
    if (rt === '') {
      // No run time: relative to the start per phone convention (Nokia 9110 writes ";;0;").
      inputs.push({ kind: p.name, fields });
      continue;
    }
    if (/^[+-]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$/i.test(rt) && rt.length > 2) {
      inputs.push({ kind: p.name, relative: rt.toUpperCase(), fields });
      continue;
    }
    const t = parseVcalTime(rt);
    if (!t) {
      warn(`${p.name} with unreadable run time "${rt}" dropped`);
      continue;
    }
    inputs.push({ kind: p.name, runTime: t, fields });
  }
  // AALARM+DALARM at the same time are one reminder on phones (Nokia, Sony Ericsson): merge
  // into one DISPLAY alarm.
  const out: VersitComponent[] = [];
  const seen = new Map<string, VersitComponent>();
  for (const a of inputs) {
    const key = a.relative ? `rel:${a.relative}` : a.runTime ? fmtFields(a.runTime.fields, a.runTime.utc) : '';
    const props: VersitProperty[] = [];
    let action: string;
    if (a.kind === 'AALARM') action = 'AUDIO';
    else if (a.kind === 'MALARM') action = 'EMAIL';
    else action = 'DISPLAY'; // DALARM; PALARM's PROCEDURE is gone from RFC 5545 (§4 of the fact sheet)
    const existing = seen.get(key);
    if (existing && action !== 'EMAIL') {
      const act = existing.properties.find((p) => p.name === 'ACTION');
      if (act && act.value === 'AUDIO' && action === 'DISPLAY') {
        // Upgrade the earlier AUDIO alarm to DISPLAY with this description.
        existing.properties = existing.properties.filter((p) => p.name !== 'ATTACH' && p.name !== 'ACTION');
        existing.properties.unshift(prop('ACTION', 'DISPLAY'));
        existing.properties.push(textProp('DESCRIPTION', (a.fields[3] ?? '').trim() || summary || 'Reminder'));
      }
      continue;
    }
    props.push(prop('ACTION', action));
    // Trigger: relative to the anchor when both are comparable, absolute UTC otherwise.
    if (a.relative) {
      props.push(prop('TRIGGER', a.relative, anchor?.related === 'END' ? [{ name: 'RELATED', value: 'END' }] : []));
    } else if (!a.runTime) {
      props.push(prop('TRIGGER', 'PT0S', anchor?.related === 'END' ? [{ name: 'RELATED', value: 'END' }] : []));
    } else {
      const runMs = toUtcMs(a.runTime, times.ref);
      const anchorMs = anchor ? (times.allDay || anchor.t.dateOnly ? undefined : toUtcMs(anchor.t, times.ref)) : undefined;
      if (anchor && runMs !== undefined && anchorMs !== undefined) {
        props.push(prop('TRIGGER', durationText(runMs - anchorMs), anchor.related === 'END' ? [{ name: 'RELATED', value: 'END' }] : []));
      } else if (anchor && (runMs === undefined || times.allDay || anchor.t.dateOnly)) {
        // Floating or all-day: wall-clock difference.
        const diff = fieldsToMs(wallFields(a.runTime, times.ref)) - fieldsToMs(wallFields(anchor.t, times.ref));
        props.push(prop('TRIGGER', durationText(diff), anchor.related === 'END' ? [{ name: 'RELATED', value: 'END' }] : []));
      } else {
        const ms = runMs ?? fieldsToMs(a.runTime.fields);
        props.push(prop('TRIGGER', formatLocal(ms, true), [{ name: 'VALUE', value: 'DATE-TIME' }]));
      }
    }
    const snooze = snoozeDuration(a.fields[1] ?? '');
    const repeat = Number.parseInt((a.fields[2] ?? '').trim(), 10);
    if (snooze && Number.isInteger(repeat) && repeat > 0) {
      props.push(prop('DURATION', snooze), prop('REPEAT', String(repeat)));
    }
    const extra = (a.fields[3] ?? '').trim();
    if (action === 'AUDIO') {
      // Only URIs are valid ATTACH values; phone sound names ("Chimes") are dropped.
      if (/^[a-z][a-z0-9+.-]*:/i.test(extra)) props.push(prop('ATTACH', extra));
    } else if (action === 'DISPLAY') {
      props.push(textProp('DESCRIPTION', extra || summary || 'Reminder'));
    } else {
      const addr = splitMailbox(extra);
      props.push(textProp('DESCRIPTION', (a.fields[4] ?? '').trim() || summary || 'Reminder'));
      props.push(textProp('SUMMARY', summary || 'Reminder'));
      if (addr.address) props.push(prop('ATTENDEE', `mailto:${addr.address}`));
    }
    const comp: VersitComponent = { name: 'VALARM', properties: props, components: [] };
    out.push(comp);
    seen.set(key, comp);
  }
  void kind;
  return out;
}
