// Applies a device's field filter to contacts: what is sent to the phone (filterForDevice) and how
// a phone's Replace is merged into the server's contact without losing what the phone cannot hold.
import type { VersitParam } from '../versit/index.js';
import type { Contact, ContactProperty } from '../vcard/index.js';
import { capFor } from './ctcap.js';
import type { FieldFilter, PropertyCap } from './ctcap.js';

/** Why a server property did not go to the device. */
type DropReason = 'absent' | 'occur' | 'size' | 'value';

interface Projection {
  /** What the device receives for each server property (same index), or why it receives nothing. */
  sent: Array<ContactProperty | DropReason>;
}

/** Never removed by a device: CardDAV servers and other clients identify the contact by it. */
const KEEP_SERVER = new Set(['UID']);
/** Media properties are dropped when too large: a cut base64 image is garbage. */
const MEDIA = new Set(['PHOTO', 'LOGO', 'SOUND', 'KEY']);
/** Structured values whose components are limited one by one. */
const STRUCTURED = new Set(['N', 'ADR', 'ORG', 'GENDER']);
const LISTS = new Set(['CATEGORIES', 'NICKNAME']);

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The longest prefix of `s` (whole code points) of at most `max` UTF-8 bytes. */
export function truncateUtf8(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = utf8Length(ch);
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/** TYPE values the device stores. No parameter info at all: everything; a listed TYPE with no values: everything. */
function allowedTypes(cap: PropertyCap | undefined, types: readonly string[]): string[] {
  if (cap?.params === undefined) return types.slice();
  const allowed = cap.params.TYPE;
  if (allowed === undefined) return [];
  if (allowed.length === 0) return types.slice();
  return types.filter((t) => allowed.includes(t.toUpperCase()));
}

function allowedParams(cap: PropertyCap | undefined, params: readonly VersitParam[]): VersitParam[] {
  if (cap?.params === undefined) return params.slice();
  const p = cap.params;
  return params.filter((x) => {
    const allowed = p[x.name.toUpperCase()];
    return allowed !== undefined && (allowed.length === 0 || allowed.includes(x.value.toUpperCase()));
  });
}

function isMedia(p: ContactProperty): boolean {
  return MEDIA.has(p.name) && (p.binary === true || p.uri === true);
}

function truncateValue(v: string, max: number, raw: boolean): string {
  let t = truncateUtf8(v, max);
  // A raw value keeps its escapes: never end on half of one (`\` + cut `n`).
  if (raw && /(^|[^\\])(\\\\)*\\$/.test(t)) t = t.slice(0, -1);
  return t;
}

/** One property as the device would store it, or why it cannot. */
function project(p: ContactProperty, cap: PropertyCap | undefined): ContactProperty | DropReason {
  if (cap === undefined) return 'absent';
  if (cap.valEnum !== undefined && cap.valEnum.length > 0 && p.values.length === 1 && !STRUCTURED.has(p.name)) {
    const v = (p.values[0] ?? '').trim().toUpperCase();
    if (v !== '' && !cap.valEnum.some((e) => e.toUpperCase() === v)) return 'value';
  }
  let values = p.values;
  if (cap.maxSize !== undefined) {
    const max = cap.maxSize;
    if (isMedia(p)) {
      if ((p.values[0] ?? '').length > max) return 'size';
    } else if (values.some((v) => utf8Length(v) > max)) {
      if (cap.noTruncate === true) return 'size';
      values = values.map((v) => truncateValue(v, max, p.raw === true));
    }
  }
  const out: ContactProperty = { ...p, types: allowedTypes(cap, p.types), params: allowedParams(cap, p.params), values: values.slice() };
  return out;
}

function projectContact(contact: Contact, filter: FieldFilter): Projection {
  const sent: Projection['sent'] = contact.properties.map((p) => project(p, capFor(filter, p.name)));
  // MaxOccur: the preferred entries first, then document order (the phone's first slot is
  // usually its default number/address).
  const byName = new Map<string, number[]>();
  contact.properties.forEach((p, i) => {
    if (typeof sent[i] === 'string') return;
    const list = byName.get(p.name) ?? [];
    list.push(i);
    byName.set(p.name, list);
  });
  for (const [name, idx] of byName) {
    const max = capFor(filter, name)?.maxOccur;
    if (max === undefined || idx.length <= max) continue;
    const pref = (i: number): number => (contact.properties[i]!.types.includes('PREF') ? 0 : 1);
    const order = idx.slice().sort((a, b) => pref(a) - pref(b) || a - b);
    for (const i of order.slice(max)) sent[i] = 'occur';
  }
  return { sent };
}

/**
 * What the device receives: properties its CTCap does not list are dropped, at most MaxOccur of
 * each (PREF first) are kept, values are cut to MaxSize (a property marked NoTruncate, and media
 * such as PHOTO, are dropped instead), TYPE values and parameters it does not list are removed.
 * Without a filter the contact is returned unchanged.
 */
export function filterForDevice(contact: Contact, filter: FieldFilter | undefined): Contact {
  if (filter === undefined) return { version: contact.version, properties: contact.properties.map((p) => ({ ...p })) };
  const { sent } = projectContact(contact, filter);
  return { version: contact.version, properties: sent.filter((p): p is ContactProperty => typeof p !== 'string') };
}

// ------------------------------------------------------------------------------ comparing

/** Type tokens devices add on their own and that carry no meaning (vCard 2.1 defaults). */
function implicitType(name: string, t: string): boolean {
  return (name === 'EMAIL' && t === 'INTERNET') || (name === 'TEL' && t === 'VOICE');
}

function typeKey(p: ContactProperty, cap: PropertyCap | undefined): string {
  return [...new Set(allowedTypes(cap, p.types.map((t) => t.toUpperCase())))]
    .filter((t) => !implicitType(p.name, t))
    .sort()
    .join(',');
}

function normText(name: string, v: string): string {
  const t = v.replace(/\r\n?/g, '\n').trim();
  // Phones reformat numbers ("+49 30 1234" -> "+49301234"); digits and a leading + are the number.
  return name === 'TEL' ? t.replace(/[^\d+*#]/g, '') : t;
}

function trimmedValues(p: ContactProperty): string[] {
  const v = p.values.slice();
  if (isMedia(p)) return [(v[0] ?? '').replace(/\s+/g, '')];
  // Empty list items do not survive a vCard (`CATEGORIES:,a` reads as one item).
  if (LISTS.has(p.name)) return v.map((x) => x.trim()).filter((x) => x !== '');
  while (v.length > 0 && v[v.length - 1]!.trim() === '') v.pop();
  return v;
}

function isEmpty(p: ContactProperty): boolean {
  return p.values.every((v) => v.trim() === '');
}

/** The device's value is the server's, cut by the device because it exceeds the device's MaxSize. */
function truncatedPrefix(dev: string, server: string, cap: PropertyCap | undefined): boolean {
  if (cap?.maxSize === undefined || utf8Length(server) <= cap.maxSize) return false;
  const d = dev.replace(/\r\n?/g, '\n');
  const stem = d.trimEnd() === '' ? d : d.trimEnd();
  return stem !== '' && server.startsWith(stem);
}

function sameValue(name: string, a: string | undefined, b: string | undefined): boolean {
  return normText(name, a ?? '') === normText(name, b ?? '');
}

/** The device sent back what it got (allowing for its truncation and number formatting). */
function unchanged(dev: ContactProperty, sent: ContactProperty, server: ContactProperty, cap: PropertyCap | undefined): boolean {
  if (typeKey(dev, cap) !== typeKey(sent, cap)) return false;
  const dv = trimmedValues(dev);
  const sv = trimmedValues(sent);
  const full = trimmedValues(server);
  const n = Math.max(dv.length, sv.length);
  for (let k = 0; k < n; k++) {
    if (sameValue(dev.name, dv[k], sv[k]) || sameValue(dev.name, dv[k], full[k])) continue;
    if (dv[k] !== undefined && full[k] !== undefined && truncatedPrefix(dv[k]!, full[k]!, cap)) continue;
    return false;
  }
  return true;
}

function sameValues(a: ContactProperty, b: ContactProperty): boolean {
  const av = trimmedValues(a);
  const bv = trimmedValues(b);
  return av.length === bv.length && av.every((v, k) => sameValue(a.name, v, bv[k]));
}

/** The device's changed property, keeping what it could not represent from the server's. */
function combine(server: ContactProperty, dev: ContactProperty, cap: PropertyCap | undefined): ContactProperty {
  const out: ContactProperty = { ...dev, types: dev.types.slice(), params: dev.params.slice(), values: dev.values.slice() };
  if (server.group !== undefined) out.group = server.group;
  else delete out.group;
  const representable = new Set(allowedTypes(cap, server.types));
  for (const t of server.types) if (!representable.has(t) && !out.types.includes(t)) out.types.push(t);
  const keptParams = new Set(allowedParams(cap, server.params));
  for (const prm of server.params) {
    if (!keptParams.has(prm) && !out.params.some((x) => x.name === prm.name)) out.params.push(prm);
  }
  if (!isMedia(dev) && !isMedia(server)) {
    out.values = dev.values.map((v, k) => {
      const s = server.values[k];
      return s !== undefined && truncatedPrefix(v, s, cap) ? s : v;
    });
  }
  return out;
}

// ------------------------------------------------------------------------------ pairing

interface Candidate {
  /** Index in the server contact. */
  index: number;
  /** What the device got for it. */
  sent: ContactProperty;
}

/**
 * Pairs the device's properties of one name with what it was sent: first those that are
 * unchanged, then equal values (type changed), then equal type sets (value changed), then by
 * position. Returns, per device property, the candidate it replaces (or undefined: new).
 */
function pair(dev: ContactProperty[], cands: Candidate[], server: Contact, cap: PropertyCap | undefined): Array<Candidate | undefined> {
  const out: Array<Candidate | undefined> = dev.map(() => undefined);
  const used = new Set<number>();
  const pass = (ok: (d: ContactProperty, c: Candidate) => boolean): void => {
    dev.forEach((d, di) => {
      if (out[di] !== undefined) return;
      const c = cands.find((x) => !used.has(x.index) && ok(d, x));
      if (c) {
        out[di] = c;
        used.add(c.index);
      }
    });
  };
  pass((d, c) => unchanged(d, c.sent, server.properties[c.index]!, cap));
  pass((d, c) => !isEmpty(d) && sameValues(d, c.sent));
  pass((d, c) => typeKey(d, cap) === typeKey(c.sent, cap));
  pass(() => true);
  return out;
}

/**
 * Merges a device's Replace into the server's contact. Only what the user changed on the phone
 * changes: properties the device cannot store (not in its CTCap, beyond its MaxOccur, too large,
 * a value cut to its MaxSize) keep their server values; a property the device can store but did
 * not send, or sent empty, is removed. Without a filter (no CTCap) a property name the device did
 * not send keeps its server values and the names it sent replace the server's.
 */
export function mergeFromDevice(server: Contact, device: Contact, filter: FieldFilter | undefined): Contact {
  const projection = filter ? projectContact(server, filter) : undefined;
  const slots: Array<ContactProperty | null> = server.properties.slice();
  const added: ContactProperty[] = [];
  const names = [...new Set([...server.properties.map((p) => p.name), ...device.properties.map((p) => p.name)])];

  for (const name of names) {
    const dev = device.properties.filter((p) => p.name === name);
    const serverIdx: number[] = [];
    server.properties.forEach((p, i) => {
      if (p.name === name) serverIdx.push(i);
    });
    if (KEEP_SERVER.has(name) && serverIdx.length > 0) continue;
    const cap = filter ? capFor(filter, name) : undefined;
    let cands: Candidate[];
    const withheld: number[] = [];
    if (projection && cap) {
      cands = [];
      for (const i of serverIdx) {
        const s = projection.sent[i]!;
        if (typeof s !== 'string') cands.push({ index: i, sent: s });
        else if (s === 'size' || s === 'value') withheld.push(i);
      }
    } else {
      // No capability known for this name: the device's list, if it sent one, replaces the server's.
      if (dev.length === 0) continue;
      cands = serverIdx.map((i) => ({ index: i, sent: server.properties[i]! }));
    }
    const pairs = pair(dev, cands, server, cap);
    const paired = new Set<number>();
    dev.forEach((d, di) => {
      const c = pairs[di];
      if (c !== undefined) {
        paired.add(c.index);
        const s = server.properties[c.index]!;
        if (unchanged(d, c.sent, s, cap)) return;
        slots[c.index] = isEmpty(d) ? null : combine(s, d, cap);
        return;
      }
      if (isEmpty(d)) return;
      // A slot the phone showed empty because the server's value was withheld (too large, not an
      // allowed value) and the user filled in: the new value replaces the withheld one.
      const w = withheld.shift();
      if (w !== undefined) slots[w] = combine(server.properties[w]!, d, cap);
      else added.push({ ...d });
    });
    // The device could store these, got them, and did not send them back: deleted on the phone.
    for (const c of cands) if (!paired.has(c.index)) slots[c.index] = null;
  }

  const out = slots.filter((p): p is ContactProperty => p !== null);
  for (const p of added) {
    let at = -1;
    out.forEach((q, i) => {
      if (q.name === p.name) at = i;
    });
    if (at >= 0) out.splice(at + 1, 0, p);
    else out.push(p);
  }
  return { version: server.version, properties: out };
}
