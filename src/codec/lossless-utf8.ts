// Text that may hold bytes which are not UTF-8 on their own. A phone splits a large object into
// chunks by bytes (libsynthesis does), so one chunk can end in the middle of a multi-byte
// character: decoded alone, that chunk is not valid UTF-8. Each such byte is kept as a lone low
// surrogate U+DC80..U+DCFF (Python's "surrogateescape"), which survives the XML parser, JSON and
// the state store; the engine joins the chunks and turns the bytes back into characters.
import { isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** UTF-8 bytes to text; bytes that are not part of a valid sequence become lone surrogates. */
export function decodeUtf8Lossless(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return lenientUtf8.decode(bytes);
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += strictUtf8.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        /* not a valid sequence: escape the lead byte */
      }
    }
    out += String.fromCharCode(ESCAPE_BASE + b);
    i++;
  }
  return out;
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
  return hasEscapedBytes(s) ? lenientUtf8.decode(encodeUtf8Lossless(s)) : s;
}
