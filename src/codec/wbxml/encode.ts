// SmlElement tree -> WBXML bytes (UTF-8, inline strings, MetInf via code page 1, DevInf as a
// nested WBXML document in OPAQUE, item Data as OPAQUE so item bytes are never altered).

import { GatewayError } from '../../errors.js';
import type { SmlElement, SmlNode } from '../tree.js';
import { ByteWriter } from './byte-writer.js';
import {
  DEVINF_TOKENS,
  DEVINF_TYPE_WBXML,
  DEVINF_TYPE_XML,
  METINF_TOKENS,
  MIB_UTF8,
  NS_DEVINF,
  NS_METINF,
  SYNCML_TOKENS,
  T,
  TAG_HAS_CONTENT,
  docTypeOf,
  publicIdFor,
  type SyncMlVersion,
  type WbxmlLanguage,
} from './code-pages.js';

export interface WbxmlEncodeOptions {
  /** Public id to write (the one the client used); default derived from the root namespace. */
  publicId?: number | string;
  /** WBXML version byte, 1-3 (WBXML 1.1-1.3). Default 2 (WBXML 1.2, as libsynthesis writes). */
  version?: number;
  /** Keep MetInf `Type` `application/vnd.syncml-devinf+xml` as is (default: write `+wbxml`). */
  keepDevInfType?: boolean;
}

type Space = 'syncml' | 'metinf' | 'devinf';

const utf8 = new TextEncoder();
const latin1 = new TextDecoder('latin1');

function cannot(reason: string): never {
  throw new GatewayError('BAD_MESSAGE', `WBXML encode: ${reason}`);
}

export function encodeWbxml(root: SmlElement, opts: WbxmlEncodeOptions = {}): Uint8Array {
  const wbxmlVersion = opts.version ?? 0x02;
  if (!Number.isInteger(wbxmlVersion) || wbxmlVersion < 1 || wbxmlVersion > 3) cannot(`WBXML version ${wbxmlVersion}`);
  const language = languageOf(root);
  const given = opts.publicId !== undefined ? docTypeOf(opts.publicId) : undefined;
  const version = given?.version ?? versionOf(root) ?? '1.2';
  const publicId = opts.publicId ?? publicIdFor(language, version);
  const w = new ByteWriter(4096);
  new Encoder(w, language, wbxmlVersion, version, opts.keepDevInfType ?? false).document(root, publicId);
  return w.finish();
}

function languageOf(root: SmlElement): WbxmlLanguage {
  const ns = root.ns?.toLowerCase();
  if (root.name === 'DevInf' || ns === NS_DEVINF) return 'devinf';
  if (ns === NS_METINF) return 'metinf';
  return 'syncml';
}

function textOfChild(el: SmlElement, name: string): string | undefined {
  for (const c of el.children) {
    if (typeof c === 'object' && 'name' in c && c.name === name) {
      let s = '';
      for (const x of c.children) {
        if (typeof x === 'string') s += x;
        else if ('opaque' in x) s += latin1.decode(x.opaque);
      }
      return s.trim();
    }
  }
  return undefined;
}

/** Version from `SYNCML:SYNCML1.x`, else SyncHdr/VerDTD (SyncML) or VerDTD (DevInf). */
function versionOf(root: SmlElement): SyncMlVersion | undefined {
  const m = /^syncml:syncml(1\.[012])$/i.exec(root.ns ?? '');
  if (m) return m[1] as SyncMlVersion;
  let v: string | undefined;
  if (root.name === 'DevInf') v = textOfChild(root, 'VerDTD');
  else {
    const hdr = root.children.find((c): c is SmlElement => typeof c === 'object' && 'name' in c && c.name === 'SyncHdr');
    v = hdr && textOfChild(hdr, 'VerDTD');
  }
  return v === '1.0' || v === '1.1' || v === '1.2' ? v : undefined;
}

function spaceOfNs(ns: string | undefined): Space | undefined {
  if (ns === undefined) return undefined;
  const l = ns.toLowerCase();
  if (l === NS_METINF) return 'metinf';
  if (l === NS_DEVINF) return 'devinf';
  if (l.startsWith('syncml:syncml')) return 'syncml';
  return undefined;
}

class Encoder {
  readonly #w: ByteWriter;
  readonly #language: WbxmlLanguage;
  readonly #wbxmlVersion: number;
  readonly #version: SyncMlVersion;
  readonly #keepDevInfType: boolean;
  #page = 0;

  constructor(w: ByteWriter, language: WbxmlLanguage, wbxmlVersion: number, version: SyncMlVersion, keep: boolean) {
    this.#w = w;
    this.#language = language;
    this.#wbxmlVersion = wbxmlVersion;
    this.#version = version;
    this.#keepDevInfType = keep;
  }

  document(root: SmlElement, publicId: number | string): void {
    const w = this.#w;
    w.byte(this.#wbxmlVersion);
    if (typeof publicId === 'string') {
      // publicid 0 + string-table index 0; the FPI is the only string-table entry.
      const fpiBytes = utf8.encode(publicId);
      w.byte(0);
      w.byte(0);
      w.mbUint(MIB_UTF8);
      w.mbUint(fpiBytes.length + 1);
      w.bytes(fpiBytes);
      w.byte(0);
    } else {
      w.mbUint(publicId);
      w.mbUint(MIB_UTF8);
      w.byte(0); // empty string table
    }
    const space: Space = this.#language === 'syncml' ? 'syncml' : this.#language;
    this.#element(root, space, undefined, true);
  }

  /** Token and code page of `name` in `space`; falls back to the other SyncML page by name. */
  #token(name: string, space: Space): [page: number, token: number] {
    if (this.#language === 'devinf') {
      const t = DEVINF_TOKENS.get(name);
      if (t === undefined) cannot(`<${name}> is not a DevInf element`);
      return [0, t];
    }
    if (this.#language === 'metinf') {
      const t = METINF_TOKENS.get(name);
      if (t === undefined) cannot(`<${name}> is not a MetInf element`);
      return [0, t];
    }
    const first = space === 'metinf' ? METINF_TOKENS : SYNCML_TOKENS;
    const t = first.get(name);
    if (t !== undefined) return [space === 'metinf' ? 1 : 0, t];
    // A tree built without ns on a MetInf element still encodes (e.g. Meta > Type).
    const other = space === 'metinf' ? SYNCML_TOKENS : METINF_TOKENS;
    const o = other.get(name);
    if (o === undefined) cannot(`<${name}> has no WBXML token in SyncML or MetInf`);
    return [space === 'metinf' ? 0 : 1, o];
  }

  #element(el: SmlElement, inherited: Space, parent: SmlElement | undefined, isRoot: boolean): void {
    let space = spaceOfNs(el.ns) ?? inherited;
    if (!isRoot && this.#language === 'syncml' && (space === 'devinf' || el.name === 'DevInf')) {
      this.#nestedDevInf(el);
      return;
    }
    const [page, token] = this.#token(el.name, space);
    if (this.#language === 'syncml') space = page === 1 ? 'metinf' : 'syncml';
    const children = normalise(el.children);
    const w = this.#w;
    if (page !== this.#page) {
      w.byte(T.SWITCH_PAGE);
      w.byte(page);
      this.#page = page;
    }
    if (children.length === 0) {
      w.byte(token);
      return;
    }
    w.byte(token | TAG_HAS_CONTENT);
    // Item data (vCard, iCalendar, ...) goes as OPAQUE so not a single byte is reinterpreted.
    const itemData = el.name === 'Data' && parent?.name === 'Item';
    const devInfType = space === 'metinf' && el.name === 'Type' && !this.#keepDevInfType;
    for (const c of children) {
      if (typeof c === 'string') {
        const s = devInfType && c.trim() === DEVINF_TYPE_XML ? DEVINF_TYPE_WBXML : c;
        if (itemData || s.includes('\0')) this.#opaque(utf8.encode(s));
        else {
          w.byte(T.STR_I);
          w.utf8(s);
          w.byte(0);
        }
      } else if ('opaque' in c) this.#opaque(c.opaque);
      else this.#element(c, space, el, false);
    }
    w.byte(T.END);
  }

  #opaque(bytes: Uint8Array): void {
    this.#w.byte(T.OPAQUE);
    this.#w.mbUint(bytes.length);
    this.#w.bytes(bytes);
  }

  /** DevInf inside a SyncML message: a complete WBXML document in OPAQUE (libsynthesis, Horde). */
  #nestedDevInf(el: SmlElement): void {
    const v = textOfChild(el, 'VerDTD');
    const version: SyncMlVersion = v === '1.0' || v === '1.1' || v === '1.2' ? v : this.#version;
    const sub = new ByteWriter(2048);
    new Encoder(sub, 'devinf', this.#wbxmlVersion, version, this.#keepDevInfType).document(
      el,
      publicIdFor('devinf', version),
    );
    this.#opaque(sub.finish());
  }
}

/**
 * Children as they will be written: adjacent strings merged, empty strings dropped, and
 * whitespace-only strings dropped next to elements (SyncML has no mixed content; that
 * whitespace is XML indentation).
 */
function normalise(children: SmlNode[]): SmlNode[] {
  let hasElement = false;
  let hasString = 0;
  for (const c of children) {
    if (typeof c === 'string') hasString++;
    else if ('name' in c) hasElement = true;
    else if (c.opaque.length === 0) hasString = 2; // force the slow path
  }
  // Common cases need no copy: only elements, or one non-empty text.
  if (hasString === 0) return children;
  if (hasString === 1 && !hasElement && children.length === 1 && children[0] !== '') return children;
  const out: SmlNode[] = [];
  for (const c of children) {
    if (typeof c === 'string') {
      if (c === '' || (hasElement && c.trim() === '')) continue;
      const last = out[out.length - 1];
      if (typeof last === 'string') out[out.length - 1] = last + c;
      else out.push(c);
    } else if ('opaque' in c) {
      if (c.opaque.length > 0) out.push(c);
    } else out.push(c);
  }
  return out;
}
