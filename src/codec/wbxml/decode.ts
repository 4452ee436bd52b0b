// WBXML bytes -> SmlElement tree for SyncML, DevInf and MetInf documents (WBXML 1.1-1.3,
// WAP-192-WBXML). Defensive: every length is checked against the remaining input before use,
// so hostile input ends in GatewayError('BAD_MESSAGE'), never a crash, hang or huge allocation.

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
import { WbxmlCursor, bad, findTerminator, hex } from './decode-cursor.js';
import { concatBytes, decodeLatin1, decodeText, plainText, verDtdOf } from './decode-text.js';

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
  readonly #in: WbxmlCursor;
  readonly #limits: Limits;
  readonly #baseDepth: number;
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
    this.#in = new WbxmlCursor(buf);
    this.#limits = limits;
    this.#baseDepth = baseDepth;
  }

  document(): WbxmlDocument {
    const version = this.#in.byte();
    // WBXML 1.0 (0x00) has no charset field and is not used by SyncML; 1.1-1.3 are equivalent.
    if (version < 0x01 || version > 0x03) bad(`unsupported WBXML version byte ${hex(version)}`);
    let publicId: number | string = this.#in.mb();
    const pidIndex = publicId === 0 ? this.#in.mb() : -1;
    const mib = this.#in.mb();
    const cs = CHARSETS.get(mib === 0 ? MIB_UTF8 : mib); // 0 = "unknown": assume UTF-8
    if (!cs) bad(`unsupported charset MIBenum ${mib}`);
    this.#charset = cs;
    this.#utf8 = cs.name === 'UTF-8';
    const tblLen = this.#in.mb();
    if (tblLen > this.#in.len - this.#in.pos) bad(`string table length ${tblLen} past end of input`);
    this.#strtbl = this.#in.buf.subarray(this.#in.pos, this.#in.pos + tblLen);
    this.#in.pos += tblLen;
    if (pidIndex >= 0) {
      // FPI literal; SE phones and libsynthesis store it without a terminating NUL.
      if (pidIndex >= tblLen) bad(`public id string index ${pidIndex} out of range`);
      let end = this.#strtbl.indexOf(0, pidIndex);
      if (end < 0) end = tblLen;
      publicId = decodeLatin1(this.#strtbl.subarray(pidIndex, end));
    }

    // body = *SWITCH_PAGE element (PI is not used by SyncML)
    while (this.#in.peek() === SWITCH_PAGE) {
      this.#in.pos++;
      this.#page = this.#in.byte();
    }
    const first = this.#in.peek();
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

  // --- strings ---------------------------------------------------------------------------

  #spend(n: number): void {
    this.#limits.budget -= n;
    if (this.#limits.budget < 0) bad('decoded output larger than maxOutput');
  }

  #text(src: Uint8Array, start: number, end: number): string | OpaqueNode {
    this.#spend(end - start);
    return decodeText(src, start, end, this.#charset, this.#utf8);
  }

  #inlineString(): string | OpaqueNode {
    if (this.#utf8) {
      // Hot path: find the NUL and check for ASCII in one pass (short tokens dominate SyncML).
      const cur = this.#in;
      const buf = cur.buf;
      const len = cur.len;
      const start = cur.pos;
      let i = start;
      let high = 0;
      for (; i < len; i++) {
        const c = buf[i];
        if (c === 0) break;
        high |= c;
      }
      if (i >= len) bad('unterminated inline string');
      cur.pos = i + 1;
      if (high < 0x80 && i - start <= 32) {
        this.#spend(i - start);
        let s = '';
        for (let j = start; j < i; j++) s += String.fromCharCode(buf[j]);
        return s;
      }
      return this.#text(buf, start, i);
    }
    const end = findTerminator(this.#in.buf, this.#in.pos, this.#charset.nulWidth);
    if (end < 0) bad('unterminated inline string');
    const s = this.#text(this.#in.buf, this.#in.pos, end);
    this.#in.pos = end + this.#charset.nulWidth;
    return s;
  }

  #tableString(index: number): string | OpaqueNode {
    if (index >= this.#strtbl.length) bad(`string table index ${index} out of range`);
    const cached = this.#strCache.get(index);
    if (cached !== undefined) {
      this.#spend(typeof cached === 'string' ? cached.length : cached.opaque.length);
      return cached;
    }
    let end = findTerminator(this.#strtbl, index, this.#charset.nulWidth);
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
    const tok = this.#in.byte();
    const id = tok & ID_MASK;
    const page = this.#page;
    let name: string | undefined;
    if (id === LITERAL) {
      const n = this.#tableString(this.#in.mb());
      if (typeof n !== 'string' || n === '') bad('invalid LITERAL tag name');
      name = n;
    } else {
      name = this.#table(page)[id];
      if (name === undefined) bad(`unknown tag token ${hex(id)} on ${this.#language} code page ${page}`);
    }
    const el: SmlElement = page !== parentPage ? { name, ns: this.#pageNs(page), children: [] } : { name, children: [] };
    if (tok & HAS_ATTRS) this.#in.skipAttributes(this.#charset.nulWidth);
    if (tok & HAS_CONTENT) this.#content(el, page, depth);
    this.#afterElement(el, page, depth);
    if (this.#limits.headerOnly && depth === 1 && name === 'SyncHdr' && this.#language === 'syncml') this.#stopped = true;
    return el;
  }

  #content(el: SmlElement, page: number, depth: number): void {
    const children = el.children;
    const cur = this.#in;
    const buf = cur.buf;
    // Adjacent text runs (STR_I, STR_T, ENTITY) form one string, as in XML; adjacent opaque
    // runs form one opaque node, so the tree is canonical.
    let text = '';
    let lastOpaque = false;
    for (;;) {
      if (cur.pos >= cur.len) bad('truncated input');
      const b = buf[cur.pos];
      if ((b & ID_MASK) >= LITERAL) {
        if (text !== '') children.push(text);
        text = '';
        lastOpaque = false;
        children.push(this.#element(page, depth + 1));
        if (this.#stopped) return;
        continue;
      }
      cur.pos++;
      let t: string | OpaqueNode | SmlElement;
      switch (b) {
        case END:
          if (text !== '') children.push(text);
          return;
        case SWITCH_PAGE: {
          const p = cur.byte();
          this.#checkPage(p);
          this.#page = p;
          continue;
        }
        case STR_I:
          t = this.#inlineString();
          break;
        case STR_T:
          t = this.#tableString(cur.mb());
          break;
        case ENTITY: {
          const cp = cur.mb();
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(`invalid ENTITY ${cp}`);
          this.#spend(1);
          t = String.fromCodePoint(cp);
          break;
        }
        case OPAQUE: {
          const n = cur.mb();
          if (n > cur.len - cur.pos) bad(`OPAQUE length ${n} past end of input`);
          const start = cur.pos;
          cur.pos += n;
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
        children[children.length - 1] = { opaque: concatBytes(prev.opaque, (t as OpaqueNode).opaque) };
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
