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

export function parseXml(text: string): Record<string, unknown> | undefined {
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function toResponse(r: Record<string, unknown>, raw: unknown, outer: { status: number; statusText: string }): DAVResponse {
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
}

export type RawResponse = Record<string, unknown>;

/** One response element parsed by fast-xml-parser (the general path). */
export function parseResponseXml(span: string): RawResponse | undefined {
  const r = multistatusOf(parseXml(`<multistatus>${span}</multistatus>`))?.['response'];
  return r && typeof r === 'object' && !Array.isArray(r) ? (r as RawResponse) : undefined;
}

/** A plain element name, optionally prefixed, nothing else in the tag (no attributes; `<x />` as Radicale writes it). */
const PLAIN_NAME = /^\/?(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)\s*\/?$/;

type Built = { name: string; children: Record<string, unknown> | undefined; text: string };

/** What a tag's text says: its camelCase local name, and whether it closes or is empty. */
type TagInfo = { local: string; closing: boolean; empty: boolean };

/**
 * Tag texts repeat by the thousand in a listing (`d:href`, `/d:propstat`): each is read once. The
 * memo is bounded, because a hostile server may send any number of distinct names.
 */
const tagMemo = new Map<string, TagInfo | null>();
const TAG_MEMO_MAX = 512;

function tagInfo(inner: string): TagInfo | null {
  const known = tagMemo.get(inner);
  if (known !== undefined) return known;
  const name = inner.startsWith('/') && inner.endsWith('/') ? undefined : PLAIN_NAME.exec(inner)?.[1];
  const info = name === undefined ? null : { local: camel(name), closing: inner.startsWith('/'), empty: !inner.startsWith('/') && inner.endsWith('/') };
  if (tagMemo.size >= TAG_MEMO_MAX) tagMemo.clear();
  tagMemo.set(inner, info);
  return info;
}

/**
 * The common shape of a response (elements without attributes, text-only leaves, as listings and
 * multigets are) read with one scan, in the form fast-xml-parser gives it with this module's
 * options: ~5x cheaper than the parser, which was the largest cost of a refresh's DAV reads.
 * Undefined for anything else (attributes, mixed content, processing instructions, a stray `<`):
 * the caller parses that response with fast-xml-parser. The span has no CDATA or comments
 * (responseSpans).
 */
export function scanResponse(span: string): RawResponse | undefined {
  const stack: Built[] = [];
  let root: RawResponse | undefined;
  let at = 0;
  for (let lt = span.indexOf('<'); lt >= 0; lt = span.indexOf('<', at)) {
    const gt = span.indexOf('>', lt + 1);
    if (gt < 0) return undefined;
    // A `<` inside the tag: not XML this scan reads.
    if (span.lastIndexOf('<', gt) !== lt) return undefined;
    const between = span.slice(at, lt);
    at = gt + 1;
    const inner = span.slice(lt + 1, gt);
    const top = stack[stack.length - 1];
    if (top) top.text += between;
    else if (between.trim() !== '') return undefined;
    const tag = tagInfo(inner);
    if (tag === null) {
      // The response element itself may declare namespaces; nothing else may carry attributes.
      if (stack.length === 0 && root === undefined && /^(?:[A-Za-z_][\w.-]*:)?response\s+xmlns(?::[\w.-]+)?\s*=/.test(inner) && !inner.endsWith('/')) {
        stack.push({ name: 'response', children: undefined, text: '' });
        continue;
      }
      return undefined;
    }
    const local = tag.local;
    if (tag.closing) {
      const done = stack.pop();
      if (!done || done.name !== local) return undefined;
      const value = valueOf(done);
      if (value === undefined) return undefined;
      const parent = stack[stack.length - 1];
      if (!parent) {
        if (typeof value !== 'object' || value === null) return undefined;
        root = value as RawResponse;
        continue;
      }
      addChild(parent, local, value);
    } else if (tag.empty) {
      const parent = stack[stack.length - 1];
      if (!parent) return undefined;
      addChild(parent, local, '');
    } else {
      if (stack.length === 0 && root !== undefined) return undefined;
      stack.push({ name: local, children: undefined, text: '' });
    }
  }
  if (stack.length !== 0 || !root || span.slice(at).trim() !== '') return undefined;
  return root;
}

function addChild(parent: Built, name: string, value: unknown): void {
  parent.children ??= {};
  const prev = parent.children[name];
  if (prev === undefined) parent.children[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else parent.children[name] = [prev, value];
}

/** An element's value: its (trimmed, decoded) text, or its children; undefined for mixed content. */
function valueOf(el: Built): unknown {
  const text = el.text.trim();
  if (el.children) return text === '' ? el.children : undefined;
  return text === '' ? '' : decodeEntities(text);
}

/** The multistatus element of a parsed body, or undefined when it is not one. */
export function multistatusOf(doc: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const found = doc?.['multistatus'];
  // An empty <multistatus/> (nothing matched a calendar-query) parses as ''.
  if (found === undefined || (found !== '' && typeof found !== 'object')) return undefined;
  return found === '' ? {} : (found as Record<string, unknown>);
}
