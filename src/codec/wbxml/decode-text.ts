// Text helpers of the WBXML decoder: strings in the document charset (invalid UTF-8 kept as
// bytes), and reading plain text back out of decoded elements.

import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { OpaqueNode, SmlElement } from '../tree.js';
import type { CharsetInfo, SyncMlVersion } from './code-pages.js';

const latin1 = new TextDecoder('latin1');

export function decodeLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/**
 * `src[start, end)` in the document charset. Invalid UTF-8 stays bytes (lossless; textOf()
 * still reads it); other charsets go through iconv-lite.
 */
export function decodeText(src: Uint8Array, start: number, end: number, charset: CharsetInfo, utf8: boolean): string | OpaqueNode {
  const n = end - start;
  if (utf8) {
    // Most SyncML strings are short ASCII tokens (CmdID, LocURI, ...): skip Buffer set-up.
    if (n <= 32) {
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = src[i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    const b = Buffer.from(src.buffer, src.byteOffset + start, n);
    // isUtf8 + utf8Slice is several times faster than a fatal TextDecoder.
    return isUtf8(b) ? b.toString('utf8') : { opaque: src.slice(start, end) };
  }
  const b = Buffer.from(src.buffer, src.byteOffset + start, n);
  return iconv.decode(b, charset.iconv ?? charset.name);
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Text and opaque content of an element, opaque read as Latin-1 (for ASCII keywords only). */
export function plainText(el: SmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (typeof c === 'string') s += c;
    else if ('opaque' in c) s += latin1.decode(c.opaque);
  }
  return s;
}

/** SyncHdr/VerDTD of a decoded SyncML root, if it names a known version. */
export function verDtdOf(root: SmlElement): SyncMlVersion | undefined {
  for (const h of root.children) {
    if (typeof h !== 'object' || !('name' in h) || h.name !== 'SyncHdr') continue;
    for (const v of h.children) {
      if (typeof v === 'object' && 'name' in v && v.name === 'VerDTD') {
        const m = /^\s*(1\.[012])\s*$/.exec(plainText(v));
        if (m) return m[1] as SyncMlVersion;
      }
    }
  }
  return undefined;
}
