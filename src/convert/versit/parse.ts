// Tolerant parser for the versit line syntax shared by vCard 2.1/3.0/4.0, vCalendar 1.0 and
// iCalendar 2.0: unfolding, QP soft breaks, 2.1 base64 blocks, bare params, CHARSET decoding.
import { GatewayError } from '../../errors.js';
import { decodeBytes, encodeText, escapedTextToBytes, isLegacyCharset } from './charset.js';
import { findColon, parseHeader, UNBALANCED } from './header.js';
import { isBeginOrEnd, isBlank, isFoldLine, splitLines, startsWithWord } from './lines.js';
import type { ParseVersitOptions, VersitComponent, VersitProperty } from './types.js';

const BASE64_LINE_RE = /^[\sA-Za-z0-9+/=]*$/;
const HIGH_CHAR_RE = /[\x80-\xff]/;

/**
 * Parses versit text into its top-level components. `Uint8Array` input keeps the bytes until each
 * value's CHARSET is known; string input is taken as already-decoded text. Throws
 * `GatewayError('INVALID_ITEM')` when no component is found or a component is never ended.
 */
export function parseVersit(source: string | Uint8Array, opts: ParseVersitOptions = {}): VersitComponent[] {
  // Text carrying bytes that were not UTF-8 (kept as escapes by the codec) is parsed as bytes,
  // so CHARSET (or the card's charset) decodes them instead of U+FFFD.
  const input = typeof source === 'string' ? (escapedTextToBytes(source) ?? source) : source;
  const bytesMode = typeof input !== 'string';
  let text = bytesMode ? Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1') : input;
  if (bytesMode ? text.startsWith('\xef\xbb\xbf') : text.startsWith('\ufeff')) text = text.slice(bytesMode ? 3 : 1);
  const warn = opts.onWarning ?? (() => undefined);
  // CRCRLF (Symbian "Invalid" samples, ICQ) counts as one line end, so does a bare CR.
  const lines = splitLines(text);
  const n = lines.length;
  const roots: VersitComponent[] = [];
  const stack: VersitComponent[] = [];
  const qpFolds = qpIndentFolds(text, lines);
  const cardCharsets = bytesMode ? legacyCharsetPerObject(lines) : [];
  let i = 0;

  while (i < n) {
    const lineNo = i + 1;
    let line = lines[i++];
    if (isBlank(line)) continue;
    // A header folded before its colon or inside a quoted param value: unfold until it is whole.
    let colon = findColon(line);
    while (colon < 0 && i < n && isFoldLine(lines[i])) {
      line += lines[i++].slice(1);
      colon = findColon(line);
    }
    if (colon < 0 && BREAKABLE_HEADER_RE.test(line) && i < n && lines[i].indexOf(':') > 0 && !/^(BEGIN|END):/i.test(lines[i])) {
      // A raw line break inside the parameter list (vCal 1.0 ATTENDEE from some phones:
      // "ATTENDEE;ROLE=ATTENDEE;STATUS=NEEDS" CRLF "ACTION;EXPECT=FYI:a@b"): join the halves,
      // with ';' before a parameter, a space inside a parameter value.
      const next = lines[i++];
      const sep = line.endsWith(';') || /^[A-Za-z-]+=/.test(next) ? (line.endsWith(';') ? '' : ';') : ' ';
      warn(`line ${lineNo}: parameter list of ${line.slice(0, line.indexOf(';'))} broken by a line break, joined with the next line`);
      line = `${line}${sep}${next}`;
      colon = findColon(line);
    }
    if (colon === UNBALANCED) colon = line.indexOf(':');
    if (colon < 0) {
      warn(`line ${lineNo}: no ':' in "${clip(line)}", line ignored`);
      continue;
    }
    const header = parseHeader(line.slice(0, colon));
    if (header === undefined) {
      warn(`line ${lineNo}: invalid property name in "${clip(line)}", line ignored`);
      continue;
    }
    let raw = line.slice(colon + 1);
    const encoding = header.encoding;
    if (encoding === 'QUOTED-PRINTABLE') {
      // QP soft line break: "=" at the end joins the next physical line. A leading blank there
      // is content (RFC 2045; phones fold "=D1=8B=" CRLF " 3-5"), except in objects written
      // by a folder that indents every continuation (Funambol): see qpIndentFolds. A following
      // BEGIN/END line is never swallowed (values that merely end in "=").
      for (;;) {
        if (i >= n) break;
        const next = lines[i];
        if (raw.endsWith('=') && !isBeginOrEnd(next)) {
          raw = raw.slice(0, -1) + (qpFolds.has(i) ? next.slice(1) : next);
          i++;
        } else if (isFoldLine(next)) {
          raw += next.slice(1);
          i++;
        } else break;
      }
    } else if (encoding === 'BASE64' || encoding === 'B') {
      // 2.1 base64 runs over following lines, indented or not (BlackBerry, Symbian), and ends
      // with a blank line; some writers omit the blank line (AOSP v21_base64_no_2_crlf).
      while (i < n) {
        const next = lines[i];
        if (isBlank(next)) {
          i++;
          // Whitespace-only lines inside the block (Symbian Encoded/) are skipped; a blank line
          // ends the block only if what follows is not more base64.
          if (i < n && !isBlank(lines[i]) && BASE64_LINE_RE.test(lines[i]) && isFoldLine(lines[i])) continue;
          break;
        }
        if (isFoldLine(next) || BASE64_LINE_RE.test(next)) {
          raw += next;
          i++;
        } else break;
      }
    } else {
      for (;;) {
        if (i < n && isFoldLine(lines[i])) raw += lines[i++].slice(1);
        else if (i < n && raw.endsWith('\\') && !isBlank(lines[i]) && lines[i].indexOf(':') < 0) {
          // A 2.1 value continued by a trailing backslash (AOSP v21_adr_multiple_line): a line break.
          raw = `${raw.slice(0, -1)}\n${lines[i++]}`;
        } else break;
      }
    }

    const name = header.name;
    if (name === 'BEGIN' || (name === 'AGENT' && /^\s*BEGIN:VCARD\s*$/i.test(raw))) {
      // vCard 2.1 AGENT: the nested vCard may start on the AGENT line itself.
      const comp: VersitComponent = {
        name: name === 'BEGIN' ? raw.trim().toUpperCase() : 'VCARD',
        properties: [],
        components: [],
        line: lineNo,
      };
      if (stack.length > 0) stack[stack.length - 1].components.push(comp);
      else roots.push(comp);
      stack.push(comp);
      continue;
    }
    if (name === 'END') {
      // Only the leading name counts: "END:VCARD." (SE se-2.vcf), "END:VCARD;BEGIN:VCARD" (Symbian).
      const compName = (/^\s*([A-Za-z0-9-]+)/.exec(raw)?.[1] ?? raw.trim()).toUpperCase();
      let k = stack.length - 1;
      while (k >= 0 && stack[k].name !== compName) k--;
      if (k < 0) {
        warn(`line ${lineNo}: END:${compName} without matching BEGIN, line ignored`);
        continue;
      }
      if (k < stack.length - 1) warn(`line ${lineNo}: END:${compName} closes unterminated ${stack[stack.length - 1].name}`);
      stack.length = k;
      continue;
    }
    if (stack.length === 0) {
      warn(`line ${lineNo}: property ${name} outside any component, ignored`);
      continue;
    }

    const charset = header.charset;
    const cardCharset = cardCharsets[lineNo - 1];
    if (bytesMode) {
      // Parameter values (SORT-AS, LABEL) are text too; CHARSET applies to them as well.
      for (const prm of header.params) {
        if (HIGH_CHAR_RE.test(prm.value)) prm.value = decodeBytes(Buffer.from(prm.value, 'latin1'), charset, opts.defaultCharset, lineWarn(warn, lineNo), cardCharset);
      }
    }
    let value: string;
    if (encoding === 'QUOTED-PRINTABLE') {
      value = decodeBytes(qpToBytes(raw, bytesMode, charset), charset, opts.defaultCharset, lineWarn(warn, lineNo), cardCharset);
    } else if (encoding === 'BASE64' || encoding === 'B') {
      value = raw.replace(/\s+/g, '');
    } else if (bytesMode && HIGH_CHAR_RE.test(raw)) {
      value = decodeBytes(Buffer.from(raw, 'latin1'), charset, opts.defaultCharset, lineWarn(warn, lineNo), cardCharset);
    } else {
      value = raw;
    }
    const prop: VersitProperty = { name, params: header.params, value, rawValue: raw, line: lineNo };
    if (header.group !== undefined) prop.group = header.group;
    if (encoding !== undefined) prop.encoding = encoding;
    stack[stack.length - 1].properties.push(prop);
  }

  if (stack.length > 0) {
    const open = stack[stack.length - 1];
    throw new GatewayError('INVALID_ITEM', `line ${open.line ?? '?'}: BEGIN:${open.name} is never ended (END:${open.name} missing)`);
  }
  if (roots.length === 0) throw new GatewayError('INVALID_ITEM', 'no BEGIN line found: not a vCard/vCalendar object');
  return roots;
}

/**
 * Per line: the legacy (non-UTF-8) CHARSET first declared by any property of the top-level object
 * the line belongs to, if any (Shift_JIS phones label N and send SOUND, NOTE … unlabelled).
 */
function legacyCharsetPerObject(lines: string[]): Array<string | undefined> {
  const out: Array<string | undefined> = new Array<string | undefined>(lines.length);
  let depth = 0;
  let start = 0;
  let found: string | undefined;
  const close = (end: number): void => {
    if (found !== undefined) for (let k = start; k < end; k++) out[k] = found;
    found = undefined;
    start = end;
  };
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (startsWithWord(line, 'BEGIN:')) {
      if (depth === 0) close(k);
      depth++;
    } else if (startsWithWord(line, 'END:')) depth = Math.max(0, depth - 1);
    if (found === undefined) {
      const colon = line.indexOf(':');
      const m = /;\s*CHARSET\s*=\s*"?([^;:"]+)/i.exec(colon < 0 ? line : line.slice(0, colon));
      if (m && isLegacyCharset(m[1]!.trim())) found = m[1]!.trim();
    }
  }
  close(lines.length);
  return out;
}

// Properties whose parameter list phones break with a raw line break (issue #13).
const BREAKABLE_HEADER_RE = /^(ATTENDEE|ORGANIZER|X-ORGANIZER);/i;
const QP_WORD_RE = /QUOTED|QP/i;
const QP_HEADER_RE = /^[^:]*;\s*(?:ENCODING\s*=\s*)?(?:QUOTED-PRINTABLE|QUOTEDPRINTABLE|QP)\s*[;:]/i;

/**
 * Indices of lines after a QP soft break whose leading blank is folding, not content. Decided per
 * top-level object: its writer indents continuations (Funambol) when it has several soft-break
 * continuations and all are indented. One non-indented continuation shows a writer that does not
 * indent, and a single indented one is read as RFC 2045 says: the blank is a space of the value.
 */
function qpIndentFolds(text: string, lines: string[]): Set<number> {
  const out = new Set<number>();
  // Every line QP_HEADER_RE matches holds "QUOTED" or "QP": text without either has none.
  if (!QP_WORD_RE.test(text)) return out;
  let depth = 0;
  let cont: number[] = [];
  let plain = 0;
  const flush = (): void => {
    if (cont.length >= 2 && plain === 0) for (const k of cont) out.add(k);
    cont = [];
    plain = 0;
  };
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    if (startsWithWord(line, 'BEGIN:')) {
      if (depth === 0) flush();
      depth++;
      continue;
    }
    if (startsWithWord(line, 'END:')) {
      depth = Math.max(0, depth - 1);
      continue;
    }
    // QP_HEADER_RE needs a ';' before any ':'; the indexOf spares the regexp the lines of a photo.
    if (line.indexOf(';') < 0 || !QP_HEADER_RE.test(line)) continue;
    while (lines[k].endsWith('=') && k + 1 < lines.length && !isBeginOrEnd(lines[k + 1])) {
      k++;
      if (isFoldLine(lines[k])) cont.push(k);
      else plain++;
    }
  }
  flush();
  return out;
}

function lineWarn(warn: (m: string) => void, lineNo: number): (m: string) => void {
  return (m) => warn(`line ${lineNo}: ${m}`);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Quoted-printable to bytes. The whole (soft-break joined) value is decoded before the charset
 * is applied, so a multi-byte UTF-8 character split by a soft break comes out whole.
 */
function qpToBytes(raw: string, bytesMode: boolean, charset: string | undefined): Uint8Array {
  const len = raw.length;
  let out = Buffer.allocUnsafe(len);
  let o = 0;
  for (let k = 0; k < len; k++) {
    const c = raw.charCodeAt(k);
    if (c === 0x3d && k + 2 < len) {
      const hi = hexVal(raw.charCodeAt(k + 1));
      const lo = hexVal(raw.charCodeAt(k + 2));
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        k += 2;
        continue;
      }
    }
    if (c < 0x80 || bytesMode) {
      out[o++] = c;
    } else {
      // Literal non-ASCII text inside a QP value of an already-decoded string.
      let end = k + 1;
      while (end < len && raw.charCodeAt(end) >= 0x80) end++;
      const enc = encodeText(raw.slice(k, end), charset);
      const grown = Buffer.allocUnsafe(out.length + enc.length);
      out.copy(grown, 0, 0, o);
      out = grown;
      for (const b of enc) out[o++] = b;
      k = end - 1;
    }
  }
  return out.subarray(0, o);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
