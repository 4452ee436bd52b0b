// Writes versit components for a target version: parameter style (bare 2.1 types vs TYPE=),
// transfer encoding (QP/base64 for 2.1, ENCODING=b for 3.0), folding at 75 octets, CRLF.
import type { SerializeVersitOptions, VersitComponent, VersitParam, VersitProperty, VersitVersion } from './types.js';
import { isLegacy, splitAt } from './text.js';

const CRLF = '\r\n';
const MAX_OCTETS = 75;
const NEEDS_QP_RE = /[^\x20-\x7e\t]/; // non-ASCII or control characters (line breaks)

/**
 * Serialises a component tree. Property values must already be escaped for the target version
 * (see text.ts). ENCODING and CHARSET parameters are owned by the serializer:
 * - 2.1 / vCal 1.0: base64 values get `ENCODING=BASE64` and end with a blank line; values with
 *   non-ASCII characters or line breaks, and lines longer than 75 octets, get
 *   `CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE` (QP soft breaks are unambiguous, 2.1 folding is not).
 * - 3.0 / 4.0 / iCal 2.0: never QP or CHARSET; base64 values get `ENCODING=b` (iCal:
 *   `ENCODING=BASE64`); bare parameters become `TYPE=`; lines folded at 75 octets.
 */
export function serializeVersit(component: VersitComponent, opts: SerializeVersitOptions): string {
  const out: string[] = [];
  writeComponent(component, opts.version, out);
  return out.join('');
}

function writeComponent(c: VersitComponent, version: VersitVersion, out: string[]): void {
  out.push(`BEGIN:${c.name}${CRLF}`);
  for (const p of c.properties) out.push(serializeProperty(p, version));
  for (const sub of c.components) writeComponent(sub, version, out);
  out.push(`END:${c.name}${CRLF}`);
}

/** One property as one or more physical lines, each ending in CRLF. */
export function serializeProperty(p: VersitProperty, version: VersitVersion): string {
  const legacy = isLegacy(version);
  const binary = p.encoding === 'BASE64' || p.encoding === 'B';
  const params = p.params.filter((x) => x.name !== 'ENCODING' && x.name !== 'CHARSET');
  const name = p.group !== undefined && p.group !== '' ? `${p.group}.${p.name}` : p.name;
  const value = p.value;
  if (legacy) {
    const head = name + legacyParams(params);
    if (binary) return foldBase64(`${head};ENCODING=BASE64:`, value) + CRLF;
    if (NEEDS_QP_RE.test(value) || head.length + 1 + value.length > MAX_OCTETS) {
      // Always the pair: some phones only decode QP when CHARSET=UTF-8 comes with it.
      return qpLines(`${head};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:`, value);
    }
    return `${head}:${value}${CRLF}`;
  }
  let head = name + modernParams(params, version);
  if (binary) head += version === 'ical2.0' ? ';ENCODING=BASE64' : ';ENCODING=b';
  return fold(`${head}:${safeModernValue(value)}`);
}

// C0 controls other than TAB, and DEL: not allowed in 3.0/4.0/iCalendar values (RFC 5545 §3.3.11).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
// eslint-disable-next-line no-control-regex -- the same, plus CR and LF
const UNSAFE_RE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Last line of defence for modern output: a raw line break (a multi-line QP value a converter
 * did not escape) would end the property and make the object invalid; it becomes `\n`.
 */
function safeModernValue(value: string): string {
  if (!UNSAFE_RE.test(value)) return value;
  return value.replace(/\r\n|\r|\n/g, '\\n').replace(CONTROL_RE, '');
}

function legacyParams(params: VersitParam[]): string {
  let s = '';
  for (const prm of params) {
    if (prm.name === 'TYPE' && prm.bare !== false) {
      // vCard 2.1 §2.4: parameter names may be omitted; phones expect `TEL;CELL;VOICE`.
      for (const t of splitParamList(prm.value)) if (t !== '') s += `;${legacyQuote(t)}`;
    } else {
      s += `;${prm.name}=${legacyQuote(prm.value)}`;
    }
  }
  return s;
}

/** 2.1 has no quoting; quotes are still the least harmful way to carry `;` or `:` in a param. */
function legacyQuote(v: string): string {
  return /[;:"]/.test(v) ? `"${v.replace(/"/g, "'")}"` : v;
}

/** Splits a parameter value list at commas outside double quotes, removing the quotes. */
export function splitParamList(value: string): string[] {
  if (value.indexOf('"') < 0) return splitAt(value, ',');
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (const ch of value) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === ',' && !inQuotes) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function modernParams(params: VersitParam[], version: VersitVersion): string {
  let s = '';
  let types: string[] | undefined;
  let typeAt = -1;
  const rest: string[] = [];
  for (const prm of params) {
    if (prm.name === 'TYPE') {
      if (types === undefined) {
        types = [];
        typeAt = rest.length;
      }
      for (const t of splitParamList(prm.value)) if (t !== '' && !types.includes(t)) types.push(t);
    } else {
      rest.push(`;${prm.name}=${quoteParam(prm.value, version)}`);
    }
  }
  if (types !== undefined && types.length > 0) rest.splice(typeAt, 0, `;TYPE=${types.map((t) => quoteParam(t, version)).join(',')}`);
  for (const r of rest) s += r;
  return s;
}

function quoteParam(v: string, version: VersitVersion): string {
  let val = v.replace(CONTROL_RE, '');
  if (version !== '4.0') val = val.replace(/\r\n|\r|\n/g, ' ');
  if (version === '4.0') {
    // RFC 6868 parameter value encoding.
    if (/[\^\n"]/.test(val)) val = val.replace(/\^/g, '^^').replace(/\r?\n/g, '^n').replace(/"/g, "^'");
  } else if (val.includes('"')) {
    val = val.replace(/"/g, "'"); // no way to write a double quote in a 3.0 param value
  }
  return /[:;,]/.test(val) ? `"${val}"` : val;
}

/** RFC 2425 §5.8.1 / RFC 5545 §3.1 folding: at most 75 octets per line, CRLF + one space. */
export function fold(line: string): string {
  if (line.length * 3 <= MAX_OCTETS) return line + CRLF;
  const total = Buffer.byteLength(line, 'utf8');
  if (total <= MAX_OCTETS) return line + CRLF;
  // All ASCII (a photo's base64, most text): one octet per character, so fixed-width slices. The
  // loop below appends per character: on a corpus photo card it was most of the content hash
  // (853 -> 366 µs per card with the slices).
  if (total === line.length) return foldAscii(line);
  let out = '';
  let cur = '';
  let octets = 0;
  let limit = MAX_OCTETS;
  for (const ch of line) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (octets + n > limit) {
      out += cur + CRLF;
      cur = ' ';
      octets = 1;
      limit = MAX_OCTETS;
    }
    cur += ch;
    octets += n;
  }
  return out + cur + CRLF;
}

/** `fold` of a line of ASCII only: 75 characters, then a space and 74 per continuation line. */
function foldAscii(line: string): string {
  const parts = [line.slice(0, MAX_OCTETS)];
  for (let pos = MAX_OCTETS; pos < line.length; pos += MAX_OCTETS - 1) parts.push(line.slice(pos, pos + MAX_OCTETS - 1));
  return parts.join(`${CRLF} `) + CRLF;
}

/** 2.1 base64: continuation lines indented, the block ends with a blank line (vCard 2.1 §2.1.3). */
function foldBase64(head: string, b64: string): string {
  let out = head;
  const first = Math.max(0, MAX_OCTETS - head.length);
  out += b64.slice(0, first);
  let pos = first;
  while (pos < b64.length) {
    out += `${CRLF} ${b64.slice(pos, pos + MAX_OCTETS - 1)}`;
    pos += MAX_OCTETS - 1;
  }
  return out + CRLF;
}

/** Quoted-printable (RFC 2045 §6.7) of the UTF-8 bytes, soft breaks keep lines at <= 76 chars. */
function qpLines(head: string, value: string): string {
  const text = value.replace(/\r\n|\r|\n/g, '\r\n');
  const bytes = Buffer.from(text, 'utf8');
  let out = head;
  let lineLen = head.length;
  for (let k = 0; k < bytes.length; k++) {
    const b = bytes[k];
    const lastOrBeforeBreak = k === bytes.length - 1;
    let tok: string;
    if ((b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !lastOrBeforeBreak)) {
      tok = String.fromCharCode(b);
    } else {
      tok = `=${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
    }
    if (lineLen + tok.length > 75) {
      out += `=${CRLF}`;
      lineLen = 0;
      // A blank opening a continuation line reads as folding to many parsers (and to ours).
      if (tok === ' ') tok = '=20';
      else if (tok === '\t') tok = '=09';
    }
    out += tok;
    lineLen += tok.length;
  }
  return out + CRLF;
}
