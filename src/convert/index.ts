// Public surface of the converters for the sync engine and the CLI: contacts, field filters and
// merge; other converters append their exports below.
export { convertContact, contactFingerprint, parseContact, parseContacts, serializeContact } from './contacts.js';
export type { Contact, ContactFingerprint, ContactFormat, ContactProperty, ConvertContactOptions, VcardVersion } from './contacts.js';
export * from './filters/index.js';
