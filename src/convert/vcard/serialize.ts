// Contact -> vCard 2.1/3.0/4.0 text: per-version parameter and value syntax, FN/N derivation,
// and the device quirks of 2.1 output (EMAIL;INTERNET, QP for non-ASCII).
import { escapeText, isStorableName, joinList, joinStructured, serializeVersit, standIn } from '../versit/index.js';
import type { VersitComponent, VersitParam, VersitProperty } from '../versit/index.js';
import { formatDate } from './dates.js';
import { mediaTypeToToken, repairBase64 } from './media.js';
import type { Contact, ContactProperty, VcardVersion } from './model.js';
import { BINARY, LISTS, STRUCTURED } from './parse.js';

const EMAIL_KINDS = new Set(['INTERNET', 'X400', 'AOL', 'APPLELINK', 'ATTMAIL', 'CIS', 'EWORLD', 'IBMMAIL', 'MCIMAIL', 'POWERSHARE', 'PRODIGY', 'TLX']);

/** Writes a contact as a vCard of `version` (CRLF line ends, folded). */
export function serializeContact(contact: Contact, version: VcardVersion, onWarning?: (message: string) => void): string {
  return serializeVersit(contactToComponent(contact, version, onWarning), { version });
}

/** The versit tree for `version`, with FN (3.0/4.0) and N (2.1/3.0) added when missing. */
export function contactToComponent(contact: Contact, version: VcardVersion, onWarning?: (message: string) => void): VersitComponent {
  const props: VersitProperty[] = [{ name: 'VERSION', params: [], value: version, rawValue: version }];
  const list = withRequired(contact.properties, version);
  let names = 0;
  for (const p of list) {
    const data = p.binary === true ? repairBase64(p.values[0] ?? '') : undefined;
    if (data?.repair !== undefined) onWarning?.(`${p.name} base64: ${data.repair}`);
    // Inline data that is no base64 at all goes to the server as text under a stand-in name.
    const notBase64 = p.binary === true && data === undefined && version !== '2.1';
    const src: ContactProperty = notBase64 ? { ...p, binary: undefined, raw: true } : data ? { ...p, values: [data.value] } : p;
    const out = toVersit(src, version);
    if (out.name === 'N') names++;
    // 3.0/4.0 names are letters, digits and '-', and N occurs once (servers refuse the card
    // otherwise): the value goes under a valid X- name, the device's name in a parameter
    // (parse.ts restores it when the card is read back).
    const why =
      version === '2.1' ? undefined
      : !isStorableName(out.name) ? 'is an invalid name'
      : out.name === 'N' && names > 1 ? 'occurs more than once'
      : notBase64 ? 'holds data that is not base64'
      : undefined;
    if (why !== undefined) {
      const s = standIn(out.name);
      onWarning?.(`vCard ${version}: ${out.name} ${why}: stored as ${s.name};${s.param.name}=${out.name}`);
      out.params.push(s.param);
      out.name = s.name;
    }
    props.push(out);
  }
  return { name: 'VCARD', properties: props, components: [] };
}

/** Adds the properties a version requires: FN in 3.0/4.0, N in 2.1/3.0 (RFC 2426 §5). */
function withRequired(props: ContactProperty[], version: VcardVersion): ContactProperty[] {
  const hasFn = props.some((p) => p.name === 'FN' && p.values[0] !== undefined && p.values[0].trim() !== '');
  const hasN = props.some((p) => p.name === 'N');
  if ((hasFn || version === '2.1') && (hasN || version === '4.0')) return props;
  const out = props.slice();
  if (!hasN && version !== '4.0') {
    const fn = props.find((p) => p.name === 'FN')?.values[0]?.trim() ?? '';
    out.unshift({ name: 'N', types: [], params: [], values: deriveN(fn, props) });
  }
  if (!hasFn && version !== '2.1') {
    const at = out.findIndex((p) => p.name === 'N');
    const fn: ContactProperty = { name: 'FN', types: [], params: [], values: [deriveFn(props)] };
    out.splice(at + 1, 0, fn);
    const empty = out.findIndex((p) => p.name === 'FN' && p !== fn);
    if (empty >= 0) out.splice(empty, 1);
  }
  return out;
}

/** FN from N (prefix given middle family suffix), else ORG, NICKNAME, EMAIL, TEL. */
export function deriveFn(props: ContactProperty[]): string {
  const n = props.find((p) => p.name === 'N');
  if (n !== undefined) {
    const [family = '', given = '', middle = '', prefix = '', suffix = ''] = n.values;
    const s = [prefix, given, middle, family, suffix].map((x) => x.trim()).filter((x) => x !== '').join(' ');
    if (s !== '') return s;
  }
  for (const name of ['ORG', 'NICKNAME', 'EMAIL', 'TEL']) {
    const v = props.find((p) => p.name === name)?.values.find((x) => x.trim() !== '');
    if (v !== undefined) return v.trim();
  }
  return '';
}

/** N from FN: "Given Middle Family" -> family = last word; a company-only card gets an empty N. */
function deriveN(fn: string, props: ContactProperty[]): string[] {
  const org = props.find((p) => p.name === 'ORG')?.values[0]?.trim();
  if (fn === '' || fn === org) return ['', '', '', '', ''];
  const words = fn.split(/\s+/);
  if (words.length === 1) return [fn, '', '', '', ''];
  return [words[words.length - 1], words.slice(0, -1).join(' '), '', '', ''];
}

function toVersit(p: ContactProperty, version: VcardVersion): VersitProperty {
  const params: VersitParam[] = [];
  let types = p.types;
  let name = p.name;
  let value: string;
  const out: VersitProperty = { name, params, value: '', rawValue: '' };

  if (name === 'EMAIL') {
    // Nokia phones hide addresses without INTERNET; vCard 4.0 dropped the type.
    if (version === '2.1' && !types.some((t) => EMAIL_KINDS.has(t))) types = ['INTERNET', ...types];
    if (version === '4.0') types = types.filter((t) => t !== 'INTERNET');
  }

  if (BINARY.has(name) && (p.binary === true || p.uri === true)) {
    const token = p.mediaType !== undefined ? mediaTypeToToken(p.mediaType) : undefined;
    if (p.binary === true) {
      if (version === '4.0') {
        value = `data:${p.mediaType ?? 'application/octet-stream'};base64,${p.values[0] ?? ''}`;
      } else {
        value = p.values[0] ?? '';
        out.encoding = version === '2.1' ? 'BASE64' : 'B';
        // 2.1: `PHOTO;TYPE=PNG;ENCODING=BASE64` as the spec's examples and phones write it; the
        // bare `PHOTO;PNG` is read as an unknown type by SyncEvolution (#13 defect 9).
        if (token !== undefined && version === '2.1') params.push({ name: 'TYPE', value: token, bare: false });
        else if (token !== undefined) types = [token, ...types];
      }
    } else {
      value = p.values[0] ?? '';
      if (version === '4.0') {
        if (p.mediaType !== undefined) params.push({ name: 'MEDIATYPE', value: p.mediaType });
      } else {
        params.push({ name: 'VALUE', value: version === '2.1' ? 'URL' : 'uri' });
        if (token !== undefined && version === '2.1') params.push({ name: 'TYPE', value: token, bare: false });
        else if (token !== undefined) types = [token, ...types];
      }
    }
  } else if (STRUCTURED.has(name)) {
    let vals = p.values;
    const width = name === 'N' ? 5 : name === 'ADR' ? 7 : 0;
    if (vals.length < width && version !== '2.1') vals = [...vals, ...new Array<string>(width - vals.length).fill('')];
    value = joinStructured(vals, version);
  } else if (LISTS.has(name)) {
    value = joinList(p.values, version);
  } else if (name === 'GEO' && p.raw !== true) {
    const [lat = '', lon = ''] = p.values;
    value = version === '2.1' ? `${lat},${lon}` : version === '3.0' ? `${lat};${lon}` : `geo:${lat},${lon}`;
  } else if ((name === 'BDAY' || name === 'ANNIVERSARY' || name === 'DEATHDATE') && isCanonicalDate(p.values[0]) && !p.params.some((x) => x.name === 'VALUE')) {
    if (name === 'ANNIVERSARY' && version !== '4.0') name = 'X-ANNIVERSARY';
    const f = formatDate(p.values[0], version, name === 'X-ANNIVERSARY');
    value = f.value;
    if (f.param !== undefined) params.push(f.param);
  } else if (p.raw === true) {
    // Kept verbatim; only line breaks change form (2.1 real, QP-encoded; 3.0/4.0 `\n`), and a
    // comma is escaped in 3.0/4.0: plain text in 2.1, and in an unknown 3.0 value the server
    // cannot know it for a list separator (Radicale keeps `Street 4` of `Street 4, Building 6`).
    let v = p.values[0] ?? '';
    if (version === '2.1') {
      if (p.raw21 !== true) v = v.replace(/\\,/g, ',');
      value = v.replace(/\\n/gi, '\n');
    } else {
      v = v.replace(/(?<!\\),/g, '\\,');
      value = v.replace(/\r\n|\r|\n/g, '\\n');
    }
  } else {
    if (name === 'ANNIVERSARY' && version !== '4.0') name = 'X-ANNIVERSARY';
    value = escapeText(p.values[0] ?? '', version);
  }

  out.name = name;
  if (p.group !== undefined) out.group = p.group;
  if (types.length > 0) {
    if (version === '4.0') {
      const t4 = types.filter((t) => t !== 'PREF').map((t) => t.toLowerCase());
      if (t4.length > 0) params.push({ name: 'TYPE', value: t4.join(',') });
      if (types.includes('PREF')) params.push({ name: 'PREF', value: '1' });
    } else {
      params.push({ name: 'TYPE', value: types.join(',') });
    }
  }
  for (const prm of p.params) params.push(prm);
  out.value = value;
  out.rawValue = value;
  return out;
}

function isCanonicalDate(v: string | undefined): v is string {
  return v !== undefined && /^(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?)?|--\d{2}-\d{2})$/.test(v);
}
