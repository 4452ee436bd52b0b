// Public contact conversion API for the sync engine: vCard 2.1/3.0/4.0 in, any of them out,
// plus the structured model and the slow-sync fingerprint.
import { fingerprintOf, parseContact, serializeContact } from './vcard/index.js';
import type { Contact, ContactFingerprint, ParseContactOptions, VcardVersion } from './vcard/index.js';

export type { Contact, ContactFingerprint, ContactProperty, VcardVersion } from './vcard/index.js';
export { contactsFromComponents, parseContact, parseContacts, serializeContact } from './vcard/index.js';

export type ContactFormat = 'vcard21' | 'vcard30' | 'vcard40';

export type ConvertContactOptions = ParseContactOptions;

const VERSION_OF: Record<ContactFormat, VcardVersion> = { vcard21: '2.1', vcard30: '3.0', vcard40: '4.0' };

/**
 * Converts one vCard (any of 2.1/3.0/4.0, string or bytes) to the target format. 3.0/4.0 output
 * never carries QUOTED-PRINTABLE, CHARSET or bare parameters; 2.1 output uses
 * `CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE` for non-ASCII or multi-line values.
 * Throws `GatewayError('INVALID_ITEM')` for input that is not exactly one vCard.
 */
export function convertContact(input: string | Uint8Array, to: ContactFormat, opts?: ConvertContactOptions): string {
  return serializeContact(parseContact(input, opts), VERSION_OF[to], opts?.onWarning);
}

/** Slow-sync matching key of a vCard (or of an already parsed contact). */
export function contactFingerprint(input: string | Uint8Array | Contact, opts?: ParseContactOptions): ContactFingerprint {
  const contact = typeof input === 'string' || input instanceof Uint8Array ? parseContact(input, opts) : input;
  return fingerprintOf(contact);
}
