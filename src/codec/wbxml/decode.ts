// WBXML bytes -> SmlElement tree for SyncML, DevInf and MetInf documents (WBXML 1.1-1.3,
// WAP-192-WBXML). Defensive: every length is checked against the remaining input before use,
// so hostile input ends in GatewayError('BAD_MESSAGE'), never a crash, hang or huge allocation.

import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { GatewayError } from '../../errors.js';
import type { OpaqueNode, SmlElement } from '../tree.js';
import {
  CHARSETS,
  DEVINF_PAGE_11,
  DEVINF_PAGE_12,
  DEVINF_TYPE_WBXML,
  DEVINF_TYPE_XML,
  METINF_PAGE,
  MIB_UTF8,
  NS_DEVINF,
  NS_METINF,
  SYNCML_PAGE0,
  T,
  TAG_HAS_ATTRS,
  TAG_HAS_CONTENT,
  TAG_ID_MASK,
  docTypeOf,
  syncMlNamespace,
  type CharsetInfo,
  type SyncMlVersion,
  type WbxmlLanguage,
} from './code-pages.js';

export interface WbxmlDecodeOptions {
  /** Deepest element nesting accepted (nested DevInf documents count on top). Default 64. */
  maxDepth?: number;
  /** Most elements accepted (nested DevInf included) [unlimited]. */
  maxElements?: number;
  /**
   * Most decoded characters + opaque bytes accepted; guards against string-table amplification
   * (a short STR_T token may repeat a long string). Default max(8 x input length, 1 MiB).
   */
  maxOutput?: number;
  /**
   * Keep `application/vnd.syncml-devinf+wbxml` in MetInf `Type` as sent. By default it is
   * rewritten to `+xml`, as wbxml2xml does, so the tree matches the XML form of the message.
   */
  keepDevInfType?: boolean;
  /**
   * Stop after the SyncHdr: the root holds the header and an empty SyncBody. Lets the gateway
   * check the credentials of a big body before decoding all of it.
   */
  headerOnly?: boolean;
}

export interface WbxmlDocument {
  root: SmlElement;
  /** WBXML version byte: 1 = WBXML 1.1, 2 = 1.2, 3 = 1.3. */
  version: number;
  /** Numeric public id, or the FPI text when the document names it through the string table. */
  publicId: number | string;
  /** Document charset name (e.g. `UTF-8`). */
  charset: string;
}

// Local copies: reads of imported bindings cost in the hot loop under some loaders (tsx).
const { SWITCH_PAGE, END, ENTITY, STR_I, LITERAL, STR_T, OPAQUE } = T;
const ID_MASK = TAG_ID_MASK;
const HAS_CONTENT = TAG_HAS_CONTENT;
const HAS_ATTRS = TAG_HAS_ATTRS;
const SYNCML0 = SYNCML_PAGE0;
const METINF = METINF_PAGE;
const DEVINF_11 = DEVINF_PAGE_11;
const DEVINF_12 = DEVINF_PAGE_12;

function bad(reason: string): never {
  throw new GatewayError('BAD_MESSAGE', `WBXML: ${reason}`);
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const latin1 = new TextDecoder('latin1');

/** Limits shared by a document and the DevInf documents nested in it. */
interface Limits {
  maxDepth: number;
  budget: number;
  elements: number;
  keepDevInfType: boolean;
  headerOnly: boolean;
}

/** Heuristic: does this body look like WBXML rather than XML? (version byte 1.1-1.3). */
export function isWbxml(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] >= 0x01 && bytes[0] <= 0x03;
}

export function decodeWbxml(bytes: Uint8Array, opts: WbxmlDecodeOptions = {}): WbxmlDocument {
  const limits: Limits = {
    maxDepth: opts.maxDepth ?? 64,
    elements: opts.maxElements ?? Number.MAX_SAFE_INTEGER,
    budget: opts.maxOutput ?? Math.max(bytes.length * 8, 1 << 20),
    keepDevInfType: opts.keepDevInfType ?? false,
    headerOnly: opts.headerOnly ?? false,
  };
  // A Buffer's slice() is a view; work on a plain Uint8Array so opaque nodes are real copies.
  const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  return new Decoder(plain, limits, 0).document();
}

class Decoder {
  readonly #buf: Uint8Array;
  readonly #len: number;
  readonly #limits: Limits;
  readonly #baseDepth: number;
  #pos = 0;
  #strtbl: Uint8Array = new Uint8Array(0);
  readonly #strCache = new Map<number, string | OpaqueNode>();
  #charset: CharsetInfo = CHARSETS.get(MIB_UTF8)!;
  #utf8 = true;
  #language: WbxmlLanguage = 'syncml';
  #docVersion: SyncMlVersion | undefined;
  #page = 0;
  #devInfTable: readonly (string | undefined)[] = DEVINF_12;
  /** Set when `headerOnly` has read the SyncHdr: every open element ends there. */
  #stopped = false;

  constructor(buf: Uint8Array, limits: Limits, baseDepth: number) {
    this.#buf = buf;
    this.#len = buf.length;
    this.#limits = limits;
    this.#baseDepth = baseDepth;
  }

  document(): WbxmlDocument {
    const version = this.#byte();
    // WBXML 1.0 (0x00) has no charset field and is not used by SyncML; 1.1-1.3 are equivalent.
    if (version < 0x01 || version > 0x03) bad(`unsupported WBXML version byte ${hex(version)}`);
    let publicId: number | string = this.#mb();
    const pidIndex = publicId === 0 ? this.#mb() : -1;
    const mib = this.#mb();
    const cs = CHARSETS.get(mib === 0 ? MIB_UTF8 : mib); // 0 = "unknown": assume UTF-8
    if (!cs) bad(`unsupported charset MIBenum ${mib}`);
    this.#charset = cs;
    this.#utf8 = cs.name === 'UTF-8';
    const tblLen = this.#mb();
    if (tblLen > this.#len - this.#pos) bad(`string table length ${tblLen} past end of input`);
    this.#strtbl = this.#buf.subarray(this.#pos, this.#pos + tblLen);
    this.#pos += tblLen;
    if (pidIndex >= 0) {
      // FPI literal; SE phones and libsynthesis store it without a terminating NUL.
      if (pidIndex >= tblLen) bad(`public id string index ${pidIndex} out of range`);
      let end = this.#strtbl.indexOf(0, pidIndex);
      if (end < 0) end = tblLen;
      publicId = latin1.decode(this.#strtbl.subarray(pidIndex, end));
    }

    // body = *SWITCH_PAGE element (PI is not used by SyncML)
    while (this.#peek() === SWITCH_PAGE) {
      this.#pos++;
      this.#page = this.#byte();
    }
    const first = this.#peek();
    if ((first & ID_MASK) < LITERAL) bad(`expected root element, found token ${hex(first)}`);

    const dt = docTypeOf(publicId);
    if (dt) {
      this.#language = dt.language;
      this.#docVersion = dt.version;
    } else {
      // Unknown id (0x01 from some Funambol servers): the root token tells SyncML from DevInf.
      this.#language = (first & ID_MASK) === 0x0a && this.#page === 0 ? 'devinf' : 'syncml';
    }
    if (this.#language === 'devinf' && this.#docVersion && this.#docVersion !== '1.2') {
      this.#devInfTable = DEVINF_11;
    }
    this.#checkPage(this.#page);

    const root = this.#element(-1, 0);
    if (this.#stopped) root.children.push({ name: 'SyncBody', children: [] });
    if (this.#language === 'syncml' && !this.#docVersion) root.ns = syncMlNamespace(verDtdOf(root) ?? '1.2');
    // Bytes after the root element are ignored (WBXML allows trailing PIs only; be lenient).
    return { root, version, publicId, charset: cs.name };
  }

  // --- primitive readers -------------------------------------------------------------------

  #peek(): number {
    if (this.#pos >= this.#len) bad('truncated input');
    return this.#buf[this.#pos];
  }

  #byte(): number {
    if (this.#pos >= this.#len) bad('truncated input');
    return this.#buf[this.#pos++];
  }

  /** mb_u_int32: at most 5 bytes, value must fit in 32 bits. */
  #mb(): number {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.#byte();
      v = v * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) {
        if (v > 0xffffffff) bad('mb_u_int32 overflow');
        return v;
      }
    }
    return bad('mb_u_int32 longer than 5 bytes');
  }

  /** Position of the string terminator at or after `from` in `buf`, or -1. */
  #nul(buf: Uint8Array, from: number): number {
    if (this.#charset.nulWidth === 1) return buf.indexOf(0, from);
    for (let i = from; i + 1 < buf.length; i += 2) if (buf[i] === 0 && buf[i + 1] === 0) return i;
    return -1;
  }

  #spend(n: number): void {
    this.#limits.budget -= n;
    if (this.#limits.budget < 0) bad('decoded output larger than maxOutput');
  }

  /** Text in the document charset; invalid UTF-8 stays bytes (lossless; textOf() still reads it). */
  #text(src: Uint8Array, start: number, end: number): string | OpaqueNode {
    const n = end - start;
    this.#spend(n);
    if (this.#utf8) {
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
    return iconv.decode(b, this.#charset.iconv ?? this.#charset.name);
  }

  #inlineString(): string | OpaqueNode {
    if (this.#utf8) {
      // Hot path: find the NUL and check for ASCII in one pass (short tokens dominate SyncML).
      const buf = this.#buf;
      const start = this.#pos;
      let i = start;
      let high = 0;
      for (; i < this.#len; i++) {
        const c = buf[i];
        if (c === 0) break;
        high |= c;
      }
      if (i >= this.#len) bad('unterminated inline string');
      this.#pos = i + 1;
      if (high < 0x80 && i - start <= 32) {
        this.#spend(i - start);
        let s = '';
        for (let j = start; j < i; j++) s += String.fromCharCode(buf[j]);
        return s;
      }
      return this.#text(buf, start, i);
    }
    const end = this.#nul(this.#buf, this.#pos);
    if (end < 0) bad('unterminated inline string');
    const s = this.#text(this.#buf, this.#pos, end);
    this.#pos = end + this.#charset.nulWidth;
    return s;
  }

  #tableString(index: number): string | OpaqueNode {
    if (index >= this.#strtbl.length) bad(`string table index ${index} out of range`);
    const cached = this.#strCache.get(index);
    if (cached !== undefined) {
      this.#spend(typeof cached === 'string' ? cached.length : cached.opaque.length);
      return cached;
    }
    let end = this.#nul(this.#strtbl, index);
    if (end < 0) end = this.#strtbl.length; // last string without terminator: be lenient
    const s = this.#text(this.#strtbl, index, end);
    this.#strCache.set(index, s);
    return s;
  }

  // --- code pages ----------------------------------------------------------------------------

  #checkPage(page: number): void {
    const max = this.#language === 'syncml' ? 1 : 0;
    if (page > max) bad(`unknown code page ${page} in ${this.#language} document`);
  }

  #table(page: number): readonly (string | undefined)[] {
    if (this.#language === 'syncml') return page === 0 ? SYNCML0 : METINF;
    return this.#language === 'devinf' ? this.#devInfTable : METINF;
  }

  #pageNs(page: number): string {
    if (this.#language === 'devinf') return NS_DEVINF;
    if (this.#language === 'metinf' || page === 1) return NS_METINF;
    return syncMlNamespace(this.#docVersion ?? '1.2');
  }

  // --- elements ------------------------------------------------------------------------------

  /** Reads one element; `parentPage` -1 for the root. `ns` is set where the namespace changes. */
  #element(parentPage: number, depth: number): SmlElement {
    if (depth + this.#baseDepth > this.#limits.maxDepth) bad(`nesting deeper than ${this.#limits.maxDepth}`);
    if (--this.#limits.elements < 0) bad('more elements than accepted');
    const tok = this.#byte();
    const id = tok & ID_MASK;
    const page = this.#page;
    let name: string | undefined;
    if (id === LITERAL) {
      const n = this.#tableString(this.#mb());
      if (typeof n !== 'string' || n === '') bad('invalid LITERAL tag name');
      name = n;
    } else {
      name = this.#table(page)[id];
      if (name === undefined) bad(`unknown tag token ${hex(id)} on ${this.#language} code page ${page}`);
    }
    const el: SmlElement = page !== parentPage ? { name, ns: this.#pageNs(page), children: [] } : { name, children: [] };
    if (tok & HAS_ATTRS) this.#skipAttributes();
    if (tok & HAS_CONTENT) this.#content(el, page, depth);
    this.#afterElement(el, page, depth);
    if (this.#limits.headerOnly && depth === 1 && name === 'SyncHdr' && this.#language === 'syncml') this.#stopped = true;
    return el;
  }

  #content(el: SmlElement, page: number, depth: number): void {
    const children = el.children;
    const buf = this.#buf;
    // Adjacent text runs (STR_I, STR_T, ENTITY) form one string, as in XML; adjacent opaque
    // runs form one opaque node, so the tree is canonical.
    let text = '';
    let lastOpaque = false;
    for (;;) {
      if (this.#pos >= this.#len) bad('truncated input');
      const b = buf[this.#pos];
      if ((b & ID_MASK) >= LITERAL) {
        if (text !== '') children.push(text);
        text = '';
        lastOpaque = false;
        children.push(this.#element(page, depth + 1));
        if (this.#stopped) return;
        continue;
      }
      this.#pos++;
      let t: string | OpaqueNode | SmlElement;
      switch (b) {
        case END:
          if (text !== '') children.push(text);
          return;
        case SWITCH_PAGE: {
          const p = this.#byte();
          this.#checkPage(p);
          this.#page = p;
          continue;
        }
        case STR_I:
          t = this.#inlineString();
          break;
        case STR_T:
          t = this.#tableString(this.#mb());
          break;
        case ENTITY: {
          const cp = this.#mb();
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(`invalid ENTITY ${cp}`);
          this.#spend(1);
          t = String.fromCodePoint(cp);
          break;
        }
        case OPAQUE: {
          const n = this.#mb();
          if (n > this.#len - this.#pos) bad(`OPAQUE length ${n} past end of input`);
          const start = this.#pos;
          this.#pos += n;
          if (n === 0) continue;
          const nested = el.name === 'Data' ? this.#nestedDevInf(buf.subarray(start, start + n), depth) : undefined;
          if (nested) {
            if (text !== '') children.push(text);
            text = '';
            lastOpaque = false;
            children.push(nested);
            continue;
          }
          this.#spend(n);
          t = { opaque: buf.slice(start, start + n) };
          break;
        }
        default:
          return bad(`unsupported global token ${hex(b)}`); // EXT_*, PI
      }
      if (typeof t === 'string') {
        text += t;
        continue;
      }
      if (text !== '') {
        children.push(text);
        text = '';
      } else if (lastOpaque) {
        const prev = children[children.length - 1] as OpaqueNode;
        children[children.length - 1] = { opaque: concat(prev.opaque, (t as OpaqueNode).opaque) };
        continue;
      }
      children.push(t);
      lastOpaque = true;
    }
  }

  /**
   * DevInf inside Data travels as a complete WBXML document in OPAQUE (libsynthesis
   * subdtdEncWBXML, Horde XmlOutput). Decode it into elements; anything that is not a valid
   * DevInf document stays opaque bytes (a vCard never starts with a version byte 0x01-0x03).
   */
  #nestedDevInf(bytes: Uint8Array, depth: number): SmlElement | undefined {
    if (!isWbxml(bytes)) return undefined;
    if (bytes[1] !== 0x00 && bytes[1] !== 0x01 && bytes[1] !== 0x9f && bytes[1] !== 0xa4) return undefined;
    const budget = this.#limits.budget;
    try {
      const sub = new Decoder(bytes, this.#limits, this.#baseDepth + depth + 2);
      const doc = sub.document();
      if (doc.root.name === 'DevInf') return doc.root;
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
    }
    this.#limits.budget = budget;
    return undefined;
  }

  /** Attribute lists are never used by SyncML; skip one cleanly up to its END. */
  #skipAttributes(): void {
    for (;;) {
      const b = this.#byte();
      switch (b) {
        case T.END:
          return;
        case SWITCH_PAGE:
          this.#byte();
          break;
        case T.STR_I:
        case T.EXT_I_0:
        case T.EXT_I_0 + 1:
        case T.EXT_I_2: {
          const end = this.#nul(this.#buf, this.#pos);
          if (end < 0) bad('unterminated inline string in attributes');
          this.#pos = end + this.#charset.nulWidth;
          break;
        }
        case T.STR_T:
        case T.ENTITY:
        case LITERAL:
        case T.EXT_T_0:
        case T.EXT_T_0 + 1:
        case T.EXT_T_2:
          this.#mb();
          break;
        case T.OPAQUE: {
          const n = this.#mb();
          if (n > this.#len - this.#pos) bad(`OPAQUE length ${n} past end of input`);
          this.#pos += n;
          break;
        }
        default: // attribute start / value token, or EXT_0..2: single byte
      }
    }
  }

  #afterElement(el: SmlElement, page: number, depth: number): void {
    if (this.#language === 'devinf') {
      // No public id version: the DevInf's own VerDTD (always its first child) picks Size/MaxSize.
      if (depth === 1 && el.name === 'VerDTD' && !this.#docVersion) {
        const v = plainText(el).trim();
        if (v === '1.0' || v === '1.1') this.#devInfTable = DEVINF_11;
      }
      return;
    }
    const metinf = this.#language === 'metinf' || page === 1;
    if (metinf && el.name === 'Type' && !this.#limits.keepDevInfType && el.children.length === 1) {
      if (plainText(el).trim() === DEVINF_TYPE_WBXML) el.children[0] = DEVINF_TYPE_XML;
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Text and opaque content of an element, opaque read as Latin-1 (for ASCII keywords only). */
function plainText(el: SmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (typeof c === 'string') s += c;
    else if ('opaque' in c) s += latin1.decode(c.opaque);
  }
  return s;
}

/** SyncHdr/VerDTD of a decoded SyncML root, if it names a known version. */
function verDtdOf(root: SmlElement): SyncMlVersion | undefined {
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

