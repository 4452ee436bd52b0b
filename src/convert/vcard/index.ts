// Public surface of the vCard layer: model, parse, serialize, fingerprint.
export type { Contact, ContactFingerprint, ContactProperty, VcardVersion } from './model.js';
export { parseContact, parseContacts, contactFromComponent, contactsFromComponents } from './parse.js';
export type { ParseContactOptions } from './parse.js';
export { serializeContact, contactToComponent, deriveFn } from './serialize.js';
export { fingerprintOf } from './fingerprint.js';
export { canonicalDate, formatDate } from './dates.js';
