// SyncML XML codec: XML text <-> encoding-neutral element tree (tree.ts).
// Parsing uses fast-xml-parser's ordered mode because SyncML meaning depends on command order.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { GatewayError } from '../errors.js';
import { isElement, isOpaque, type SmlElement, type SmlNode } from './tree.js';
import { decodeUtf8Lossless } from './lossless-utf8.js';
import { prescanXml, type DecodeLimits } from './decode-limits.js';
import { scanXml } from './xml-scan.js';

export interface XmlDecodeOptions {
  /** Deepest element nesting accepted (SyncML with DevInf needs ~12). */
  maxDepth?: number;
  /** Element/attribute/reference counts checked by a pre-scan before parsing. */
  limits?: DecodeLimits;
}

const DEFAULT_MAX_DEPTH = 64;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Prefixes are stripped by hand (localName) so that xmlns attributes stay visible.
  removeNSPrefix: false,
  processEntities: true,
  htmlEntities: false,
});

type OrderedNode = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Parse a SyncML XML document into its root element. Throws BAD_MESSAGE on anything malformed. */
export function decodeXml(input: string | Uint8Array, opts: XmlDecodeOptions = {}): SmlElement {
  // A large-object chunk may end inside a character: such bytes are kept (see lossless-utf8.ts).
  const text = typeof input === 'string' ? input : decodeUtf8Lossless(input);
  rejectDangerousDoctype(text);
  if (opts.limits) prescanXml(text, opts.limits);
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  // The plain shape in one scan; everything else (and every error) through the library.
  return scanXml(text, maxDepth) ?? decodeWithLibrary(text, maxDepth);
}

/** The reference path: fast-xml-parser's validator and parser. Exported for the scan's tests. */
export function decodeWithLibrary(text: string, maxDepth: number): SmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new GatewayError('BAD_MESSAGE', `malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
  }
  let parsed: OrderedNode[];
  try {
    parsed = parser.parse(text) as OrderedNode[];
  } catch (err) {
    throw new GatewayError('BAD_MESSAGE', `malformed XML: ${(err as Error).message}`, { cause: err });
  }
  const roots = parsed.filter((n) => elementName(n) !== undefined);
  if (roots.length !== 1) throw new GatewayError('BAD_MESSAGE', `expected one root element, found ${roots.length}`);
  return toElement(roots[0]!, 1, maxDepth);
}

// Internal DTD subsets allow entity expansion ("billion laughs"); SyncML never needs one.
function rejectDangerousDoctype(text: string): void {
  const m = /<!DOCTYPE/i.exec(text);
  if (!m) return;
  const end = text.indexOf('>', m.index);
  const decl = text.slice(m.index, end < 0 ? undefined : end);
  if (decl.includes('[') || /<!ENTITY/i.test(text)) {
    throw new GatewayError('BAD_MESSAGE', 'DOCTYPE with an internal subset or ENTITY declarations is not accepted');
  }
}

function elementName(node: OrderedNode): string | undefined {
  for (const k of Object.keys(node)) if (k !== ':@' && k !== '#text' && !k.startsWith('?') && !k.startsWith('!')) return k;
  return undefined;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

function toElement(node: OrderedNode, depth: number, maxDepth: number): SmlElement {
  if (depth > maxDepth) throw new GatewayError('BAD_MESSAGE', `XML nesting deeper than ${maxDepth}`);
  const qname = elementName(node)!;
  const name = localName(qname);
  const attrs = node[':@'] as Record<string, string> | undefined;
  const rawChildren = (node[qname] as OrderedNode[] | undefined) ?? [];
  const children: SmlNode[] = [];
  let hasElement = false;
  for (const child of rawChildren) {
    if ('#text' in child) {
      const t = String(child['#text']);
      const last = children[children.length - 1];
      // Adjacent text and CDATA sections form one text value.
      if (typeof last === 'string') children[children.length - 1] = last + t;
      else children.push(t);
    } else if (elementName(child) !== undefined) {
      hasElement = true;
      children.push(toElement(child, depth + 1, maxDepth));
    }
  }
  // Whitespace between elements is formatting, not content.
  const kept = hasElement ? children.filter((c) => typeof c !== 'string' || c.trim() !== '') : children;
  const el: SmlElement = { name, children: kept };
  const ns = attrs?.['@_xmlns'];
  if (ns !== undefined) el.ns = ns;
  return el;
}

export interface XmlEncodeOptions {
  /** Write `<?xml …?>` first (default true). */
  declaration?: boolean;
}

/** Serialize a tree as compact UTF-8 XML (no pretty-printing: phones count bytes). */
export function encodeXml(root: SmlElement, opts: XmlEncodeOptions = {}): string {
  const parts: string[] = [];
  if (opts.declaration !== false) parts.push('<?xml version="1.0" encoding="UTF-8"?>');
  writeElement(root, parts);
  return parts.join('');
}

function writeElement(el: SmlElement, out: string[]): void {
  out.push('<', el.name);
  if (el.ns !== undefined) out.push(' xmlns="', escapeAttr(el.ns), '"');
  if (el.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  // Item data goes in CDATA: some phones' parsers trim whitespace at the edges of plain text,
  // which corrupts vCards and breaks large-object Size checks; CDATA is kept verbatim.
  const cdata = el.name === 'Data' && el.children.length === 1 && typeof el.children[0] === 'string' && /[\s<&]/.test(el.children[0]);
  if (cdata) {
    out.push('<![CDATA[', (el.children[0] as string).replace(/]]>/g, ']]]]><![CDATA[>'), ']]>', '</', el.name, '>');
    return;
  }
  for (const c of el.children) {
    if (typeof c === 'string') out.push(escapeText(c));
    else if (isOpaque(c)) out.push(escapeText(utf8.decode(c.opaque)));
    else if (isElement(c)) writeElement(c, out);
  }
  out.push('</', el.name, '>');
}

/** Pretty-printed XML for humans (the `decode` command); not for the wire. */
export function formatXml(root: SmlElement): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const walk = (el: SmlElement, indent: string): void => {
    const open = `${indent}<${el.name}${el.ns !== undefined ? ` xmlns="${escapeAttr(el.ns)}"` : ''}`;
    if (el.children.length === 0) {
      out.push(`${open}/>\n`);
      return;
    }
    if (el.children.every((c) => !isElement(c))) {
      const text = el.children.map((c) => (typeof c === 'string' ? c : isOpaque(c) ? utf8.decode(c.opaque) : '')).join('');
      out.push(`${open}>${escapeText(text)}</${el.name}>\n`);
      return;
    }
    out.push(`${open}>\n`);
    for (const c of el.children) {
      if (isElement(c)) walk(c, indent + '  ');
      else {
        const t = typeof c === 'string' ? c : utf8.decode(c.opaque);
        if (t.trim() !== '') out.push(`${indent}  ${escapeText(t)}\n`);
      }
    }
    out.push(`${indent}</${el.name}>\n`);
  };
  walk(root, '');
  return out.join('');
}

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&gt;'));
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}
