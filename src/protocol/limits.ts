// Length caps on what a client names in its SyncHdr and commands, checked before anything is
// looked up, locked, logged in full or stored: identifiers become parts of state keys and logs.
import type { Command, SyncMLMessage } from '../codec/model.js';

export const LIMITS = {
  deviceId: 256,
  sessionId: 64,
  msgId: 32,
  locURI: 2048,
  /** User name in a Cred or LocName. */
  userName: 256,
  /** Cred data (b64); a longer one is a 401, never a request to the DAV server. */
  credential: 4096,
} as const;

/** The first cap a message exceeds (`field (n > cap)`), or undefined. */
export function identifierViolation(msg: SyncMLMessage): string | undefined {
  const h = msg.header;
  const over = (field: string, v: string | undefined, cap: number): string | undefined =>
    v !== undefined && v.length > cap ? `${field} (${v.length} > ${cap} characters)` : undefined;
  const hdr = over('device id (Source/LocURI)', h.source.locURI, LIMITS.deviceId)
    ?? over('SessionID', h.sessionId, LIMITS.sessionId)
    ?? over('MsgID', h.msgId, LIMITS.msgId)
    ?? over('Target/LocURI', h.target.locURI, LIMITS.locURI)
    ?? over('RespURI', h.respURI, LIMITS.locURI);
  if (hdr) return hdr;
  for (const uri of commandUris(msg.body)) {
    const v = over('LocURI', uri, LIMITS.locURI);
    if (v) return v;
  }
  return undefined;
}

function* commandUris(cmds: readonly Command[]): Generator<string> {
  for (const c of cmds) {
    if ('target' in c && c.target && typeof c.target === 'object' && 'locURI' in c.target) yield c.target.locURI;
    if ('source' in c && c.source && typeof c.source === 'object' && 'locURI' in c.source) yield c.source.locURI;
    if ('items' in c && Array.isArray(c.items)) {
      for (const i of c.items) {
        if (i.target?.locURI !== undefined) yield i.target.locURI;
        if (i.source?.locURI !== undefined) yield i.source.locURI;
      }
    }
    if (c.kind === 'Map') for (const mi of c.mapItems) yield* [mi.target.locURI, mi.source.locURI];
    if ('commands' in c && Array.isArray(c.commands)) yield* commandUris(c.commands);
  }
}

/** A log-safe form of a client-chosen string (never more than `max` characters). */
export function logSafe(s: string | undefined, max = 80): string | undefined {
  if (s === undefined) return undefined;
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length})`;
}

/** Largest object accepted from a device (assembled chunks included). */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
