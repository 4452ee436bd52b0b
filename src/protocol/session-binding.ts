// How sessions are named and stored: the token (144 random bits, `RespURI?sid=`), the alias that
// finds a token by account + device id + SessionID (phones that ignore RespURI), the log id, and
// the stored form, which never holds a DAV password in clear (passthrough: sealed with
// STATE_SECRET, bound to the token; gateway-held: re-derived from the mapping).
import { createHash, randomBytes } from 'node:crypto';
import type { SyncMLMessage, WireFormat } from '../codec/model.js';
import type { AccountMapping } from '../accounts/mappings.js';
import type { DavCredentials } from '../datastores/datastore.js';
import { GatewayError } from '../errors.js';
import type { SecretBox } from '../state/secret-box.js';
import { gatewayHeldDavCredentials } from './auth.js';
import type { SessionState } from './session.js';

/** What the stored session holds instead of the DAV password. */
export interface StoredSession extends Omit<SessionState, 'dav'> {
  davSealed?: string;
}

export function newSessionToken(): string {
  return randomBytes(18).toString('base64url');
}

export function newSession(msg: SyncMLMessage, wire: WireFormat, token: string, account: string, dav: DavCredentials): SessionState {
  return {
    key: token, sessionId: msg.header.sessionId, deviceId: msg.header.source.locURI, version: msg.version, wire,
    startedAt: new Date().toISOString(), authenticated: true, account, dav, lastClientMsgId: '0', serverMsgId: 0,
    phase: 'init', datastores: [], sentAlerts: {}, sent: {}, syncOpened: [], askedDevInf: false,
  };
}

/** The stored form: no DAV password in clear (passthrough: sealed; gateway-held: re-derived). */
export function sealSession(session: SessionState, mapping: AccountMapping, token: string, secrets: SecretBox | undefined): StoredSession {
  const { dav, ...rest } = session;
  if (mapping.auth.mode !== 'passthrough' || !dav || !secrets) return rest;
  return { ...rest, davSealed: secrets.seal(JSON.stringify(dav), `dav:${token}`) };
}

export function openSession(stored: StoredSession, mapping: AccountMapping, token: string, secrets: SecretBox | undefined): SessionState {
  const { davSealed, ...rest } = stored;
  const session: SessionState = { ...rest };
  if (mapping.auth.mode === 'passthrough') {
    if (!davSealed || !secrets) throw new GatewayError('AUTH_FAILED', 'session holds no DAV credentials; the phone must authenticate again');
    session.dav = JSON.parse(secrets.open(davSealed, `dav:${token}`)) as DavCredentials;
  } else {
    const dav = gatewayHeldDavCredentials(mapping);
    if (dav) session.dav = dav;
  }
  return session;
}

/** Where the token of a device's session is found by device id + SessionID (after authentication). */
export function aliasKey(account: string, deviceId: string, sessionId: string): string {
  return `alias:${createHash('sha256').update(`${account}\u0000${deviceId}\u0000${sessionId}`).digest('base64url').slice(0, 32)}`;
}

/** What logs call a session: a digest of its token (the token itself lets its holder continue it). */
export function sessionLogId(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}
