// Normalised identity of a contact for slow-sync matching: name tokens, phone digits, e-mails.
import type { Contact, ContactFingerprint } from './model.js';

/**
 * Name tokens come from N (all components), or FN when N is empty; they are NFKC-normalised,
 * case-folded and sorted, so "Doe;John" and a phone that put "John Doe" into the family name
 * compare equal.
 */
export function fingerprintOf(contact: Contact): ContactFingerprint {
  let nameParts: string[] = [];
  const n = contact.properties.find((p) => p.name === 'N');
  if (n !== undefined) nameParts = n.values.slice(0, 5);
  if (nameParts.every((s) => s.trim() === '')) {
    nameParts = [contact.properties.find((p) => p.name === 'FN')?.values[0] ?? ''];
  }
  const tokens = nameParts
    .join(' ')
    .normalize('NFKC')
    .toLowerCase()
    .split(/[\s,]+/)
    .filter((t) => t !== '')
    .sort();
  const phones = new Set<string>();
  const emails = new Set<string>();
  for (const p of contact.properties) {
    if (p.name === 'TEL') {
      const digits = (p.values[0] ?? '').replace(/\D+/g, '');
      if (digits !== '') phones.add(digits);
    } else if (p.name === 'EMAIL') {
      const e = (p.values[0] ?? '').trim().toLowerCase();
      if (e !== '') emails.add(e);
    }
  }
  return { names: tokens.join(' '), phones: [...phones].sort(), emails: [...emails].sort() };
}
