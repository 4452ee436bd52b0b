// BDAY/ANNIVERSARY date forms seen on phones and servers, normalised to one canonical form and
// written back in each version's preferred syntax.
import type { VcardVersion } from './model.js';

// 19700101, 1970-01-01, 1970-1-1, optionally followed by a time 00:00:00 / 000000 and a zone.
const DATE_RE = /^(\d{4})-?(\d{1,2})-?(\d{1,2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2}))?(?:[.,]\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;
// --0415, --04-15 (no year; RFC 6350 §4.3.1 / ISO 8601 truncated)
const NOYEAR_RE = /^--(\d{2})-?(\d{2})$/;

const p2 = (s: string): string => s.padStart(2, '0');

/**
 * Canonical form: `YYYY-MM-DD`, `--MM-DD`, or `YYYY-MM-DDThh:mm:ss[Z|±hh:mm]` for a time other
 * than midnight. Phones send birthdays as midnight UTC date-times (`1970-01-01T00:00:00Z`); they
 * are dates. Apple's `X-APPLE-OMIT-YEAR=1604` year means "no year". Unrecognised: undefined.
 */
export function canonicalDate(value: string, omitYear?: string): string | undefined {
  const v = value.trim();
  const ny = NOYEAR_RE.exec(v);
  if (ny) return `--${ny[1]}-${ny[2]}`;
  const m = DATE_RE.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, hh, mi, ss, zone] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return undefined;
  if (omitYear !== undefined && omitYear === y) return `--${p2(mo)}-${p2(d)}`;
  const date = `${y}-${p2(mo)}-${p2(d)}`;
  if (hh === undefined || (Number(hh) === 0 && Number(mi) === 0 && Number(ss ?? '0') === 0)) return date;
  let z = zone ?? '';
  if (z.length > 1 && z !== 'Z') z = `${z.slice(0, 3)}:${z.length > 3 ? z.slice(-2) : '00'}`;
  return `${date}T${hh}:${mi}:${ss ?? '00'}${z}`;
}

export interface FormattedDate {
  value: string;
  /** Extra parameter the target needs (Apple/sabre year-less form in 3.0). */
  param?: { name: string; value: string };
}

/**
 * Writes a canonical date for `version`: 2.1 and 4.0 use ISO 8601 basic (`19700101`, `--0415`,
 * RFC 6350 §4.3.1), 3.0 the extended form RFC 2426 shows (`1970-01-01`). A year-less date in 3.0
 * is written as sabre/vobject and iOS do: `X-APPLE-OMIT-YEAR=1604` with year 1604.
 * `extended` forces the extended form (X-ANNIVERSARY is conventionally written that way).
 */
export function formatDate(canon: string, version: VcardVersion, extended = false): FormattedDate {
  if (canon.startsWith('--')) {
    if (extended) return { value: canon };
    if (version === '3.0') return { value: `1604-${canon.slice(2)}`, param: { name: 'X-APPLE-OMIT-YEAR', value: '1604' } };
    return { value: `--${canon.slice(2).replace('-', '')}` };
  }
  if (version === '3.0' || extended) return { value: canon };
  const t = canon.indexOf('T');
  if (t < 0) return { value: canon.replace(/-/g, '') };
  return { value: canon.slice(0, t).replace(/-/g, '') + 'T' + canon.slice(t + 1).replace(/:/g, '') };
}
