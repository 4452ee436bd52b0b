// Href handling: one canonical percent-encoding for item paths so that hrefs from list(),
// fetch(), create() and sync-collection compare equal whatever encoding the server chose.
import { GatewayError } from '../errors.js';


/** Ensure the collection URL ends with `/` (item URLs are resolved relative to it). */
export function collectionBase(url: string): string {
  const u = new URL(url);
  // fetch() refuses such URLs, and error messages would carry the password.
  if (u.username || u.password) {
    throw new GatewayError('CONFIG_INVALID', `DAV collection URL must not contain credentials (${u.host})`);
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.toString();
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg; // a stray '%' that is not an escape: keep it literal
  }
}

/**
 * Canonical absolute path for an href (absolute URL or path, any escaping): every segment
 * decoded, then encoded with encodeURIComponent. Radicale and Xandikos both emit this form
 * (`u1%40x.vcf`); servers that send `u1@x.vcf` are mapped onto it.
 */
export function canonicalHref(href: string, base: string): string {
  // Xandikos sends `http%3A//host%3Aport/path` in some error responses: undo that first.
  const raw = /^https?%3A\/\//i.test(href) ? decodeSegment(href) : href;
  const path = new URL(raw, base).pathname;
  return path
    .split('/')
    .map((seg) => encodeURIComponent(decodeSegment(seg)))
    .join('/');
}

/** Absolute URL of an href on the collection's server. */
export function hrefUrl(href: string, base: string): string {
  return new URL(canonicalHref(href, base), base).toString();
}

/**
 * A file name derived from an item UID (or hint): only `[A-Za-z0-9._-]`, so the href has no
 * escaping at all, no leading dot, at most 100 characters. Empty when nothing usable is left.
 */
export function safeName(source: string): string {
  return source
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents: 'Jürgen' -> 'Jurgen'
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/-+$/, '')
    .slice(0, 100);
}
