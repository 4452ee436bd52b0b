// vCalendar 1.0 ATTENDEE/ORGANIZER, ATTACH and list values -> iCalendar 2.0 (split out of
// to-ical.ts; pure).
import type { VersitParam, VersitProperty } from '../versit/index.js';
import { escapeText, splitUnescaped, unescapeText } from '../versit/index.js';
import { partstatToIcal, roleToIcal, splitMailbox } from './mappings.js';

function prop(name: string, value: string, params: VersitParam[] = []): VersitProperty {
  return { name, params, value, rawValue: value };
}

function textProp(name: string, text: string, params: VersitParam[] = []): VersitProperty {
  return prop(name, escapeText(text, 'ical2.0'), params);
}

function param(p: VersitProperty, name: string): string | undefined {
  return p.params.find((x) => x.name === name)?.value;
}

/** Text of a legacy value: QP/CHARSET are decoded by the parser; backslash escapes removed. */
function text(p: VersitProperty): string {
  return unescapeText(p.value).replace(/\r\n|\r/g, '\n');
}

/**
 * vCal 1.0 ATTENDEE/ORGANIZER value -> iCalendar CAL-ADDRESS: an e-mail address (`mailto:`), a
 * URI as written (`sip:`, `tel:` …), a phone number as `tel:`. Undefined: only a name is left.
 */
export function calAddress(v: string): { cn?: string; uri?: string } {
  const mb = splitMailbox(v);
  if (mb.address) return { cn: mb.cn, uri: `mailto:${mb.address}` };
  const t = (mb.cn ?? '').trim();
  if (/^[a-z][a-z0-9+.-]*:\S+$/i.test(t) && !/^mailto:/i.test(t)) return { uri: t };
  if (/^\+?[\d ()./-]{3,}$/.test(t) && /\d{3}/.test(t.replace(/\D/g, ''))) return { uri: `tel:${t.replace(/[^\d+]/g, '')}` };
  return t ? { cn: t } : {};
}

export function attendee(p: VersitProperty, warn: (m: string) => void): { organizer: boolean; prop: VersitProperty } | undefined {
  const addr = calAddress(text(p));
  const role = (param(p, 'ROLE') ?? '').toUpperCase();
  const params: VersitParam[] = [];
  if (addr.cn) params.push({ name: 'CN', value: addr.cn });
  if (!addr.uri) {
    if (!addr.cn) return undefined;
    // No address to write as CAL-ADDRESS: the name is kept (and goes back to the phone).
    warn(`ATTENDEE "${addr.cn}" has no address; kept as X-VCAL-ATTENDEE`);
    return { organizer: false, prop: textProp('X-VCAL-ATTENDEE', addr.cn, role ? [{ name: 'X-ROLE', value: role }] : []) };
  }
  if (role === 'ORGANIZER' || role === 'OWNER') return { organizer: true, prop: prop('ORGANIZER', addr.uri, params) };
  params.push({ name: 'ROLE', value: roleToIcal(param(p, 'EXPECT')) });
  const st = param(p, 'STATUS');
  if (st) params.push({ name: 'PARTSTAT', value: partstatToIcal(st) });
  const rsvp = param(p, 'RSVP');
  if (rsvp) params.push({ name: 'RSVP', value: /^(YES|TRUE)$/i.test(rsvp) ? 'TRUE' : 'FALSE' });
  return { organizer: false, prop: prop('ATTENDEE', addr.uri, params) };
}

/**
 * vCal 1.0 ATTACH: a URI (VALUE=URL, or a value that reads as one) stays a URI; inline content
 * (base64, or text such as a multi-line QP note) becomes an iCalendar BINARY attachment, so
 * nothing is lost and no raw line break reaches the output.
 */
export function attachToIcal(p: VersitProperty): VersitProperty | undefined {
  const fmt = param(p, 'TYPE') ?? param(p, 'FMTTYPE');
  const fmtParam: VersitParam[] = fmt && /^[\w.+-]+\/[\w.+-]+$/.test(fmt) ? [{ name: 'FMTTYPE', value: fmt.toLowerCase() }] : [];
  if (p.encoding === 'BASE64' || p.encoding === 'B') {
    const b64 = p.value.replace(/\s+/g, '');
    return b64 === '' ? undefined : { name: 'ATTACH', params: [{ name: 'VALUE', value: 'BINARY' }, ...fmtParam], value: b64, rawValue: b64, encoding: 'BASE64' };
  }
  const v = p.value.trim();
  if (v === '') return undefined;
  const isUri = /^[a-z][a-z0-9+.-]*:\S*$/i.test(v.replace(/\r?\n[ \t]*/g, ''));
  if (isUri || /^(URL|URI|CID|CONTENT-ID)$/i.test(param(p, 'VALUE') ?? '')) {
    const uri = v.replace(/\s+/g, '');
    return prop('ATTACH', /^(CID|CONTENT-ID)$/i.test(param(p, 'VALUE') ?? '') && !/^cid:/i.test(uri) ? `cid:${uri}` : uri, fmtParam);
  }
  const b64 = Buffer.from(text(p), 'utf8').toString('base64');
  return {
    name: 'ATTACH',
    params: [{ name: 'VALUE', value: 'BINARY' }, ...(fmtParam.length ? fmtParam : [{ name: 'FMTTYPE', value: 'text/plain' }])],
    value: b64,
    rawValue: b64,
    encoding: 'BASE64',
  };
}

export function listValues(p: VersitProperty): string[] {
  // 1.0 lists are `;`-separated; tolerate `,` too (Horde, Outlook).
  return splitUnescaped(p.value, ';')
    .flatMap((x) => splitUnescaped(x, ','))
    .map((x) => unescapeText(x).trim())
    .filter((x) => x !== '');
}
