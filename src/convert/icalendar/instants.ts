// Time values of iCalendar items reduced to comparable keys: the same instant written in another
// zone (a phone sends UTC, the server keeps TZID=Europe/Berlin), a floating time read in the
// device's zone, a recurrence rule written another way. Used to keep the server's spelling of a
// value the device sent back unchanged.
import ICAL from 'ical.js';
import { localToUtcMs } from '../vcalendar/index.js';
import type { Component, Property, Time } from './component.js';

/** How many occurrences decide that two recurrence rules are the same. */
const RRULE_PROBE = 400;

/** Time instants for comparing device and server values regardless of how they are written. */
export class Instants {
  /** `defaultTimezone`: IANA zone in which floating times (and unknown TZIDs' times) are read. */
  constructor(private readonly defaultTimezone: string | undefined) {}

  /** `D20250406` for a date, `T<unix seconds>` for a date-time, undefined if not a time. */
  of(p: Property | null, cal: Component): string | undefined {
    const t = p?.getFirstValue();
    if (!(t instanceof ICAL.Time)) return undefined;
    if (t.isDate) return `D${t.toICALString()}`;
    return `T${this.unix(t, p!.getParameter('tzid'), cal)}`;
  }

  unix(t: Time, tzid: unknown, cal: Component): number {
    if ((t.zone as { tzid?: string } | null)?.tzid === 'UTC') return t.toUnixTime();
    const zoned = this.zoned(t, tzid, cal);
    if (zoned) return zoned.toUnixTime();
    const zone = typeof tzid === 'string' ? tzid : this.defaultTimezone;
    const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
    if (zone) {
      try {
        return Math.round(localToUtcMs(zone, wall) / 1000);
      } catch {
        /* not an IANA name: read as UTC below */
      }
    }
    return Math.round(wall / 1000);
  }

  /** `t` with its VTIMEZONE attached, when the calendar defines the TZID. */
  zoned(t: Time, tzid: unknown, cal: Component): Time | undefined {
    if (typeof tzid !== 'string') return undefined;
    const def = cal.getAllSubcomponents('vtimezone').find((z) => z.getFirstPropertyValue('tzid') === tzid);
    if (!def) return undefined;
    const copy = t.clone();
    copy.zone = new ICAL.Timezone(def);
    return copy;
  }

  /**
   * All values of a multi-valued date property (EXDATE, RDATE) as a sorted key. For all-day
   * series a device's local midnight counts as that date (phones have no date-only values).
   */
  dateSet(item: Component, name: string, cal: Component, allDay: boolean): string {
    const keys: string[] = [];
    for (const p of item.getAllProperties(name)) {
      const tzid = p.getParameter('tzid');
      for (const v of p.getValues()) {
        if (!(v instanceof ICAL.Time)) {
          keys.push(String(v));
          continue;
        }
        if (v.isDate) keys.push(`D${v.toICALString()}`);
        else if (allDay && v.hour === 0 && v.minute === 0 && v.second === 0) keys.push(`D${v.toICALString().slice(0, 8)}`);
        else keys.push(`T${this.unix(v, tzid, cal)}`);
      }
    }
    return keys.sort().join(',');
  }

  /** Start time ready for recurrence expansion (zone attached, or floating in the device zone). */
  start(item: Component, cal: Component): Time | undefined {
    const p = item.getFirstProperty('dtstart') ?? item.getFirstProperty('due');
    const t = p?.getFirstValue();
    if (!(t instanceof ICAL.Time)) return undefined;
    return this.zoned(t, p!.getParameter('tzid'), cal) ?? t;
  }

  /** End of an event/task: DTEND/DUE, or DTSTART + DURATION. */
  end(item: Component, cal: Component): string | undefined {
    const explicit = item.getFirstProperty('dtend') ?? item.getFirstProperty('due');
    if (explicit) return this.of(explicit, cal);
    const start = item.getFirstProperty('dtstart');
    const dur = item.getFirstPropertyValue('duration');
    const t = start?.getFirstValue();
    if (!(t instanceof ICAL.Time) || !(dur instanceof ICAL.Duration)) return undefined;
    const zoned = this.zoned(t, start!.getParameter('tzid'), cal) ?? t.clone();
    zoned.addDuration(dur);
    if (zoned.isDate) return `D${zoned.toICALString()}`;
    return `T${this.unix(zoned, start!.getParameter('tzid'), cal)}`;
  }

  /** The first occurrences of `rule` started at `item`'s start, plus whether the rule ended. */
  occurrences(rule: Component, item: Component, cal: Component): string | undefined {
    const rrule = rule.getFirstPropertyValue('rrule');
    const start = this.start(item, cal);
    if (!(rrule instanceof ICAL.Recur) || !start) return undefined;
    const tzid = (item.getFirstProperty('dtstart') ?? item.getFirstProperty('due'))?.getParameter('tzid');
    const out: string[] = [];
    try {
      const it = rrule.iterator(start);
      for (let n = 0; n < RRULE_PROBE; n++) {
        const next = it.next();
        if (!next) return out.join(',') + '|end';
        out.push(next.isDate ? next.toICALString() : String(this.unix(next, tzid, cal)));
      }
    } catch {
      return undefined;
    }
    return out.join(',') + '|more';
  }

  /**
   * An alarm as `ACTION|<unix seconds of its run time>`: relative triggers are compared as
   * instants too, because phones send absolute run times.
   */
  alarmKey(alarm: Component, owner: Component, cal: Component): string {
    const action = String(alarm.getFirstPropertyValue('action') ?? '').toUpperCase();
    const trig = alarm.getFirstProperty('trigger');
    const v = trig?.getFirstValue();
    let when = '';
    if (v instanceof ICAL.Duration) {
      const related = String(trig!.getParameter('related') ?? 'START').toUpperCase();
      const anchorProp = related === 'END' ? (owner.getFirstProperty('dtend') ?? owner.getFirstProperty('due')) : (owner.getFirstProperty('dtstart') ?? owner.getFirstProperty('due'));
      const anchor = anchorProp?.getFirstValue();
      if (anchor instanceof ICAL.Time) {
        const base = this.unix(anchor, anchorProp!.getParameter('tzid'), cal);
        when = String(base + v.toSeconds());
      } else when = `R${v.toString()}`;
    } else if (v instanceof ICAL.Time) when = String(this.unix(v, trig!.getParameter('tzid'), cal));
    return `${action}|${when}`;
  }
}
