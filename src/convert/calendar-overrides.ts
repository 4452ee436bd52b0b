// Recurrence overrides as CalDAV servers take them. A device item that is an override (RECURRENCE-ID,
// Symbian's X-RECURRENCE-ID) comes without its series, repeats itself, or names two recurrence
// ids; RFC 5545 §3.8.4.4 and servers (Radicale: "Main component missing", "Overwritten recurrence
// with RRULESET") want one main component per UID and overrides without their own recurrence set.
// Nothing is dropped: the property that does not fit keeps its value under an X- name.
import type { VersitComponent, VersitProperty } from './versit/index.js';

/** Recurrence-set properties an override may not carry (vobject builds an RRULESET from them). */
const RECURRENCE_SET = new Set(['RRULE', 'RDATE', 'EXRULE', 'EXDATE']);

function uidOf(c: VersitComponent): string | undefined {
  return c.properties.find((p) => p.name === 'UID')?.value.trim() || undefined;
}

function isOverride(c: VersitComponent): boolean {
  return c.properties.some((p) => p.name === 'RECURRENCE-ID');
}

function rename(p: VersitProperty, name: string): void {
  p.name = name;
}

/**
 * Repairs the VEVENT/VTODO overrides of the VCALENDAR objects of one item in place (they are one
 * resource: a series and its overrides may arrive in separate objects). Returns whether anything
 * changed; each repair is reported through `warn`.
 */
export function repairOverrides(cals: VersitComponent[], warn: (message: string) => void): boolean {
  let changed = false;
  const groups = new Map<string, VersitComponent[]>();
  let n = 0;
  for (const cal of cals) {
    for (const c of cal.components) {
      if (c.name !== 'VEVENT' && c.name !== 'VTODO') continue;
      const rids = c.properties.filter((p) => p.name === 'RECURRENCE-ID');
      for (const extra of rids.slice(1)) {
        // One instance is overridden by one component: the first id counts, the others stay as text.
        warn(`${c.name} with ${rids.length} RECURRENCE-IDs: ${extra.value} kept as X-RECURRENCE-ID`);
        rename(extra, 'X-RECURRENCE-ID');
        changed = true;
      }
      const uid = uidOf(c);
      const key = uid !== undefined ? `${c.name}|${uid}` : `#${n++}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
  }
  for (const items of groups.values()) {
    if (!items.some((c) => !isOverride(c))) {
      // No series to override (a phone sends the moved instance as an item of its own): the first
      // override stands as the main component, its recurrence id kept as X-RECURRENCE-ID.
      const main = items[0]!;
      const rid = main.properties.find((p) => p.name === 'RECURRENCE-ID')!;
      warn(`${main.name} override of ${rid.value} without its series: stored as an item of its own (X-RECURRENCE-ID)`);
      rename(rid, 'X-RECURRENCE-ID');
      changed = true;
    }
    for (const c of items) {
      if (!isOverride(c)) continue;
      for (const p of c.properties) {
        if (!RECURRENCE_SET.has(p.name)) continue;
        // An override that repeats (Symbian): its rule cannot be stored as one; kept as X-RRULE….
        warn(`${c.name} override with ${p.name} ${p.value}: kept as X-${p.name}`);
        rename(p, `X-${p.name}`);
        changed = true;
      }
    }
  }
  return changed;
}
