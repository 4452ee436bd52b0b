// Server Alerted Notification ("package 0"): the DS 1.2 binary form with its MD5 digest, and the
// legacy DS 1.0/1.1 form (an ordinary SyncML message with Alert 206-210). Pure: bytes in, bytes
// out. Layout and digest: ../shared/spec/san.md (libsynthesis san.cpp, buteo-syncml).
import { createHash } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { decodeAny, encodeMessage } from './index.js';
import type { AlertCmd, SyncMLMessage, SyncMLVersion } from './model.js';

export type SanUiMode = 'unspecified' | 'background' | 'informative' | 'interactive';
export type SanInitiator = 'user' | 'server';
/** Alert codes a SAN may name (two-way, one-way/refresh from client, one-way/refresh from server). */
export type SanSyncType = 206 | 207 | 208 | 209 | 210;

export interface SanSync {
  syncType: SanSyncType;
  /** WSP/OMNA well-known content-type number (0 = unspecified), e.g. 0x07 text/x-vcard. */
  contentType: number;
  /** Server database URI, what the client puts in its Alert's Target/LocURI. */
  serverUri: string;
}

export interface San {
  /** Protocol version × 10: 12 for DS 1.2 (parsers also see 10 and 11). */
  version: number;
  uiMode: SanUiMode;
  initiator: SanInitiator;
  /** 16-bit session id the client uses as its SessionID in package 1. */
  sessionId: number;
  serverId: string;
  /** Empty = "sync all datastores". */
  syncs: SanSync[];
  vendor?: Uint8Array;
}

/** What the device knows about the server (digest input). */
export interface SanSecret {
  password: string;
  nonce: string;
}

export type SanErrorReason = 'truncated' | 'digest' | 'invalid' | 'not-a-san';

/** A SAN that cannot be built or read; `reason` says which check failed. */
export class SanError extends GatewayError {
  readonly reason: SanErrorReason;
  constructor(reason: SanErrorReason, message: string, options?: { cause?: unknown }) {
    super('BAD_MESSAGE', message, { ...options, details: { reason } });
    this.name = 'SanError';
    this.reason = reason;
  }
}

const UI_MODES: SanUiMode[] = ['unspecified', 'background', 'informative', 'interactive'];
const DIGEST_BYTES = 16;
const HEADER_BYTES = 8;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Well-known content-type numbers of the MIME types a datastore carries (0 when none). */
export const SAN_CONTENT_TYPES: Readonly<Record<string, number>> = {
  'text/plain': 0x03,
  'text/x-vcalendar': 0x06,
  'text/x-vcard': 0x07,
  'text/calendar': 0x0305,
  'application/vnd.omads-email+xml': 0x0306,
  'application/vnd.omads-file+xml': 0x0307,
  'application/vnd.omads-folder+xml': 0x0308,
  'text/directory;profile=vcard': 0x0309,
  'text/vcard': 0x0309,
};

export function sanContentTypeName(code: number): string | undefined {
  if (code === 0x0309) return 'text/directory;profile=vCard';
  return Object.entries(SAN_CONTENT_TYPES).find(([, v]) => v === code)?.[0];
}

const md5 = (data: Uint8Array | string): Buffer => createHash('md5').update(data).digest();

/** digest = H(B64(H(server-id ":" password)) ":" nonce ":" B64(H(notification))). */
export function sanDigest(serverId: string, secret: SanSecret, notification: Uint8Array): Uint8Array {
  const cred = md5(`${serverId}:${secret.password}`).toString('base64');
  const body = md5(notification).toString('base64');
  return new Uint8Array(md5(`${cred}:${secret.nonce}:${body}`));
}

function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new SanError('invalid', message);
}

/** The 1.2 binary SAN. Without `secret` the digest is 16 zero bytes (libsynthesis' "no credentials"). */
export function encodeSan(san: San, secret?: SanSecret): Uint8Array {
  check(Number.isInteger(san.version) && san.version >= 0 && san.version < 1024, `version ${san.version} does not fit 10 bits`);
  check(Number.isInteger(san.sessionId) && san.sessionId >= 0 && san.sessionId <= 0xffff, `session id ${san.sessionId} does not fit 16 bits`);
  const id = utf8.encode(san.serverId);
  check(id.length <= 255, 'server id longer than 255 bytes');
  check(san.syncs.length <= 15, 'at most 15 sync records fit a SAN');
  const parts: number[] = [
    san.version >> 2,
    ((san.version & 0x03) << 6) | (UI_MODES.indexOf(san.uiMode) << 4) | (san.initiator === 'server' ? 0x08 : 0),
    0, 0, 0,
    san.sessionId >> 8, san.sessionId & 0xff,
    id.length, ...id,
    san.syncs.length << 4,
  ];
  for (const s of san.syncs) {
    check(s.syncType >= 206 && s.syncType <= 210, `sync type ${s.syncType} is not 206-210`);
    check(Number.isInteger(s.contentType) && s.contentType >= 0 && s.contentType <= 0xffffff, 'content type does not fit 24 bits');
    const uri = utf8.encode(s.serverUri);
    check(uri.length <= 255, 'server URI longer than 255 bytes');
    parts.push((s.syncType - 200) << 4, s.contentType >> 16, (s.contentType >> 8) & 0xff, s.contentType & 0xff, uri.length, ...uri);
  }
  if (san.vendor) parts.push(...san.vendor);
  const notification = new Uint8Array(parts);
  const digest = secret ? sanDigest(san.serverId, secret, notification) : new Uint8Array(DIGEST_BYTES);
  const out = new Uint8Array(DIGEST_BYTES + notification.length);
  out.set(digest, 0);
  out.set(notification, DIGEST_BYTES);
  return out;
}

export interface DecodedSan {
  san: San;
  digest: Uint8Array;
  /** true/false when a secret was given to check against; undefined otherwise. */
  digestValid?: boolean;
}

/**
 * Read a 1.2 binary SAN. With `secret`, a digest that does not match throws SanError 'digest';
 * short input throws 'truncated'.
 */
export function decodeSan(bytes: Uint8Array, secret?: SanSecret): DecodedSan {
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) throw new SanError('truncated', `SAN truncated in ${what} (needs ${pos + n} bytes, has ${bytes.length})`);
  };
  const text = (n: number, what: string): string => {
    need(n, what);
    try {
      return utf8Decoder.decode(bytes.subarray(pos, (pos += n)));
    } catch (err) {
      throw new SanError('invalid', `${what} is not UTF-8`, { cause: err });
    }
  };
  need(DIGEST_BYTES + HEADER_BYTES, 'header');
  const digest = bytes.slice(0, DIGEST_BYTES);
  pos = DIGEST_BYTES;
  const b = bytes.subarray(pos, pos + HEADER_BYTES);
  pos += HEADER_BYTES;
  const version = (b[0]! << 2) | (b[1]! >> 6);
  const uiMode = UI_MODES[(b[1]! >> 4) & 0x03]!;
  const initiator: SanInitiator = b[1]! & 0x08 ? 'server' : 'user';
  const sessionId = (b[5]! << 8) | b[6]!;
  const serverId = text(b[7]!, 'server identifier');
  need(1, 'body');
  const numSyncs = bytes[pos++]! >> 4;
  const syncs: SanSync[] = [];
  for (let i = 0; i < numSyncs; i++) {
    need(5, `sync record ${i + 1}`);
    const type = 200 + (bytes[pos]! >> 4);
    if (type < 206 || type > 210) throw new SanError('invalid', `sync record ${i + 1}: sync type ${type} is not 206-210`);
    const contentType = (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    const uriLen = bytes[pos + 4]!;
    pos += 5;
    syncs.push({ syncType: type as SanSyncType, contentType, serverUri: text(uriLen, `sync record ${i + 1} server URI`) });
  }
  const san: San = { version, uiMode, initiator, sessionId, serverId, syncs };
  if (pos < bytes.length) san.vendor = bytes.slice(pos);
  if (!secret) return { san, digest };
  const expected = sanDigest(serverId, secret, bytes.subarray(DIGEST_BYTES));
  if (!Buffer.from(expected).equals(Buffer.from(digest))) {
    throw new SanError('digest', 'SAN digest does not match the server credentials and nonce');
  }
  return { san, digest, digestValid: true };
}

// ------------------------------------------------------------------ legacy (DS 1.0/1.1)

export interface LegacySan {
  version: Extract<SyncMLVersion, '1.0' | '1.1'>;
  sessionId: string;
  serverId: string;
  syncType: SanSyncType;
  /** One item per datastore: server DB URI and its MIME type. */
  datastores: Array<{ serverUri: string; mimeType?: string }>;
}

/** The legacy SAN as a SyncML message (libsynthesis GetPackageLegacy). */
export function legacySanMessage(s: LegacySan): SyncMLMessage {
  const alert: AlertCmd = {
    kind: 'Alert', cmdId: '1', data: String(s.syncType),
    items: s.datastores.map((d) => ({ source: { locURI: d.serverUri }, ...(d.mimeType ? { meta: { type: d.mimeType } } : {}) })),
  };
  return {
    version: s.version,
    header: {
      verDTD: s.version, verProto: `SyncML/${s.version}`, sessionId: s.sessionId, msgId: '1',
      target: { locURI: '/' }, source: { locURI: s.serverId },
    },
    body: [alert],
    final: true,
  };
}

export function encodeLegacySan(s: LegacySan, encoding: 'xml' | 'wbxml' = 'wbxml'): Uint8Array {
  return encodeMessage(legacySanMessage(s), { encoding });
}

/** Read a legacy SAN (XML or WBXML); throws SanError 'not-a-san' for other SyncML messages. */
export function decodeLegacySan(bytes: Uint8Array): LegacySan {
  let msg: SyncMLMessage;
  try {
    msg = decodeAny(bytes).message;
  } catch (err) {
    throw new SanError('not-a-san', 'not a SyncML message', { cause: err });
  }
  const alert = msg.body.find((c): c is AlertCmd => c.kind === 'Alert');
  const code = Number(alert?.data);
  if (!alert || !(code >= 206 && code <= 210)) throw new SanError('not-a-san', 'SyncML message without an Alert 206-210');
  if (msg.version === '1.2') throw new SanError('not-a-san', 'a SyncML 1.2 message is not a legacy SAN');
  return {
    version: msg.version,
    sessionId: msg.header.sessionId,
    serverId: msg.header.source.locURI,
    syncType: code as SanSyncType,
    datastores: alert.items.map((i) => ({ serverUri: i.source?.locURI ?? '', ...(i.meta?.type ? { mimeType: i.meta.type } : {}) })),
  };
}

export type AnySan = { form: 'binary'; decoded: DecodedSan } | { form: 'legacy'; san: LegacySan };

/** Like libsynthesis PassSan: a SyncML message first, else the 1.2 binary form. */
export function decodeAnySan(bytes: Uint8Array, secret?: SanSecret): AnySan {
  try {
    return { form: 'legacy', san: decodeLegacySan(bytes) };
  } catch (err) {
    if (!(err instanceof SanError && err.reason === 'not-a-san')) throw err;
  }
  return { form: 'binary', decoded: decodeSan(bytes, secret) };
}
