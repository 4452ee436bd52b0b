// vCard 2.1/3.0/4.0 -> Contact: reads the versit tree and interprets each property's parameters
// and value syntax (structured, list, date, binary, GEO, tel: URIs) independent of the version.
import { GatewayError } from '../../errors.js';
import { deviceName, parseVersit, splitList, splitParamList, splitStructured, unescapeText } from '../versit/index.js';
import type { ParseVersitOptions, VersitComponent, VersitParam, VersitProperty } from '../versit/index.js';
import { canonicalDate } from './dates.js';
import { parseDataUri, sniffMediaType, tokenToMediaType } from './media.js';
import type { Contact, ContactProperty, VcardVersion } from './model.js';

export type ParseContactOptions = ParseVersitOptions;

/** Properties whose value is a `;`-separated structure. */
export const STRUCTURED = new Set(['N', 'ADR', 'ORG', 'GENDER']);
/** Properties whose value is a `,`-separated list. */
export const LISTS = new Set(['CATEGORIES', 'NICKNAME']);
/** Properties that may carry inline binary data. */
export const BINARY = new Set(['PHOTO', 'LOGO', 'SOUND', 'KEY']);
/** Single text values this module interprets (unescaped on input, escaped on output). */
export const TEXT = new Set([
  'FN', 'NOTE', 'TITLE', 'ROLE', 'TEL', 'EMAIL', 'URL', 'UID', 'REV', 'LABEL', 'MAILER', 'TZ',
  'SORT-STRING', 'PRODID', 'CLASS', 'KIND', 'LANG', 'IMPP', 'SOURCE', 'NAME', 'PROFILE', 'FBURL',
  'CALURI', 'CALADRURI', 'BDAY', 'ANNIVERSARY', 'DEATHDATE', 'BIRTHPLACE', 'DEATHPLACE', 'EXPERTISE',
  'HOBBY', 'INTEREST', 'ORG-DIRECTORY', 'PHOTO', 'LOGO', 'SOUND', 'KEY', 'MEMBER', 'RELATED', 'XML',
]);
const DATES = new Set(['BDAY', 'ANNIVERSARY', 'DEATHDATE']);

/** Parses exactly one vCard; more than one, or none, is an `INVALID_ITEM`. */
export function parseContact(input: string | Uint8Array, opts?: ParseContactOptions): Contact {
  const all = parseContacts(input, opts);
  if (all.length !== 1) throw new GatewayError('INVALID_ITEM', `expected one vCard, found ${all.length}`);
  return all[0];
}

/** Parses every top-level vCard of a stream (address-book exports hold many). */
export function parseContacts(input: string | Uint8Array, opts?: ParseContactOptions): Contact[] {
  return contactsFromComponents(parseVersit(input, opts), opts);
}

/** `parseContacts` after the versit parse: for a caller that also needs the versit tree. */
export function contactsFromComponents(comps: readonly VersitComponent[], opts?: ParseContactOptions): Contact[] {
  const out: Contact[] = [];
  for (const c of comps) {
    if (c.name !== 'VCARD') {
      throw new GatewayError('INVALID_ITEM', `line ${c.line ?? '?'}: expected BEGIN:VCARD, found BEGIN:${c.name}`);
    }
    // Not kept by the model: said, not silently lost (a nested card is no property of this one).
    for (const n of c.components) opts?.onWarning?.(`line ${n.line ?? '?'}: nested ${n.name} (2.1 AGENT) not kept`);
    out.push(contactFromComponent(c));
  }
  return out;
}

/** Interprets a parsed VCARD component. Nested vCards (2.1 AGENT) are not kept. */
export function contactFromComponent(c: VersitComponent): Contact {
  let version: VcardVersion | undefined;
  for (const p of c.properties) {
    if (p.name === 'VERSION') {
      const v = p.value.trim();
      version = v === '4.0' ? '4.0' : v === '3.0' ? '3.0' : '2.1';
      break;
    }
  }
  // No VERSION: legacy encodings or bare params say 2.1, otherwise assume 3.0.
  version ??= c.properties.some((p) => p.encoding === 'QUOTED-PRINTABLE' || p.params.some((x) => x.bare === true || x.name === 'CHARSET')) ? '2.1' : '3.0';
  const properties: ContactProperty[] = [];
  for (const p of c.properties) {
    if (p.name === 'VERSION') continue;
    properties.push(interpret(p, version));
  }
  return { version, properties };
}

function interpret(stored: VersitProperty, version: VcardVersion): ContactProperty {
  // A device name the server cannot store came back under its X- stand-in: the device's again.
  const restored = deviceName(stored.name, stored.params);
  const p = restored ? { ...stored, ...restored } : stored;
  let name = p.name;
  if (name === 'X-ANNIVERSARY') name = 'ANNIVERSARY';
  const types: string[] = [];
  const params: VersitParam[] = [];
  let valueParam: string | undefined;
  let mediaType: string | undefined;
  let omitYear: string | undefined;
  for (const prm of p.params) {
    switch (prm.name) {
      case 'TYPE':
        for (const t of splitParamList(prm.value)) {
          const up = t.trim().toUpperCase();
          if (up !== '' && !types.includes(up)) types.push(up);
        }
        break;
      case 'PREF': // vCard 4.0: PREF=1..100; any PREF marks the preferred entry
        if (!types.includes('PREF')) types.push('PREF');
        break;
      case 'ENCODING':
      case 'CHARSET':
        break;
      case 'VALUE':
        valueParam = prm.value.toUpperCase();
        break;
      case 'MEDIATYPE':
        mediaType = prm.value.toLowerCase();
        break;
      case 'X-APPLE-OMIT-YEAR':
        omitYear = prm.value;
        break;
      default:
        params.push({ name: prm.name, value: prm.value });
    }
  }
  const cp: ContactProperty = { name, types, params, values: [] };
  if (p.group !== undefined) cp.group = p.group;
  const value = p.value;

  if (BINARY.has(name)) {
    const isB64 = p.encoding === 'BASE64' || p.encoding === 'B';
    const data = isB64 ? undefined : parseDataUri(value);
    const isUri = valueParam === 'URL' || valueParam === 'URI' || (!isB64 && /^[a-z][a-z0-9+.-]*:/i.test(value) && name !== 'SOUND');
    if (isB64 || data !== undefined || isUri) {
      // The format travels as a TYPE token in 2.1/3.0 (`JPEG`), as MEDIATYPE or data: URI in 4.0.
      const fmt = types.find((t) => t !== 'PREF');
      if (fmt !== undefined) {
        mediaType ??= tokenToMediaType(name, fmt);
        types.splice(types.indexOf(fmt), 1);
      }
      if (data !== undefined && data.mediaType !== undefined) mediaType = data.mediaType;
      if (mediaType === undefined && (isB64 || data !== undefined)) mediaType = sniffMediaType(data?.base64 ?? value);
      if (mediaType !== undefined) cp.mediaType = mediaType;
      if (isB64 || data !== undefined) {
        cp.binary = true;
        cp.values = [data !== undefined ? data.base64 : value];
      } else {
        cp.uri = true;
        cp.values = [value.trim()];
      }
      return cp;
    }
    // Otherwise a text value (SOUND;X-IRMC-N carries the phonetic name on Japanese phones).
  }
  if (mediaType !== undefined) params.push({ name: 'MEDIATYPE', value: mediaType });

  if (STRUCTURED.has(name)) {
    cp.values = splitStructured(value).map(normaliseNewlines);
  } else if (LISTS.has(name)) {
    cp.values = splitList(value).map((s) => normaliseNewlines(s).trim()).filter((s) => s !== '');
  } else if (name === 'GEO') {
    const geo = parseGeo(value);
    if (geo !== undefined) cp.values = geo;
    else {
      cp.raw = true;
      cp.values = [value];
    }
  } else if (DATES.has(name)) {
    const text = unescapeText(value).trim();
    const canon = valueParam === 'TEXT' ? undefined : canonicalDate(text, omitYear);
    if (canon !== undefined) cp.values = [canon];
    else {
      cp.values = [text];
      if (valueParam !== undefined) params.push({ name: 'VALUE', value: valueParam.toLowerCase() });
      if (omitYear !== undefined) params.push({ name: 'X-APPLE-OMIT-YEAR', value: omitYear });
    }
  } else if (name === 'TEL') {
    let t = normaliseNewlines(unescapeText(value)).trim();
    // vCard 4.0 TEL;VALUE=uri:tel:+1-555-555-5555 — the number is what devices understand.
    if (/^tel:/i.test(t)) t = t.slice(4).replace(/;.*$/, '');
    else if (valueParam !== undefined && valueParam !== 'URI' && valueParam !== 'TEXT') if (valueParam !== undefined) params.push({ name: 'VALUE', value: valueParam.toLowerCase() });
    cp.values = [t];
  } else if (TEXT.has(name)) {
    cp.values = [normaliseNewlines(unescapeText(value))];
    if (valueParam !== undefined && valueParam !== 'TEXT') if (valueParam !== undefined) params.push({ name: 'VALUE', value: valueParam.toLowerCase() });
  } else {
    cp.raw = true;
    if (version === '2.1') cp.raw21 = true;
    cp.values = [normaliseNewlines(value)];
    if (valueParam !== undefined) params.push({ name: 'VALUE', value: valueParam.toLowerCase() });
    if (omitYear !== undefined) params.push({ name: 'X-APPLE-OMIT-YEAR', value: omitYear });
  }
  return cp;
}

function normaliseNewlines(s: string): string {
  return s.indexOf('\r') < 0 ? s : s.replace(/\r\n|\r/g, '\n');
}

const NUM_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** GEO: 2.1 `lat,lon`, 3.0 `lat;lon`, 4.0 `geo:lat,lon[;u=…]` -> [lat, lon]. */
function parseGeo(value: string): string[] | undefined {
  let v = value.trim();
  if (/^geo:/i.test(v)) v = v.slice(4).replace(/;.*$/, '');
  const parts = v.split(/\\?[;,]/).map((s) => s.trim());
  if (parts.length < 2 || !NUM_RE.test(parts[0]) || !NUM_RE.test(parts[1])) return undefined;
  return [parts[0], parts[1]];
}
