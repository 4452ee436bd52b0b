// DAV request bodies and multistatus answers for the item path (listing, multiget, sync-collection,
// ETag reads), without tsdav's xml-js/sax round trip: fast-xml-parser (already the SyncML codec's
// parser) reads the answer into the same shape tsdav's davRequest gives (`DAVResponse`: href,
// status, ok, props merged from the 2xx propstats, camelCase local names), so callers do not change.
// Entities are decoded here in one pass: fast-xml-parser leaves numeric references (`&#13;`, which
// servers use for the CR of CRLF item data) undecoded.
import { XMLParser } from 'fast-xml-parser';
import type { DAVResponse } from 'tsdav';

/** A request body in xml-js "compact" form, as tsdav takes it: `{ 'd:prop': { 'd:getetag': {} } }`. */
export type CompactXml = Record<string, unknown>;

const ENTITY = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (m, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name) return NAMED[name] ?? m;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

function writeNode(name: string, value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) writeNode(name, v, out);
    return;
  }
  out.push('<', name);
  if (value === null || typeof value !== 'object') {
    out.push('>', escapeXml(String(value)), '</', name, '>');
    return;
  }
  const obj = value as Record<string, unknown>;
  const attrs = obj['_attributes'] as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(attrs ?? {})) out.push(' ', k, '="', escapeXml(String(v)), '"');
  const children = Object.entries(obj).filter(([k]) => k !== '_attributes' && k !== '_text');
  const text = obj['_text'];
  if (!children.length && text === undefined) {
    out.push('/>');
    return;
  }
  out.push('>');
  if (text !== undefined) out.push(escapeXml(String(text)));
  for (const [k, v] of children) writeNode(k, v, out);
  out.push('</', name, '>');
}

/** Serialises a compact body (every element name carries its prefix, as in dav-store.ts). */
export function compactToXml(body: CompactXml): string {
  const out: string[] = ['<?xml version="1.0" encoding="utf-8"?>'];
  for (const [k, v] of Object.entries(body)) writeNode(k, v, out);
  return out.join('');
}

const camel = (local: string): string => local.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '_attributes',
  textNodeName: '_text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  transformTagName: camel,
  tagValueProcessor: (_name, value) => decodeEntities(value),
  attributeValueProcessor: (_name, value) => decodeEntities(value),
});

function statusOf(line: unknown): { status: number; statusText: string } | undefined {
  const m = typeof line === 'string' ? /^HTTP\/[\d.]+\s+(\d{3})\s*(.*)$/.exec(line.trim()) : null;
  return m ? { status: Number(m[1]), statusText: m[2] ?? '' } : undefined;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The responses of a multistatus body, or undefined when the text is not one (the caller turns
 * that into an error). `outer` is the HTTP status of the whole answer (207).
 */
export function parseMultistatus(text: string, outer: { status: number; statusText: string }): DAVResponse[] | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // An empty <multistatus/> (nothing matched a calendar-query) parses as ''.
  const found = doc['multistatus'];
  if (found === undefined || (found !== '' && typeof found !== 'object')) return undefined;
  const ms = found === '' ? {} : found;
  const raw = { multistatus: ms };
  const responses = asArray((ms as Record<string, unknown>)['response'] as Record<string, unknown> | Array<Record<string, unknown>> | undefined);
  if (!responses.length) return [{ raw, status: outer.status, statusText: outer.statusText, ok: outer.status >= 200 && outer.status < 300 }];
  return responses.map((r) => {
    const parsed = statusOf(r['status']);
    const status = parsed?.status ?? outer.status;
    const props: Record<string, unknown> = {};
    for (const ps of asArray(r['propstat'] as Record<string, unknown> | Array<Record<string, unknown>> | undefined)) {
      const s = statusOf(ps?.['status'])?.status;
      if (s !== undefined && (s < 200 || s >= 300)) continue;
      const prop = ps?.['prop'];
      if (!prop || typeof prop !== 'object') continue;
      // An empty element reads as {} (as tsdav gives it), not '': "present, no value".
      for (const [k, v] of Object.entries(prop)) props[k] = v === '' ? {} : v;
    }
    return {
      raw,
      href: asArray(r['href']).find((h): h is string => typeof h === 'string'),
      status,
      statusText: parsed?.statusText ?? outer.statusText,
      ok: status >= 200 && status < 300,
      error: r['error'] as DAVResponse['error'],
      responsedescription: r['responsedescription'] as DAVResponse['responsedescription'],
      props,
    } as DAVResponse;
  });
}
