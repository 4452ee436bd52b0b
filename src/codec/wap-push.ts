// WAP Push over SMS for a SAN: the WSP push PDU (WAP-230-WSP) and the SMS user-data header with
// WDP application ports (WAP-259-WDP), split into concatenated SMS when it does not fit one.
// Byte values: ../shared/spec/san.md section 3. Pure.
import { GatewayError } from '../errors.js';

/** WDP port of the connectionless WAP push service (destination) and WSP (source). */
export const WDP_PUSH_PORT = 2948;
export const WDP_WSP_SOURCE_PORT = 9200;
/** Octets of user data in one 8-bit SMS (UDH included). */
export const SMS_USER_DATA_OCTETS = 140;

/** Content types a SAN travels with. */
export const SAN_WSP_TYPES = {
  /** DS 1.2 binary SAN: well-known 0x4E application/vnd.syncml.ds.notification. */
  notification: 'application/vnd.syncml.ds.notification',
  /** Legacy 1.0/1.1 SAN as WBXML: registered 0x0303 application/vnd.syncml+wbxml. */
  legacyWbxml: 'application/vnd.syncml+wbxml',
} as const;

const WSP_PUSH = 0x06;
const X_WAP_APPLICATION_ID = 0x2f;
/** x-wap-application:push.syncml (DS); 0x07 would be syncml.dm. */
export const PUSH_APP_SYNCML = 0x05;

export interface WspPush {
  transactionId: number;
  contentType: string;
  applicationId?: number;
  payload: Uint8Array;
}

function contentTypeBytes(contentType: string): number[] {
  if (contentType === SAN_WSP_TYPES.notification) return [0x4e | 0x80];
  // Content-general-form: value-length 3, long-integer (length 2) 0x0303.
  if (contentType === SAN_WSP_TYPES.legacyWbxml) return [0x03, 0x02, 0x03, 0x03];
  throw new GatewayError('NOT_SUPPORTED', `no WSP code for content type ${contentType}`);
}

/** Connectionless WSP Push PDU: TID, 0x06, headers length, content type, X-Wap-Application-Id, data. */
export function wspPushPdu(payload: Uint8Array, contentType: string = SAN_WSP_TYPES.notification, transactionId = 1, applicationId = PUSH_APP_SYNCML): Uint8Array {
  const headers = [...contentTypeBytes(contentType), X_WAP_APPLICATION_ID | 0x80, applicationId | 0x80];
  return Uint8Array.from([transactionId & 0xff, WSP_PUSH, headers.length, ...headers, ...payload]);
}

function bad(message: string): GatewayError {
  return new GatewayError('BAD_MESSAGE', `WSP push: ${message}`);
}

/** Read a push PDU built like wspPushPdu (short or 0x0303 long content type, application id). */
export function decodeWspPush(pdu: Uint8Array): WspPush {
  if (pdu.length < 3) throw bad('truncated');
  if (pdu[1] !== WSP_PUSH) throw bad(`PDU type 0x${pdu[1]!.toString(16)} is not Push`);
  const headersLength = pdu[2]!;
  const end = 3 + headersLength;
  if (end > pdu.length) throw bad('headers truncated');
  const h = pdu.subarray(3, end);
  if (h.length === 0) throw bad('no content type');
  let pos: number;
  let contentType: string;
  if (h[0]! & 0x80) {
    const code = h[0]! & 0x7f;
    contentType = code === 0x4e ? SAN_WSP_TYPES.notification : `0x${code.toString(16)}`;
    pos = 1;
  } else if (h[0]! <= 30) {
    const len = h[0]!;
    const value = h.subarray(1, 1 + len);
    if (value.length !== len) throw bad('content type truncated');
    const code = value[0]! <= 30 ? value.subarray(1, 1 + value[0]!).reduce((a, b) => (a << 8) | b, 0) : -1;
    contentType = code === 0x0303 ? SAN_WSP_TYPES.legacyWbxml : `0x${code.toString(16)}`;
    pos = 1 + len;
  } else {
    throw bad('text content types are not read');
  }
  let applicationId: number | undefined;
  while (pos + 1 < h.length) {
    if (h[pos] === (X_WAP_APPLICATION_ID | 0x80)) applicationId = h[pos + 1]! & 0x7f;
    pos += 2;
  }
  return { transactionId: pdu[0]!, contentType, ...(applicationId !== undefined ? { applicationId } : {}), payload: pdu.slice(end) };
}

export interface SmsSegment {
  /** User data header including its length octet. */
  udh: Uint8Array;
  /** The rest of the user data. */
  data: Uint8Array;
}

export interface SegmentOptions {
  destinationPort?: number;
  sourcePort?: number;
  /** Concatenated-SMS reference number (8-bit), the same in every part. */
  reference?: number;
}

function portIe(dst: number, src: number): number[] {
  return [0x05, 0x04, dst >> 8, dst & 0xff, src >> 8, src & 0xff];
}

/** One SMS when UDH + PDU fit 140 octets, else concatenated parts (IE 0x00) of at most 140. */
export function wapPushSegments(pdu: Uint8Array, opts: SegmentOptions = {}): SmsSegment[] {
  const ports = portIe(opts.destinationPort ?? WDP_PUSH_PORT, opts.sourcePort ?? WDP_WSP_SOURCE_PORT);
  if (1 + ports.length + pdu.length <= SMS_USER_DATA_OCTETS) {
    return [{ udh: Uint8Array.from([ports.length, ...ports]), data: pdu.slice() }];
  }
  const ieLength = ports.length + 5;
  const room = SMS_USER_DATA_OCTETS - 1 - ieLength;
  const total = Math.ceil(pdu.length / room);
  if (total > 255) throw new GatewayError('TOO_LARGE', `WAP push of ${pdu.length} bytes needs more than 255 SMS`);
  const ref = (opts.reference ?? 0) & 0xff;
  return Array.from({ length: total }, (_, i) => ({
    udh: Uint8Array.from([ieLength, 0x00, 0x03, ref, total, i + 1, ...ports]),
    data: pdu.slice(i * room, (i + 1) * room),
  }));
}

export interface Udh {
  destinationPort?: number;
  sourcePort?: number;
  concat?: { reference: number; total: number; sequence: number };
}

/** Information elements of a user data header (16-bit ports, 8-bit concatenation). */
export function parseUdh(udh: Uint8Array): Udh {
  if (udh.length < 1 || udh[0]! + 1 !== udh.length) throw bad('UDH length octet does not match');
  const out: Udh = {};
  let pos = 1;
  while (pos + 1 < udh.length) {
    const id = udh[pos]!;
    const len = udh[pos + 1]!;
    const v = udh.subarray(pos + 2, pos + 2 + len);
    if (v.length !== len) throw bad('UDH element truncated');
    if (id === 0x05 && len === 4) {
      out.destinationPort = (v[0]! << 8) | v[1]!;
      out.sourcePort = (v[2]! << 8) | v[3]!;
    } else if (id === 0x00 && len === 3) {
      out.concat = { reference: v[0]!, total: v[1]!, sequence: v[2]! };
    }
    pos += 2 + len;
  }
  return out;
}

/** Join received parts (any order) back into the WSP PDU; throws when a part is missing. */
export function reassemble(parts: readonly SmsSegment[]): { udh: Udh; pdu: Uint8Array } {
  const parsed = parts.map((p) => ({ udh: parseUdh(p.udh), data: p.data }));
  const first = parsed[0];
  if (!first) throw bad('no SMS');
  if (!first.udh.concat) {
    if (parsed.length !== 1) throw bad('several SMS without concatenation headers');
    return { udh: first.udh, pdu: first.data };
  }
  const total = first.udh.concat.total;
  const sorted = [...parsed].sort((a, b) => (a.udh.concat?.sequence ?? 0) - (b.udh.concat?.sequence ?? 0));
  if (sorted.length !== total || sorted.some((p, i) => p.udh.concat?.sequence !== i + 1 || p.udh.concat.reference !== first.udh.concat!.reference)) {
    throw bad(`concatenated SMS incomplete (${sorted.length} of ${total})`);
  }
  return { udh: first.udh, pdu: Buffer.concat(sorted.map((p) => p.data)) };
}
