// Escaping of versit text values per version: structured (`;`), list (`,`) and plain text.
// Reading is lenient and the same for all versions; writing follows each version's rules.
import type { VersitVersion } from './types.js';

/** vCard 2.1 and vCalendar 1.0: QP/CHARSET world, only `\;` escaping. */
export function isLegacy(version: VersitVersion): boolean {
  return version === '2.1' || version === 'vcal1.0';
}

const UNESCAPE_RE = /\\([\\;,:nN])/g;

/**
 * Removes backslash escapes: `\n`/`\N` -> newline, `\\ \; \, \:` -> the character. Applied to 2.1
 * too: KDE, Evolution and gammu write `\n` in 2.1 and read it back that way. Unknown escapes
 * (`\M`) and a trailing backslash stay as written.
 */
export function unescapeText(value: string): string {
  if (value.indexOf('\\') < 0) return value;
  return value.replace(UNESCAPE_RE, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/**
 * `value.split(sep)` for a one-character separator. By hand: V8's String#split costs about three
 * times this per call, and the parsers call it for every property of every item.
 */
export function splitAt(value: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let k = value.indexOf(sep); k >= 0; k = value.indexOf(sep, start)) {
    out.push(value.slice(start, k));
    start = k + 1;
  }
  out.push(start === 0 ? value : value.slice(start));
  return out;
}

/** Splits at unescaped `sep` (`;` or `,`) without unescaping the parts. */
export function splitUnescaped(value: string, sep: ';' | ','): string[] {
  if (value.indexOf('\\') < 0) return splitAt(value, sep);
  const out: string[] = [];
  let start = 0;
  for (let k = 0; k < value.length; k++) {
    const c = value[k];
    if (c === '\\') k++;
    else if (c === sep) {
      out.push(value.slice(start, k));
      start = k + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

/** A structured value (N, ADR, ORG) as unescaped components. */
export function splitStructured(value: string): string[] {
  return splitUnescaped(value, ';').map(unescapeText);
}

/** A list value (CATEGORIES, NICKNAME) as unescaped items. */
export function splitList(value: string): string[] {
  return splitUnescaped(value, ',').map(unescapeText);
}

const MODERN_ESCAPE_RE = /[\\;,\r\n]/;

function escapeModern(text: string): string {
  if (!MODERN_ESCAPE_RE.test(text)) return text;
  return text
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Escapes a plain text value. Legacy versions escape only the backslash: newlines stay real and
 * the serializer turns them into quoted-printable `=0D=0A`; commas are never escaped in 2.1.
 */
export function escapeText(text: string, version: VersitVersion): string {
  // Backslashes are doubled in 2.1 too, since `\n` in 2.1 is read as a line break (KDE, gammu).
  if (isLegacy(version)) return text.indexOf('\\') < 0 ? text : text.replace(/\\/g, '\\\\');
  return escapeModern(text);
}

/** Escapes one component of a structured value (`;` is the separator in every version). */
export function escapeComponent(text: string, version: VersitVersion): string {
  // Backslashes are doubled too, else a component ending in "\\" would escape the separator.
  if (isLegacy(version)) return /[\\;]/.test(text) ? text.replace(/[\\;]/g, (c) => `\\${c}`) : text;
  return escapeModern(text);
}

export function joinStructured(parts: readonly string[], version: VersitVersion): string {
  return parts.map((p) => escapeComponent(p, version)).join(';');
}

export function joinList(items: readonly string[], version: VersitVersion): string {
  if (!isLegacy(version)) return items.map(escapeModern).join(',');
  return items.map((p) => (/[\\,]/.test(p) ? p.replace(/[\\,]/g, (c) => `\\${c}`) : p)).join(',');
}
