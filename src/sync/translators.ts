// Item translators: the sync engine's view of the converters, one per item kind.
// Contacts: device vCard 2.1/3.0 <-> server vCard 3.0, property-level merge, fingerprints, hashes.
import { hash, randomUUID } from 'node:crypto';
import { contactFingerprint, contactsFromComponents, convertContact, parseContact, serializeContact, type Contact } from '../convert/contacts.js';
import { filterForDevice, mergeFromDevice as mergeContacts, type FieldFilter } from '../convert/filters/index.js';
import { parseVersit, serializeProperty, serializeVersit, type VersitComponent, type VersitProperty } from '../convert/versit/index.js';
import { GatewayError } from '../errors.js';
import { encodeDigests } from './field-digests.js';
import type { DeviceFormat, ItemTranslator, PreparedOutgoing } from './types.js';

/** Properties that change on every write and say nothing about content. */
const VOLATILE = new Set(['REV', 'PRODID', 'VERSION', 'X-IRMC-LUID']);

function singleCard(data: string): VersitComponent {
  return onlyCard(parseVersit(data));
}

function onlyCard(components: readonly VersitComponent[]): VersitComponent {
  const cards = components.filter((c) => c.name === 'VCARD');
  if (cards.length !== 1) throw new GatewayError('INVALID_ITEM', `expected one vCard, found ${cards.length}`);
  return cards[0]!;
}

function propKey(p: VersitProperty): string {
  // The group (`item1.`) is not content; without one the property is serialised as it is.
  return serializeProperty(p.group ? ({ ...p, group: undefined } as VersitProperty) : p, '3.0');
}

/** Fields that identify or stamp the item rather than hold what the user edits. */
const NOT_DIGESTED = new Set([...VOLATILE, 'UID']);

/**
 * One digest per property name over all its values, in a form that survives a phone rewriting the
 * card (TYPE and parameter order, 2.1 vs 3.0 syntax): unchanged digest = the user did not edit it.
 * The digests are stored in the ID map and compared with later ones, so this text must stay
 * byte for byte what it has been: the JSON of [sorted types, sorted NAME=value params, values,
 * binary, uri, mediaType] per property, sorted, joined by newlines, SHA-1, base64, 10 characters.
 * Exported for the test that holds it to that.
 */
export function contactDigests(contact: Contact): Map<string, string> {
  const byName = new Map<string, string[]>();
  for (const p of contact.properties) {
    if (NOT_DIGESTED.has(p.name)) continue;
    const types = p.types.length < 2 ? p.types : [...p.types].sort();
    const params = p.params.map((q) => `${q.name}=${String(q.value)}`).sort();
    const canonical = `[${jsonStrings(types)},${jsonStrings(params)},${jsonStrings(p.values)},${JSON.stringify(p.binary ?? false)},${JSON.stringify(p.uri ?? false)},${jsonString(p.mediaType ?? '')}]`;
    const values = byName.get(p.name);
    if (values) values.push(canonical);
    else byName.set(p.name, [canonical]);
  }
  // One-shot hash: a contact has a dozen fields, createHash() per field costs 3x as much.
  const out = new Map<string, string>();
  for (const [name, values] of byName) {
    out.set(name, hash('sha1', values.length === 1 ? values[0]! : values.sort().join('\n'), 'base64').slice(0, 10));
  }
  return out;
}

// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const JSON_ESCAPED_RE = /[\x00-\x1f"\\\ud800-\udfff]/;

/** Whether JSON.stringify escapes something in `s`: quote, backslash, control character, surrogate. */
function needsJsonEscape(s: string): boolean {
  // A photo's 30 KB of base64: the regexp scans ~2x as fast as the loop, the loop wins on short text.
  if (s.length > 256) return JSON_ESCAPED_RE.test(s);
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** `JSON.stringify(s)`, without its cost for the usual string that needs no escape. */
function jsonString(s: string): string {
  return typeof s === 'string' && !needsJsonEscape(s) ? `"${s}"` : JSON.stringify(s);
}

/** `JSON.stringify(list)` of a string array, the same way. */
function jsonStrings(list: readonly string[]): string {
  let out = '[';
  for (let k = 0; k < list.length; k++) {
    const s = list[k];
    if (typeof s !== 'string') return JSON.stringify(list);
    out += k === 0 ? jsonString(s) : `,${jsonString(s)}`;
  }
  return `${out}]`;
}

export const contactsTranslator: ItemTranslator = {
  kind: 'contacts',
  deviceFormats: [
    { type: 'text/x-vcard', version: '2.1' },
    { type: 'text/vcard', version: '3.0' },
  ],

  toServer(data: string, _from?: DeviceFormat, filter?: FieldFilter, onWarning?: (m: string) => void): string {
    return convertContact(data, 'vcard30', { ...(filter?.charset ? { defaultCharset: filter.charset } : {}), ...(onWarning ? { onWarning } : {}) });
  },

  toDevice(serverData: string, to: DeviceFormat, filter?: FieldFilter): string {
    const version = deviceVersion(to);
    if (!filter) return convertContact(serverData, version === '2.1' ? 'vcard21' : version === '4.0' ? 'vcard40' : 'vcard30');
    return serializeContact(filterForDevice(parseContact(serverData), filter), version);
  },

  prepareOutgoing(serverData: string): PreparedOutgoing {
    // One versit parse for both; neither reading changes the tree. `toDevice` above is
    // `convertContact`/`parseContact` + serialise, which is what this does from the same tree.
    const components = parseVersit(serverData);
    const hash = contentHash(onlyCard(components));
    return {
      hash,
      toDevice(to: DeviceFormat, filter?: FieldFilter): string {
        const contacts = contactsFromComponents(components);
        if (contacts.length !== 1) throw new GatewayError('INVALID_ITEM', `expected one vCard, found ${contacts.length}`);
        const contact = filter ? filterForDevice(contacts[0]!, filter) : contacts[0]!;
        return serializeContact(contact, deviceVersion(to));
      },
    };
  },

  /**
   * The device sends what it can store. Properties it did not send at all (a second address, a
   * field its address book has no place for) keep their server values; the ones it sent replace
   * the server's. Field-level filters from CTCap refine this in the converter issue. With no
   * server item (a create) this only normalises the device's item for the server.
   */
  mergeFromDevice(serverData: string | undefined, deviceAsServer: string, filter?: FieldFilter): string {
    if (serverData !== undefined && filter) {
      // Field-level merge: what the device cannot store (CTCap, MaxOccur, truncation) keeps its
      // server value; only what the user changed on the phone changes on the server.
      const merged = mergeContacts(parseContact(serverData), parseContact(deviceAsServer), filter);
      // Same rule as for a new item below: an empty property is never written to the server
      // (otherwise every slow sync rewrites items that did not change, e.g. SyncEvolution's `GEO:;`).
      merged.properties = merged.properties.filter((p) => p.values.some((v) => v.replace(/[;,\s\\]/g, '') !== ''));
      return serializeContact(merged, '3.0');
    }
    const device = singleCard(deviceAsServer);
    const sentNames = new Set(device.properties.map((p) => p.name));
    const server = serverData === undefined ? undefined : singleCard(serverData);
    const kept = server ? server.properties.filter((p) => !sentNames.has(p.name) && p.name !== 'VERSION') : [];
    // An empty property means "the device has this field and it is empty": it removes the
    // server's value (above) and is not written itself.
    const fromDevice = device.properties.filter((p) => p.name !== 'VERSION' && p.value.replace(/[;,\s]/g, '') !== '');
    const merged: VersitComponent = { name: 'VCARD', properties: [...fromDevice, ...kept], components: [] };
    if (!merged.properties.some((p) => p.name === 'FN')) {
      // vCard 3.0 requires FN; servers refuse a card without one (Radicale: "must contain at
      // least 1 FN"). A card without any name keeps FN empty, as the converter writes it.
      merged.properties.unshift({ name: 'FN', params: [], value: '', rawValue: '' });
    }
    if (!merged.properties.some((p) => p.name === 'UID')) {
      // Phones rarely send a UID; CardDAV servers and other clients rely on one.
      merged.properties.push({ name: 'UID', params: [], value: randomUUID(), rawValue: '' });
    }
    merged.properties.unshift({ name: 'VERSION', params: [], value: '3.0', rawValue: '3.0' });
    return serializeVersit(merged, { version: '3.0' });
  },

  fingerprints(serverData: string): string[] {
    const fp = contactFingerprint(serverData);
    const keys = [...fp.phones.map((p) => `${fp.names}|tel:${p}`), ...fp.emails.map((e) => `${fp.names}|mail:${e}`)];
    return keys.length ? keys : fp.names ? [fp.names] : [];
  },

  modifiedAt(serverData: string): Date | undefined {
    const rev = singleCard(serverData).properties.find((p) => p.name === 'REV')?.value.trim();
    if (!rev) return undefined;
    // REV is ISO 8601, basic (19970905T102030Z) or extended form.
    const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2}))?(Z)?/.exec(rev);
    if (!m) return undefined;
    const [, y, mo, d, h = '00', mi = '00', se = '00'] = m;
    return new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}Z`);
  },

  fieldDigests(deviceData: string): string {
    // The parser reads every vCard version into the same model: no conversion needed first.
    return encodeDigests(contactDigests(parseContact(deviceData)));
  },

  withoutFields(serverData: string, names: readonly string[]): string {
    const drop = new Set(names);
    const contact = parseContact(serverData);
    contact.properties = contact.properties.filter((p) => !drop.has(p.name));
    return serializeContact(contact, '3.0');
  },

  hash(serverData: string): string {
    return contentHash(singleCard(serverData));
  },
};

function deviceVersion(to: DeviceFormat): '2.1' | '3.0' | '4.0' {
  const type = to.type.toLowerCase();
  return type === 'text/x-vcard' ? '2.1' : type === 'text/vcard' && to.version === '4.0' ? '4.0' : '3.0';
}

function contentHash(card: VersitComponent): string {
  const lines = card.properties.filter((p) => !VOLATILE.has(p.name)).map(propKey).sort();
  return hash('sha1', lines.join('\n'), 'base64');
}
