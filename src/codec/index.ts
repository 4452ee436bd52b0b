// Codec facade: bytes + content type <-> typed SyncML message, for XML and WBXML alike.
import { GatewayError } from '../errors.js';
import { messageToTree, treeToMessage, writeCommand } from './message.js';
import type { Command, SyncMLMessage, WireFormat } from './model.js';
import type { SmlElement } from './tree.js';
import { decodeWbxml, encodeWbxml, isWbxml } from './wbxml/index.js';
import { decodeXml, encodeXml } from './xml.js';
import type { DecodeLimits } from './decode-limits.js';

export const CONTENT_TYPES = {
  xml: 'application/vnd.syncml+xml',
  wbxml: 'application/vnd.syncml+wbxml',
} as const;

/** Wire encoding named by a Content-Type header (parameters like `; charset=UTF-8` allowed). */
export function encodingOf(contentType: string | undefined): WireFormat['encoding'] | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (base === CONTENT_TYPES.xml) return 'xml';
  if (base === CONTENT_TYPES.wbxml) return 'wbxml';
  return undefined;
}

export interface Decoded {
  message: SyncMLMessage;
  wire: WireFormat;
}

/** `limits`: element/attribute/reference caps (decode-limits.ts); none = unlimited (CLI, tests). */
export function decodeMessage(body: Uint8Array, encoding: WireFormat['encoding'], limits?: DecodeLimits): Decoded {
  if (body.length === 0) throw new GatewayError('BAD_MESSAGE', 'empty body');
  if (encoding === 'wbxml') {
    const doc = decodeWbxml(body, limits ? { maxElements: limits.maxElements } : {});
    return { message: treeToMessage(doc.root), wire: { encoding, wbxmlPublicId: doc.publicId, wbxmlVersion: doc.version } };
  }
  return { message: treeToMessage(decodeXml(body, limits ? { limits } : {})), wire: { encoding } };
}

const HEADER_MAX_ELEMENTS = 500;
const HEADER_MAX_OUTPUT = 64 * 1024;

/**
 * The SyncHdr of a WBXML message as a message of its own (SyncBody left empty), decoded without
 * reading the body: undefined when the bytes do not get that far as valid WBXML.
 */
export function decodeWbxmlHeader(body: Uint8Array, limits: DecodeLimits): SyncMLMessage | undefined {
  try {
    // Runs on the event loop before authentication, so it is bounded by what a real header needs
    // (a few dozen elements, identifiers capped at 2 KB), not by the body's size.
    const doc = decodeWbxml(body, { maxElements: Math.min(limits.maxElements, HEADER_MAX_ELEMENTS), maxOutput: HEADER_MAX_OUTPUT, headerOnly: true });
    return treeToMessage(doc.root);
  } catch {
    return undefined;
  }
}

/** Decode a file of unknown encoding (CLI): WBXML by its version byte, else XML. */
export function decodeAny(body: Uint8Array): Decoded {
  return decodeMessage(body, isWbxml(body) ? 'wbxml' : 'xml');
}

/**
 * Decode any SyncML-family document (CLI `decode`): a SyncML message is read through the message
 * model (so what is printed is what the gateway understood); a standalone DevInf (as phones and
 * libwbxml's examples have them) is printed as its element tree.
 */
export function decodeDocument(body: Uint8Array): SmlElement {
  const root = isWbxml(body) ? decodeWbxml(body).root : decodeXml(body);
  return root.name === 'SyncML' ? messageToTree(treeToMessage(root)) : root;
}

const utf8 = new TextEncoder();

export function encodeMessage(msg: SyncMLMessage, wire: WireFormat): Uint8Array {
  const tree = messageToTree(msg);
  if (wire.encoding === 'wbxml') {
    return encodeWbxml(tree, {
      ...(wire.wbxmlPublicId !== undefined ? { publicId: wire.wbxmlPublicId } : {}),
      ...(wire.wbxmlVersion !== undefined ? { version: wire.wbxmlVersion } : {}),
    });
  }
  return utf8.encode(encodeXml(tree));
}

/** Encoded size of one command: used to keep replies under the client's MaxMsgSize. */
export function commandSizer(wire: WireFormat): (cmd: Command) => number {
  if (wire.encoding === 'wbxml') {
    // A command encodes alone as the body of a minimal document; the header bytes are counted
    // in the reply overhead, so the small constant part is subtracted.
    return (cmd) => encodeWbxml({ name: 'SyncML', ns: 'SYNCML:SYNCML1.2', children: [{ name: 'SyncBody', children: [writeCommand(cmd)] }] }).length - 8;
  }
  // The byte count without the bytes: TextEncoder and Buffer.byteLength both count a lone
  // surrogate as the 3 bytes of U+FFFD, so this is the length encodeMessage produces.
  return (cmd) => Buffer.byteLength(encodeXml(writeCommand(cmd), { declaration: false }), 'utf8');
}

export { decodeXml, encodeXml, formatXml } from './xml.js';
export { PRE_AUTH_LIMITS, SESSION_LIMITS, prescanXml, type DecodeLimits } from './decode-limits.js';
export { treeToMessage, messageToTree } from './message.js';
export type { SyncMLMessage, WireFormat } from './model.js';
