// Deterministic vCard 2.1 contacts the way phones send them (CRLF, CHARSET=UTF-8 +
// QUOTED-PRINTABLE with soft line breaks, bare TEL types, 2.1-style BASE64 PHOTO ended by a
// blank line), and small helpers to mutate and inspect them in tests.
import { deflateSync } from 'node:zlib';

const CRLF = '\r\n';

const FIRST = ['Anna', 'Jürgen', 'Zoë', 'François', 'Łukasz', 'Søren', 'José', 'Mária', 'Björn',
  'Chloé', 'Ингрид', 'Αλέξης', 'John', 'Mary', 'Peter', 'Sarah', 'Wei', 'Yuki', 'Fatima', 'Lars'];
const LAST = ['Müller', 'Schröder', 'García', 'Nowak', 'Dvořák', 'Øberg', 'Hansen', 'Smith', 'Brown',
  'Lefèvre', 'Иванова', 'Παπαδόπουλος', 'Tanaka', 'O\'Brien', 'van der Berg', 'Rossi'];
const ORGS = ['ACME GmbH', 'Müller & Söhne KG', 'Example Corp.', 'Société Générale', 'Initech', 'Globex'];
const TITLES = ['Geschäftsführer', 'Engineer', 'Head of Sales', 'Directrice générale', 'Intern'];
const STREETS = ['Hauptstraße', 'Rue de la Paix', 'Main Street', 'Königsallee', 'Calle Mayor'];
const CITIES: Array<[string, string, string]> = [['Berlin', '10115', 'Germany'], ['Paris', '75002', 'France'],
  ['Springfield', '62704', 'USA'], ['Düsseldorf', '40212', 'Germany'], ['Kraków', '30-001', 'Poland']];

/** mulberry32: tiny seeded PRNG, so the same seed gives byte-identical contacts (and kill times). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- quoted-printable -------------------------------------------------------------------

/**
 * vCard 2.1 QUOTED-PRINTABLE of the UTF-8 bytes; line breaks become =0D=0A, lines are cut with
 * a soft break ("=" CRLF, continuation at column 0) so no line exceeds 76 characters counting
 * `prefix` on the first one.  Like real phones, a cut may fall inside a multi-byte character.
 */
export function encodeQuotedPrintable(value: string, prefix = ''): string {
  const bytes = Buffer.from(value.replace(/\r?\n/g, '\r\n'), 'utf8');
  const tokens: string[] = [];
  for (const b of bytes) {
    const printable = b >= 33 && b <= 126 && b !== 61; // 61 = '='
    tokens.push(printable || b === 32 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
  }
  if (tokens.at(-1) === ' ') tokens[tokens.length - 1] = '=20'; // trailing space would be stripped
  const lines: string[] = [];
  let cur = '';
  let width = prefix.length;
  for (const tok of tokens) {
    if (width + cur.length + tok.length > 73) {
      lines.push(cur.endsWith(' ') ? `${cur.slice(0, -1)}=20=` : `${cur}=`);
      cur = '';
      width = 0;
    }
    cur += tok;
  }
  lines.push(cur);
  return lines.join(CRLF);
}

const needsQp = (v: string): boolean => /[^\x20-\x7e]/.test(v);

/** One 2.1 property line; QP + CHARSET only when the value is not plain printable ASCII. */
function prop21(nameAndParams: string, value: string): string {
  if (!needsQp(value)) return `${nameAndParams}:${value}`;
  const head = `${nameAndParams};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:`;
  return head + encodeQuotedPrintable(value, head);
}

// ---- tiny images ------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A valid 4x4 RGB PNG of one colour (~70 bytes). */
export function tinyPng(r: number, g: number, b: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(4, 0);
  ihdr.writeUInt32BE(4, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bit, truecolour, deflate, no filter, no interlace
  const row = Buffer.from([0, ...Array.from({ length: 4 }, () => [r, g, b]).flat()]);
  const raw = Buffer.concat([row, row, row, row]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A valid baseline JPEG: one 8x8 greyscale block of uniform `level` (0-255), so only the DC
 * coefficient is coded (quantiser 1, the standard DC Huffman table, an AC table with just EOB).
 */
export function tinyJpeg(level: number): Buffer {
  const seg = (marker: number, body: number[]): number[] =>
    [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const dqt = seg(0xdb, [0x00, ...new Array<number>(64).fill(1)]);
  const sof = seg(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
  // ITU T.81 Table K.3 (luminance DC): code lengths per category 0..11.
  const dcCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const dht = seg(0xc4, [
    0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i),
    0x10, 1, ...new Array<number>(15).fill(0), 0x00, // AC: one 1-bit code '0' = EOB
  ]);
  const sos = seg(0xda, [1, 1, 0x00, 0, 63, 0]);
  // DC of a flat block = 8 * (level - 128) with quantiser 1 (level shift, T.81 A.3.3).
  const dc = 8 * (Math.max(0, Math.min(255, Math.round(level))) - 128);
  const cat = dc === 0 ? 0 : Math.floor(Math.log2(Math.abs(dc))) + 1;
  const dcCodes = ['00', '010', '011', '100', '101', '110', '1110', '11110', '111110', '1111110', '11111110', '111111110'];
  const extra = cat === 0 ? '' : (dc > 0 ? dc : dc + (1 << cat) - 1).toString(2).padStart(cat, '0');
  let bits = `${dcCodes[cat]}${extra}0`; // + EOB
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = Number.parseInt(bits.slice(i, i + 8), 2);
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00); // byte stuffing
  }
  return Buffer.from([0xff, 0xd8, ...dqt, ...sof, ...dht, ...sos, ...scan, 0xff, 0xd9]);
}

/** 2.1-style PHOTO: base64 on continuation lines (leading space), ended by an empty line. */
function photo21(type: 'JPEG' | 'PNG', data: Buffer, firstOnSameLine: boolean): string {
  const b64 = data.toString('base64');
  const chunks: string[] = [];
  for (let i = 0; i < b64.length; i += 72) chunks.push(b64.slice(i, i + 72));
  const head = `PHOTO;ENCODING=BASE64;TYPE=${type}:`;
  const body = firstOnSameLine
    ? [head + chunks[0], ...chunks.slice(1).map((c) => ` ${c}`)]
    : [head, ...chunks.map((c) => ` ${c}`)];
  return body.join(CRLF) + CRLF; // the joiner adds the second CRLF => blank line
}

// ---- contacts ---------------------------------------------------------------------------

export interface GeneratedContact {
  /** File name, e.g. c00001.vcf */
  name: string;
  /** vCard 2.1 text with CRLF line endings. */
  text: string;
}

/**
 * The contacts with a `bytes` JPEG photo each instead of the tiny ones some have: address books
 * synced from smartphones hold photos of 5-60 KB (benchmarks of the photo path).
 */
export function withLargePhotos(contacts: GeneratedContact[], bytes: number): GeneratedContact[] {
  return contacts.map((c, i) => {
    const data = Buffer.alloc(bytes);
    let x = i + 1;
    for (let k = 0; k < bytes; k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[k] = x >>> 24;
    }
    data.set([0xff, 0xd8, 0xff, 0xe0]);
    const withoutPhoto = c.text.replace(/PHOTO;[^]*?\r\n\r\n/, '');
    return { ...c, text: withoutPhoto.replace('END:VCARD', `${photo21('JPEG', data, false)}END:VCARD`) };
  });
}

/**
 * n deterministic vCard 2.1 contacts (same n + seed => byte-identical).  Every contact has a
 * `TEL;CELL;VOICE`; every 5th has a PHOTO (alternately JPEG and PNG); every 4th has a UID
 * (most phones send none); about a third have a long multi-line QP NOTE.
 */
export function generateContacts21(n: number, seed: number): GeneratedContact[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: GeneratedContact[] = [];
  for (let i = 1; i <= n; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const [city, zip, country] = pick(CITIES);
    const L: string[] = ['BEGIN:VCARD', 'VERSION:2.1'];
    L.push(prop21('N', `${last};${first};;;`));
    L.push(prop21('FN', `${first} ${last}`));
    L.push(`TEL;CELL;VOICE:+49 170 ${int(1_000_000, 9_999_999)}`);
    if (rnd() < 0.7) L.push(`TEL;HOME:+49 30 ${int(100_000, 9_999_999)}`);
    if (rnd() < 0.3) L.push(`TEL;WORK;FAX:+49 89 ${int(100_000, 9_999_999)}`);
    const local = first.normalize('NFD').replace(/[^a-zA-Z]/g, '').toLowerCase() || 'user';
    L.push(`EMAIL;INTERNET:${local}.${seed}.${i}@example.org`);
    if (rnd() < 0.8) L.push(prop21('ADR;HOME', `;;${pick(STREETS)} ${int(1, 200)};${city};;${zip};${country}`));
    if (rnd() < 0.6) L.push(prop21('ORG', pick(ORGS)));
    if (rnd() < 0.4) L.push(prop21('TITLE', pick(TITLES)));
    if (rnd() < 0.35) {
      L.push(prop21('NOTE', `Kontakt Nr. ${i} aus ${city}.\nMet at the café near the Bahnhofstraße; `
        + 'likes naïve questions, crème brûlée and long notes that need soft line breaks.'));
    }
    if (rnd() < 0.5) L.push(`BDAY:${int(1950, 2005)}${String(int(1, 12)).padStart(2, '0')}${String(int(1, 28)).padStart(2, '0')}`);
    if (rnd() < 0.3) L.push(`URL:http://www.example.org/~${local}${i}`);
    if (i % 5 === 0) {
      L.push((i / 5) % 2 === 1
        ? photo21('JPEG', tinyJpeg(int(0, 255)), false)
        : photo21('PNG', tinyPng(int(0, 255), int(0, 255), int(0, 255)), true));
    }
    if (i % 4 === 0) L.push(`UID:gen21-${seed}-${i}`);
    L.push('END:VCARD');
    out.push({ name: `c${String(i).padStart(5, '0')}.vcf`, text: L.join(CRLF) + CRLF });
  }
  return out;
}

/**
 * The mobile number of a vCard (2.1 `TEL;CELL...:` or 3.0/4.0 `TEL;TYPE=CELL...:`), spaces
 * kept as written; undefined when there is none.
 */
export function cellPhoneOf(text: string): string | undefined {
  const unfolded = text.replace(/\r?\n[ \t]/g, '');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^(?:[\w-]+\.)?TEL((?:;[^:]*)?):(.*)$/i.exec(line);
    if (m && /CELL/i.test(m[1])) return m[2].trim();
  }
  return undefined;
}

let mutation = 0;

/**
 * Give the contact a new mobile number (the first TEL with CELL) that no generated contact has
 * (+49 171 9xxxxxx); returns the new text and the number so tests can look for it elsewhere.
 * Adds a `TEL;CELL;VOICE` line when there was none.
 */
export function mutateContact(text: string): { text: string; tel: string } {
  mutation = (mutation + 1) % 1_000_000;
  const tel = `+49 171 9${String(mutation).padStart(6, '0')}`;
  const re = /^((?:[\w-]+\.)?TEL(?:;[^:\r\n]*)?CELL[^:\r\n]*):[^\r\n]*/im;
  if (re.test(text)) return { text: text.replace(re, (_m, head: string) => `${head}:${tel}`), tel };
  return { text: text.replace(/^END:VCARD/im, `TEL;CELL;VOICE:${tel}\r\nEND:VCARD`), tel };
}
