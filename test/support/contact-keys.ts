// Identity of a contact for cross-checking a phone against a DAV server: FN plus the set of
// phone numbers (digits and '+'), which survives vCard 2.1 <-> 3.0 conversion on both sides.
import { parseContact } from '../../src/convert/contacts.js';

/** `FN|tel1,tel2` with the numbers normalised and sorted. */
export function contactKey(text: string): string {
  const c = parseContact(text);
  const vals = (name: string): string[] => c.properties.filter((p) => p.name === name).map((p) => p.values.join(';'));
  const fn = (vals('FN')[0] ?? '').trim();
  const tels = vals('TEL').map((t) => t.replace(/[^\d+]/g, '')).filter((t) => t !== '').sort();
  return `${fn}|${tels.join(',')}`;
}

/** Key -> how often it occurs (a count above 1 is a duplicate). */
export function countKeys(texts: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of texts) {
    const k = contactKey(t);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** Keys that occur more than once, with their counts, for assertion messages. */
export function duplicatesOf(counts: Map<string, number>): string[] {
  return [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${n}x ${k}`);
}
