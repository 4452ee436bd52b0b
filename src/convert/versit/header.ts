// The header of a versit property line (before the value's colon): group, name, parameters
// (bare 2.1 words too), and the ENCODING and CHARSET they declare.
import { splitAt } from './text.js';
import type { VersitEncoding, VersitParam } from './types.js';

const ENCODING_WORDS = new Set(['QUOTED-PRINTABLE', 'QUOTEDPRINTABLE', 'QP', 'BASE64', 'B', '7BIT', '8BIT']);
const VALUE_WORDS = new Set(['INLINE', 'URL', 'URI', 'CID', 'CONTENT-ID']);
// Letters, digits, "-" and "_" per RFC 2425; KDE also writes "/" (X-messaging/aim-All).
const NAME_RE = /^[A-Za-z0-9_/+-]+$/;

export const UNBALANCED = -2;

/**
 * Index of the colon ending the property header: the first one outside a quoted param value;
 * -1 without any colon, UNBALANCED when a quote opened before the first colon never closes.
 */
export function findColon(line: string): number {
  const first = line.indexOf(':');
  if (first < 0) return -1;
  const quote = line.indexOf('"');
  if (quote < 0 || quote > first) return first;
  let inQuotes = false;
  for (let k = 0; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c === 0x22) inQuotes = !inQuotes;
    else if (c === 0x3a && !inQuotes) return k;
  }
  return UNBALANCED;
}

export interface Header {
  group?: string;
  name: string;
  params: VersitParam[];
  encoding?: VersitEncoding;
  charset?: string;
}

/** `header.split(';')` outside quoted values. */
function splitParams(header: string): string[] {
  if (header.indexOf('"') < 0) return splitAt(header, ';');
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (const ch of header) {
    if (ch === '"') inQuotes = !inQuotes;
    if (ch === ';' && !inQuotes) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseHeader(header: string): Header | undefined {
  const parts = splitParams(header);
  let full = parts[0].trim();
  let group: string | undefined;
  const dot = full.lastIndexOf('.');
  if (dot >= 0) {
    group = full.slice(0, dot);
    full = full.slice(dot + 1);
  }
  if (!NAME_RE.test(full)) return undefined;
  const h: Header = { name: full.toUpperCase(), params: [] };
  if (group !== undefined) h.group = group;
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k].trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    let param: VersitParam;
    if (eq < 0) {
      const word = p.toUpperCase();
      const pname = ENCODING_WORDS.has(word) ? 'ENCODING' : VALUE_WORDS.has(word) ? 'VALUE' : 'TYPE';
      param = { name: pname, value: p, bare: true };
    } else {
      let v = p.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      param = { name: p.slice(0, eq).trim().toUpperCase(), value: v };
    }
    h.params.push(param);
    if (param.name === 'ENCODING') {
      const enc = normaliseEncoding(param.value);
      if (enc !== undefined || h.encoding === undefined) h.encoding = enc;
    } else if (param.name === 'CHARSET') {
      h.charset = param.value;
    }
  }
  return h;
}

function normaliseEncoding(v: string): VersitEncoding | undefined {
  switch (v.toUpperCase()) {
    case 'QUOTED-PRINTABLE':
    case 'QUOTEDPRINTABLE': // Funambol test data
    case 'QP':
      return 'QUOTED-PRINTABLE';
    case 'BASE64':
      return 'BASE64';
    case 'B':
      return 'B';
    case '8BIT':
      return '8BIT';
    default:
      return undefined;
  }
}
