// The encoding-neutral element tree that both codecs (XML and WBXML) produce and consume.
// Everything above the codec sees only this tree (via message.ts), never XML or WBXML bytes.
import { decodeUtf8Lossless } from './lossless-utf8.js';

/** Opaque bytes as WBXML carries them (OPAQUE token); XML has no equivalent and uses text. */
export interface OpaqueNode {
  readonly opaque: Uint8Array;
}

export type SmlNode = SmlElement | string | OpaqueNode;

export interface SmlElement {
  /** Local element name as in the DTD, e.g. `SyncHdr`, `MaxMsgSize`, `DevInf`. */
  name: string;
  /**
   * Namespace when the element opens a new one (`syncml:metinf`, `syncml:devinf`,
   * `SYNCML:SYNCML1.2`), as written by the sender; undefined = inherited from the parent.
   */
  ns?: string;
  children: SmlNode[];
}

export function isElement(node: SmlNode | undefined): node is SmlElement {
  return typeof node === 'object' && node !== null && 'name' in node;
}

export function isOpaque(node: SmlNode | undefined): node is OpaqueNode {
  return typeof node === 'object' && node !== null && 'opaque' in node;
}

export function el(name: string, children: SmlNode[] = [], ns?: string): SmlElement {
  return ns === undefined ? { name, children } : { name, ns, children };
}

/** Child elements with the given name, in document order. */
export function childElements(parent: SmlElement, name?: string): SmlElement[] {
  const out: SmlElement[] = [];
  for (const c of parent.children) if (isElement(c) && (name === undefined || c.name === name)) out.push(c);
  return out;
}

export function firstChild(parent: SmlElement, name: string): SmlElement | undefined {
  for (const c of parent.children) if (isElement(c) && c.name === name) return c;
  return undefined;
}

/**
 * Concatenated character content of an element (text and opaque children; opaque read as UTF-8,
 * bytes that are not UTF-8 on their own kept as escapes, see lossless-utf8.ts).
 */
export function textOf(node: SmlElement | undefined): string | undefined {
  if (!node) return undefined;
  let s = '';
  for (const c of node.children) {
    if (typeof c === 'string') s += c;
    else if (isOpaque(c)) s += decodeUtf8Lossless(c.opaque);
  }
  return s;
}

export function childText(parent: SmlElement, name: string): string | undefined {
  const c = firstChild(parent, name);
  return c ? textOf(c)!.trim() : undefined;
}
