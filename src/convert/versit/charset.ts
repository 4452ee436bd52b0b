// Byte -> text decoding for versit values: named CHARSETs via iconv-lite, and the default rule
// for unlabelled 8-bit data (UTF-8 if the bytes are valid UTF-8, else Windows-1252).
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { encodeUtf8Lossless, hasEscapedBytes } from '../../codec/lossless-utf8.js';


function isUtf8Name(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return n === 'utf8';
}

function hasHighBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return true;
  return false;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** True for a charset name iconv-lite knows that is not UTF-8 (SHIFT_JIS, ISO-8859-5 …). */
export function isLegacyCharset(name: string): boolean {
  return !isUtf8Name(name) && iconv.encodingExists(name);
}

/**
 * Decodes `bytes` as `charset` (a CHARSET parameter value, may be undefined). Unknown charsets
 * and invalid UTF-8 fall back to the default rule and are reported through `warn`. `cardCharset`
 * is a legacy charset another property of the same card declared (Shift_JIS phones label only
 * N): undeclared bytes that are not UTF-8 are read in it, and so are bytes wrongly labelled UTF-8,
 * so no character a declared charset can decode becomes U+FFFD.
 */
export function decodeBytes(
  bytes: Uint8Array,
  charset: string | undefined,
  defaultCharset: string | undefined,
  warn: (msg: string) => void,
  cardCharset?: string,
): string {
  if (!hasHighBytes(bytes)) return latin1(bytes); // pure ASCII: every charset agrees
  let name = charset ?? defaultCharset;
  if (name !== undefined && !isUtf8Name(name)) {
    // Phones write "UTF8", "ISO8859-1", "SHIFT_JIS"; iconv-lite knows most spellings.
    if (iconv.encodingExists(name)) return iconv.decode(Buffer.from(bytes), name);
    warn(`unknown charset ${name}, using the default`);
    name = undefined;
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  if (cardCharset !== undefined) {
    if (name !== undefined) warn(`value labelled ${name} is not valid UTF-8; read as ${cardCharset}, the card's charset`);
    return iconv.decode(buf, cardCharset);
  }
  if (name !== undefined) {
    // Explicitly labelled UTF-8 but invalid: keep what is valid rather than guess.
    warn(`value labelled ${name} is not valid UTF-8`);
    return buf.toString('utf8');
  }
  return iconv.decode(buf, 'windows-1252');
}

/**
 * Text whose bytes that were not UTF-8 are kept as lone surrogates U+DC80..U+DCFF (the codec's
 * lossless decoding) back to the bytes, or undefined when it has none.
 */
export function escapedTextToBytes(s: string): Uint8Array | undefined {
  return hasEscapedBytes(s) ? encodeUtf8Lossless(s) : undefined;
}

/** Encodes text to bytes in `charset` (UTF-8 when undefined or unknown). */
export function encodeText(text: string, charset: string | undefined): Uint8Array {
  if (charset === undefined || isUtf8Name(charset) || !iconv.encodingExists(charset)) {
    return Buffer.from(text, 'utf8');
  }
  return iconv.encode(text, charset);
}
