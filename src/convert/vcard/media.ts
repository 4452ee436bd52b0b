// Media formats of PHOTO/LOGO/SOUND/KEY: 2.1/3.0 type tokens (JPEG, X509) <-> 4.0 media types.

const KEY_TYPES: Record<string, string> = {
  X509: 'application/x-x509-user-cert',
  PGP: 'application/pgp-keys',
};

/** `JPEG` on PHOTO -> `image/jpeg`; a token that already is a media type is lower-cased. */
export function tokenToMediaType(prop: string, token: string): string {
  const t = token.trim();
  if (t.includes('/')) return t.toLowerCase();
  const up = t.toUpperCase();
  if (prop === 'KEY') return KEY_TYPES[up] ?? `application/${up.toLowerCase()}`;
  const sub = up === 'JPG' ? 'jpeg' : up === 'WAV' || up === 'WAVE' ? 'wav' : up.toLowerCase();
  return `${prop === 'SOUND' ? 'audio' : 'image'}/${sub}`;
}

/** `image/jpeg` -> `JPEG`, `application/x-x509-user-cert` -> `X509`. */
export function mediaTypeToToken(mediaType: string): string {
  for (const [tok, mt] of Object.entries(KEY_TYPES)) if (mt === mediaType) return tok;
  const slash = mediaType.indexOf('/');
  const sub = slash >= 0 ? mediaType.slice(slash + 1) : mediaType;
  if (mediaType === 'audio/wav') return 'WAVE'; // the vCard 2.1 spec's name
  return sub.replace(/^x-/, '').toUpperCase();
}

const DATA_URI_RE = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,/i;

/** Splits a `data:` URI (RFC 2397) into media type and base64 payload; undefined otherwise. */
export function parseDataUri(value: string): { mediaType?: string; base64: string } | undefined {
  const m = DATA_URI_RE.exec(value);
  if (!m) return undefined;
  const payload = value.slice(m[0].length);
  let base64: string;
  if (m[3] !== undefined) base64 = payload.replace(/\s+/g, '');
  else {
    try {
      base64 = Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64');
    } catch {
      return undefined; // malformed %-escapes: keep the value as a plain URI
    }
  }
  return m[1] !== '' ? { mediaType: m[1].toLowerCase(), base64 } : { base64 };
}

// Leading base64 of common file signatures; used when a device sends PHOTO without a type
// (sabre-vobject issue153 `PHOTO;BASE64:`), because phones and 4.0 data: URIs need one.
const SIGNATURES: Array<[string, string]> = [
  ['/9j/', 'image/jpeg'],
  ['iVBORw0KGgo', 'image/png'],
  ['R0lGOD', 'image/gif'],
  ['Qk', 'image/bmp'],
  ['UklGR', 'audio/wav'],
];

/** Media type guessed from the first bytes of base64 data, undefined when unknown. */
export function sniffMediaType(base64: string): string | undefined {
  for (const [prefix, type] of SIGNATURES) if (base64.startsWith(prefix)) return type;
  return undefined;
}

/**
 * Base64 as servers decode it: padded to a multiple of 4, a last character that holds no whole
 * byte (length 4n+1, a phone cut the block) left out; the decoded bytes are the same. `repair`
 * says what changed. Undefined: not base64 at all (KDE wrote raw binary in 2.1).
 */
export function repairBase64(value: string): { value: string; repair?: string } | undefined {
  // Canonical base64 (as servers and this gateway write it) comes back unchanged from a decode
  // and encode: two native passes, ~8x cheaper on a photo than the character-class regexp below.
  if (Buffer.from(value, 'base64').toString('base64') === value) return { value };
  const v = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  let data = v.replace(/=+$/, '');
  let repair: string | undefined;
  if (data.length % 4 === 1) {
    data = data.slice(0, -1);
    repair = 'a last character without a whole byte left out';
  }
  const padded = data + '='.repeat((4 - (data.length % 4)) % 4);
  if (padded !== v && repair === undefined) repair = 'padding completed';
  return repair === undefined ? { value: v } : { value: padded, repair };
}
