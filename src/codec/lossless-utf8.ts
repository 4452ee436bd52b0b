// Text that may hold bytes which are not UTF-8 on their own. A phone splits a large object into
// chunks by bytes (libsynthesis does), so one chunk can end in the middle of a multi-byte
// character: decoded alone, that chunk is not valid UTF-8. Each such byte is kept as a lone low
// surrogate U+DC80..U+DCFF (Python's "surrogateescape"), which survives the XML parser, JSON and
// the state store; the engine joins the chunks and turns the bytes back into characters.
import { isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;
const utf8 = new TextDecoder('utf-8');

/** Length of the valid UTF-8 sequence starting at `i` (RFC 3629 table), 0 if there is none. */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) len = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    if (b === 0xe0) lo = 0xa0; // no overlong forms
    if (b === 0xed) hi = 0x9f; // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    if (b === 0xf0) lo = 0x90;
    if (b === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (i + len > bytes.length) return 0;
  const second = bytes[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < len; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  return len;
}

/** UTF-8 bytes to text; bytes that are not part of a valid sequence become lone surrogates. */
export function decodeUtf8Lossless(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return utf8.decode(bytes);
  // Valid runs are decoded in one call each; only the bytes between them are escaped.
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const len = sequenceAt(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out += utf8.decode(bytes.subarray(runStart, i)) + String.fromCharCode(ESCAPE_BASE + bytes[i]!);
    i++;
    runStart = i;
  }
  return out + utf8.decode(bytes.subarray(runStart));
}

const LONE_ESCAPE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** True when `s` carries escaped bytes (so it must be joined with its neighbours first). */
export function hasEscapedBytes(s: string): boolean {
  return LONE_ESCAPE.test(s);
}

/** The bytes `s` stands for: UTF-8 for characters, the original byte for each escape. */
export function encodeUtf8Lossless(s: string): Uint8Array {
  if (!hasEscapedBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const prevHigh = i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
    if (c >= 0xdc80 && c <= 0xdcff && !prevHigh) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(c - ESCAPE_BASE));
    } else {
      run += s[i];
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** Text with escaped bytes turned back into characters (bytes still invalid become U+FFFD). */
export function restoreUtf8(s: string): string {
  return hasEscapedBytes(s) ? utf8.decode(encodeUtf8Lossless(s)) : s;
}
