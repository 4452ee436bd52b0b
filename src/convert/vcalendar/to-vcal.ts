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
} from './mappings.js';
import { ADDED_PARAM } from './repairs.js';
import { icalRruleToVcal } from './rrule.js';
import {
  countEnd, fmt, outTime, prop, propTime, resolveTime, untilOut, zoneProps,
  type Ctx, type ICALComponent, type ICALProperty, type ICALTimezone, type Resolved, type ToVcalOptions,
} from './vcal-out-time.js';
import { fieldsToMs, formatLocal, isKnownZone, localToUtcMs, msToFields } from './tz.js';

export type { ToVcalOptions } from './vcal-out-time.js';

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
