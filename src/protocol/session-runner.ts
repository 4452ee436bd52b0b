// Who may continue which session. The runner authenticates a message or finds the session its
// token names, binds the message to that session's account and device, takes the per-device lock
// (only after authentication; the key includes the account), answers resends from the cache,
// hands the bound message to the engine for its commands, and saves the session with its DAV
// password sealed. Nothing is stored for a message that did not authenticate, except an MD5
// nonce with a short TTL and failure counters. The rules are in docs/security.md.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Command, Meta, SyncHdr, SyncMLMessage, WireFormat } from '../codec/model.js';
import type { AccountMapping, AccountRegistry } from '../accounts/mappings.js';
import type { DavCredentials } from '../datastores/datastore.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from '../state/secret-box.js';
import type { StateStore } from '../state/state-store.js';
import { AuthCache, authenticateBasic, credType, decodeBasicCred, gatewayHeldDavCredentials, newNonce, verifyMd5, type CredentialVerifier } from './auth.js';
import { identifierViolation, LIMITS, logSafe } from './limits.js';
import type { AuthFailureReason, SessionObserver } from './observer.js';
import { ReplyBuilder } from './reply.js';
import type { SessionState } from './session.js';
import { Status, statusForError } from './status.js';

/** Largest object accepted from a device (assembled chunks included). */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
const LOCK_TTL_SECONDS = 10;
const LOCK_RENEW_MS = 3000;
/** How long a message waits for another message of the same device (e.g. a crashed holder). */
const LOCK_WAIT_MS = 15_000;

export interface RunnerSettings {
  serverUrl: string;
  sessionTtlSeconds: number;
  serverMaxMsgSize: number;
  authCacheSeconds: number;
  /** Lifetime of an MD5 nonce handed out before authentication [300]. */
  challengeTtlSeconds?: number;
  /** Failed authentications tolerated per client address / per account in the window [20, 50, 300 s]. */
  authFailuresPerAddress?: number;
  authFailuresPerAccount?: number;
  authFailureWindowSeconds?: number;
}

export interface RunnerDeps {
  accounts: AccountRegistry;
  state: StateStore;
  verifyCredentials: CredentialVerifier;
  log: Logger;
  encode(msg: SyncMLMessage, wire: WireFormat): Uint8Array;
  /** Seals passthrough DAV passwords in stored sessions; without it they are not stored at all. */
  secrets?: SecretBox;
  observer?: SessionObserver;
  settings: RunnerSettings;
}

/** A message the runner has bound to an authenticated session, for the engine's commands. */
export interface BoundMessage {
  msg: SyncMLMessage;
  wire: WireFormat;
  session: SessionState;
  mapping: AccountMapping;
  log: Logger;
  /** This message authenticated: SyncHdr 212, and for MD5 accounts the nonce for the next session. */
  authenticated?: { chal?: Meta; nextNonce?: string };
}

export interface ProcessedMessage {
  reply: SyncMLMessage;
  completed: boolean;
  /** How long the session is kept after this message. */
  ttlSeconds: number;
}

export interface RunResult {
  /** The encoded reply, in the client's encoding. */
  body: Uint8Array;
  reply?: SyncMLMessage;
  sessionKey: string;
  completed: boolean;
  /** The client re-sent a message it had sent before: the earlier reply is repeated. */
  resent: boolean;
  /** Set when the request is refused at HTTP level (an identifier over its cap: 400); `body` is empty then. */
  httpStatus?: number;
  httpReason?: string;
}

export interface RunOptions {
  /** `sid` of the RespURI the message was posted to. */
  sid?: string;
  /** Hash of the raw request: a resent message gets the same reply. */
  requestHash?: string;
  remoteAddress?: string;
}

/** What the stored session holds instead of the DAV password. */
interface StoredSession extends Omit<SessionState, 'dav'> {
  davSealed?: string;
}

type AuthOutcome =
  | { ok: true; mapping: AccountMapping; dav: DavCredentials; type: string }
  | { ok: false; code: number; reason: AuthFailureReason; mapping?: AccountMapping; user?: string };

export class SessionRunner {
  readonly #d: RunnerDeps;
  readonly #process: (b: BoundMessage) => Promise<ProcessedMessage>;
  readonly #authCache: AuthCache;

  constructor(deps: RunnerDeps, process: (b: BoundMessage) => Promise<ProcessedMessage>) {
    this.#d = deps;
    this.#process = process;
    this.#authCache = new AuthCache(deps.settings.authCacheSeconds);
  }

  /** True when `sid` names a live session (the HTTP layer allows such messages a larger body). */
  async knowsSession(sid: string | undefined): Promise<boolean> {
    if (!sid || sid.length > 64) return false;
    return (await this.#d.state.getSession<StoredSession>(sid))?.authenticated === true;
  }

  /**
   * For a big body before decoding it: `header` is its SyncHdr alone. Returns the refusal (401/407
   * with a Chal) when those credentials are not valid, undefined when the message may be decoded.
   */
  async precheck(header: SyncMLMessage, wire: WireFormat, remoteAddress?: string): Promise<RunResult | undefined> {
    const log = this.#d.log.child({ device: logSafe(header.header.source.locURI), msgId: logSafe(header.header.msgId) });
    if (identifierViolation(header)) return undefined; // run() answers 400 with the reason
    const auth = await this.#authenticate(header, log, remoteAddress, false);
    return auth.ok ? undefined : this.#refuse(header, wire, log, auth.code, auth.reason, auth.mapping, remoteAddress, auth.user);
  }

  async run(msg: SyncMLMessage, wire: WireFormat, o: RunOptions = {}): Promise<RunResult> {
    const hdr = msg.header;
    const violation = identifierViolation(msg);
    if (violation) {
      this.#d.log.warn({ device: logSafe(hdr.source.locURI), reason: violation }, 'request refused: identifier too long');
      return { body: new Uint8Array(), sessionKey: '', completed: false, resent: false, httpStatus: 400, httpReason: `${violation}\n` };
    }
    const deviceId = hdr.source.locURI;
    let log = this.#d.log.child({ device: deviceId, msgId: hdr.msgId });
    let token: string | undefined;
    let mapping: AccountMapping | undefined;
    try {
      // ---- binding: the session named by the token, or credentials in this very message
      let session: SessionState | undefined;
      let authenticated: BoundMessage['authenticated'];
      const named = o.sid && o.sid.length <= 64 ? await this.#d.state.getSession<StoredSession>(o.sid) : undefined;
      if (named) {
        if (!named.authenticated || named.deviceId !== deviceId || named.sessionId !== hdr.sessionId || !named.account) {
          log.warn({ sid: 'mismatch' }, 'session token used by another device or session: refused, nothing executed');
          return await this.#refuse(msg, wire, log, Status.INVALID_CREDENTIALS, 'session-token', undefined, o.remoteAddress);
        }
        mapping = this.#d.accounts.get(named.account);
        if (!mapping) throw new GatewayError('AUTH_FAILED', `account ${named.account} is no longer configured`);
        token = o.sid!;
        session = this.#open(named, mapping, token);
      }
      const isNewStart = hdr.msgId === '1' && msg.body.some((c) => c.kind === 'Alert' && /^2(0\d|10)$/.test(c.data ?? ''));
      if (session && (session.phase === 'done' || session.phase === 'suspended' || (isNewStart && session.lastClientMsgId !== '1'))) {
        const cached = await this.#cached(token!, hdr, o.requestHash);
        if (cached) return { body: cached, sessionKey: token!, completed: false, resent: true };
        session = undefined; // a new session must authenticate
        token = undefined;
      }
      if (!session) {
        // An exact resend (same bytes, credentials included) of a message already answered gets the
        // same reply again: nothing runs, and an MD5 digest whose nonce was used since still works.
        const resent = await this.#resentWithoutToken(msg, o.requestHash);
        if (resent) return resent;
        const auth = await this.#authenticate(msg, log, o.remoteAddress);
        if (!auth.ok) return await this.#refuse(msg, wire, log, auth.code, auth.reason, auth.mapping, o.remoteAddress, auth.user);
        mapping = auth.mapping;
        log = log.child({ account: mapping.account });
        // Continuing by device id + SessionID (phones that ignore RespURI), credentials checked again.
        const alias = aliasKey(mapping.account, deviceId, hdr.sessionId);
        const aliasToken = await this.#d.state.getSession<string>(alias);
        const prior = aliasToken ? await this.#d.state.getSession<StoredSession>(aliasToken) : undefined;
        if (prior && prior.account === mapping.account && prior.deviceId === deviceId && prior.sessionId === hdr.sessionId) {
          token = aliasToken!;
          session = this.#open(prior, mapping, token);
          const cached = await this.#cached(token, hdr, o.requestHash);
          if (cached) return { body: cached, sessionKey: token, completed: false, resent: true };
          if (session.phase === 'done' || session.phase === 'suspended' || (isNewStart && session.lastClientMsgId !== '1')) {
            log.info('client started a new session with a reused SessionID; the old one is abandoned');
            session = undefined;
          }
        }
        if (!session) {
          token = randomBytes(18).toString('base64url');
          session = newSession(msg, wire, token, mapping.account, auth.dav);
          notify(this.#d.observer, log, 'sessionStarted', { account: mapping.account, deviceId, sessionKey: token, sessionId: hdr.sessionId, syncmlVersion: msg.version });
        } else {
          session.dav = auth.dav;
        }
        log.info({ credType: auth.type }, 'authenticated');
        const md5 = mapping.auth.mode === 'secret' && mapping.auth.md5 !== undefined;
        const nextNonce = md5 ? newNonce() : undefined;
        authenticated = nextNonce ? { nextNonce, chal: { type: 'syncml:auth-md5', format: 'b64', nextNonce } } : {};
      }
      return await this.#locked(msg, wire, session, mapping!, token!, log.child({ session: sessionLogId(token!) }), authenticated, o, !!authenticated && session.serverMsgId === 0);
    } catch (err) {
      notify(this.#d.observer, log, 'sessionFailed', { deviceId, ...(mapping ? { account: mapping.account } : {}), ...(token ? { sessionKey: token } : {}), reason: describeError(err) });
      return this.#failure(msg, wire, log, err, token);
    }
  }

  async #locked(msg: SyncMLMessage, wire: WireFormat, session: SessionState, mapping: AccountMapping, token: string, log: Logger,
    authenticated: BoundMessage['authenticated'], o: RunOptions, isNew: boolean): Promise<RunResult> {
    const lockKey = { account: mapping.account, deviceId: session.deviceId };
    const owner = randomUUID();
    if (!(await this.#lock(lockKey, owner))) throw new GatewayError('DEVICE_BUSY', 'another session of this device is running');
    const renew = setInterval(() => {
      this.#d.state.acquireLock(lockKey, owner, LOCK_TTL_SECONDS).catch(() => undefined);
    }, LOCK_RENEW_MS);
    try {
      const cached = await this.#cached(token, msg.header, o.requestHash);
      if (cached) {
        log.info('client re-sent a message: repeating the earlier reply, nothing applied again');
        return { body: cached, sessionKey: token, completed: false, resent: true };
      }
      if (!isNew) {
        // Read again under the lock: another message of this device may have changed it meanwhile.
        const fresh = await this.#d.state.getSession<StoredSession>(token);
        if (!fresh) throw new GatewayError('AUTH_FAILED', 'session expired');
        session = { ...this.#open(fresh, mapping, token), ...(session.dav ? { dav: session.dav } : {}) };
      }
      const out = await this.#process({ msg, wire, session, mapping, log, ...(authenticated ? { authenticated } : {}) });
      const body = this.#d.encode(out.reply, wire);
      const stored = this.#seal(session, mapping, token);
      await this.#d.state.putSession(token, stored, out.ttlSeconds);
      await this.#d.state.putSession(aliasKey(mapping.account, session.deviceId, session.sessionId), token, out.ttlSeconds);
      if (o.requestHash) {
        await this.#d.state.putCachedReply(token, `${msg.header.msgId}:${o.requestHash}`, { body, contentType: wire.encoding }, this.#d.settings.sessionTtlSeconds);
      }
      return { body, reply: out.reply, sessionKey: token, completed: out.completed, resent: false };
    } finally {
      clearInterval(renew);
      await this.#d.state.releaseLock(lockKey, owner).catch(() => undefined);
    }
  }

  async #resentWithoutToken(msg: SyncMLMessage, requestHash: string | undefined): Promise<RunResult | undefined> {
    const hdr = msg.header;
    if (!requestHash || !hdr.cred) return undefined;
    const user = credType(hdr.cred) === 'syncml:auth-basic' ? decodeBasicCred(hdr.cred)?.username : hdr.source.locName;
    if (!user || user.length > LIMITS.userName || !this.#d.accounts.get(user)) return undefined;
    const token = await this.#d.state.getSession<string>(aliasKey(user, hdr.source.locURI, hdr.sessionId));
    const body = token ? await this.#cached(token, hdr, requestHash) : undefined;
    return body && token ? { body, sessionKey: token, completed: false, resent: true } : undefined;
  }

  async #lock(key: { account: string; deviceId: string }, owner: string): Promise<boolean> {
    for (let waited = 0; waited <= LOCK_WAIT_MS; waited += 250) {
      if (await this.#d.state.acquireLock(key, owner, LOCK_TTL_SECONDS)) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  async #cached(token: string, hdr: SyncHdr, requestHash: string | undefined): Promise<Uint8Array | undefined> {
    if (!requestHash) return undefined;
    return (await this.#d.state.getCachedReply(token, `${hdr.msgId}:${requestHash}`))?.body;
  }

  /** The stored form: no DAV password in clear (passthrough: sealed; gateway-held: re-derived). */
  #seal(session: SessionState, mapping: AccountMapping, token: string): StoredSession {
    const { dav, ...rest } = session;
    if (mapping.auth.mode !== 'passthrough' || !dav || !this.#d.secrets) return rest;
    return { ...rest, davSealed: this.#d.secrets.seal(JSON.stringify(dav), `dav:${token}`) };
  }

  #open(stored: StoredSession, mapping: AccountMapping, token: string): SessionState {
    const { davSealed, ...rest } = stored;
    const session: SessionState = { ...rest };
    if (mapping.auth.mode === 'passthrough') {
      if (!davSealed || !this.#d.secrets) throw new GatewayError('AUTH_FAILED', 'session holds no DAV credentials; the phone must authenticate again');
      session.dav = JSON.parse(this.#d.secrets.open(davSealed, `dav:${token}`)) as DavCredentials;
    } else {
      const dav = gatewayHeldDavCredentials(mapping);
      if (dav) session.dav = dav;
    }
    return session;
  }

  // ------------------------------------------------------------------ authentication

  /** `consume`: an MD5 challenge nonce that verified is dropped (not by a precheck). */
  async #authenticate(msg: SyncMLMessage, log: Logger, remoteAddress: string | undefined, consume = true): Promise<AuthOutcome> {
    const hdr = msg.header;
    const cred = hdr.cred;
    const locName = hdr.source.locName;
    const named = locName !== undefined && locName.length <= LIMITS.userName ? this.#d.accounts.get(locName) : undefined;
    if (!cred) {
      log.info('no credentials sent; challenging');
      return { ok: false, code: Status.MISSING_CREDENTIALS, reason: 'no-credentials', ...(named ? { mapping: named } : {}) };
    }
    if (cred.data.length > LIMITS.credential || (locName?.length ?? 0) > LIMITS.userName) {
      log.warn({ bytes: cred.data.length }, 'authentication failed: oversized credentials');
      return { ok: false, code: Status.INVALID_CREDENTIALS, reason: 'oversized', ...(named ? { mapping: named } : {}) };
    }
    const type = credType(cred);
    const basic = type === 'syncml:auth-basic' ? decodeBasicCred(cred) : undefined;
    const user = type === 'syncml:auth-basic' ? basic?.username : locName;
    if (user !== undefined && user.length > LIMITS.userName) {
      log.warn({ user: logSafe(user) }, 'authentication failed: user name too long');
      return { ok: false, code: Status.INVALID_CREDENTIALS, reason: 'oversized' };
    }
    const mapping = user !== undefined ? this.#d.accounts.get(user) : undefined;
    const deny = (reason: AuthFailureReason, code: number = Status.INVALID_CREDENTIALS): AuthOutcome =>
      ({ ok: false, code, reason, ...(mapping ? { mapping } : {}), ...(user !== undefined ? { user } : {}) });
    if (await this.#rateLimited(mapping, remoteAddress)) {
      log.warn({ user: logSafe(user), remoteAddress }, 'authentication refused: too many failures (rate limit)');
      return deny('rate-limited');
    }
    try {
      if (type === 'syncml:auth-basic') {
        if (!basic || !mapping) {
          log.warn({ user: logSafe(basic?.username) ?? null }, 'authentication failed: no account mapping for this user');
          return deny('unknown-account');
        }
        if (mapping.auth.mode === 'secret' && mapping.auth.basic === undefined) {
          // No downgrade: an MD5 account's secret is never accepted in clear.
          log.warn({ user }, 'authentication failed: basic credentials for an MD5-only account');
          return deny('wrong-type');
        }
        const dav = await authenticateBasic(mapping, basic, this.#d.verifyCredentials, this.#authCache);
        if (dav) return { ok: true, mapping, dav, type };
        log.warn({ user }, 'authentication failed: wrong password');
        return deny('wrong-password');
      }
      if (type === 'syncml:auth-md5') {
        if (!mapping || mapping.auth.mode !== 'secret' || mapping.auth.md5 === undefined) {
          log.info({ user: logSafe(user) }, 'MD5 credentials for an account without an MD5 secret; challenging');
          return deny(mapping ? 'wrong-type' : 'unknown-account');
        }
        const nonces = await this.#nonces(mapping.account, hdr.source.locURI);
        // An empty nonce would make the digest replayable: such a phone is challenged first.
        if (nonces.some((n) => verifyMd5(msg.version, user!, mapping.auth.mode === 'secret' ? mapping.auth.md5! : '', n, cred.data))) {
          // Each nonce serves once: the challenge's is dropped, the device record's is replaced at 212.
          if (consume) await this.#d.state.deleteSession(challengeKey(mapping.account, hdr.source.locURI));
          const dav = gatewayHeldDavCredentials(mapping);
          if (dav) return { ok: true, mapping, dav, type };
        }
        log.info({ user, hadNonce: nonces.length > 0 }, 'MD5 credentials not valid for the current nonce; challenging');
        return deny('bad-nonce');
      }
      log.info({ credType: logSafe(type) }, 'credential type not accepted; challenging');
      return deny('wrong-type');
    } catch (err) {
      log.error({ err: describeError(err) }, 'authentication could not be checked: DAV server unreachable');
      return { ok: false, code: statusForError(err), reason: 'wrong-password', ...(mapping ? { mapping } : {}) };
    }
  }

  /** Nonces an MD5 digest may use: the one handed out at the last 212 and a recent challenge's. */
  async #nonces(account: string, deviceId: string): Promise<string[]> {
    const rec = await this.#d.state.getDevice({ account, deviceId });
    const chal = await this.#d.state.getSession<string>(challengeKey(account, deviceId));
    return [rec?.nextNonce, chal].filter((n): n is string => !!n);
  }

  async #rateLimited(mapping: AccountMapping | undefined, addr: string | undefined): Promise<boolean> {
    const s = this.#d.settings;
    const window = s.authFailureWindowSeconds ?? 300;
    if (addr && (await this.#d.state.incrementCounter(`authfail:addr:${addr}`, window, 0)) >= (s.authFailuresPerAddress ?? 20)) return true;
    return !!mapping && (await this.#d.state.incrementCounter(`authfail:acct:${mapping.account}`, window, 0)) >= (s.authFailuresPerAccount ?? 50);
  }

  async #countFailure(mapping: AccountMapping | undefined, addr: string | undefined): Promise<void> {
    const window = this.#d.settings.authFailureWindowSeconds ?? 300;
    if (addr) await this.#d.state.incrementCounter(`authfail:addr:${addr}`, window);
    if (mapping) await this.#d.state.incrementCounter(`authfail:acct:${mapping.account}`, window);
  }

  // ------------------------------------------------------------------ refusals

  /** 401/407 with a Chal: nothing in the message is executed and no session is stored. */
  async #refuse(msg: SyncMLMessage, wire: WireFormat, log: Logger, code: number, reason: AuthFailureReason,
    mapping: AccountMapping | undefined, remoteAddress: string | undefined, user?: string): Promise<RunResult> {
    const hdr = msg.header;
    if (code === Status.INVALID_CREDENTIALS && reason !== 'rate-limited') await this.#countFailure(mapping, remoteAddress);
    let chal: Meta | undefined;
    if (code === Status.INVALID_CREDENTIALS || code === Status.MISSING_CREDENTIALS) {
      if (mapping?.auth.mode === 'secret' && mapping.auth.md5 !== undefined) {
        const nonce = newNonce();
        await this.#d.state.putSession(challengeKey(mapping.account, hdr.source.locURI), nonce, this.#d.settings.challengeTtlSeconds ?? 300);
        chal = { type: 'syncml:auth-md5', format: 'b64', nextNonce: nonce };
      } else {
        chal = { type: 'syncml:auth-basic', format: 'b64' };
      }
      notify(this.#d.observer, log, 'authFailed', {
        deviceId: hdr.source.locURI, reason, ...(mapping ? { account: mapping.account } : {}),
        ...(user !== undefined ? { user: logSafe(user)! } : {}), ...(remoteAddress ? { remoteAddress } : {}),
      });
    }
    const reply = refusalReply(msg, code, this.#d.settings, undefined, chal);
    return { body: this.#d.encode(reply, wire), reply, sessionKey: '', completed: false, resent: false };
  }

  #failure(msg: SyncMLMessage, wire: WireFormat, log: Logger, err: unknown, token: string | undefined): RunResult {
    const code = statusForError(err);
    if (code >= 500) log.error({ err: describeError(err), status: code }, 'message failed');
    else log.warn({ err: describeError(err), status: code }, 'message refused');
    const reply = refusalReply(msg, code, this.#d.settings, token);
    return { body: this.#d.encode(reply, wire), reply, sessionKey: token ?? '', completed: false, resent: false };
  }
}

/** The reply header; RespURI carries the session token once there is an authenticated session. */
export function replyHeader(h: SyncHdr, msgId: string, s: Pick<RunnerSettings, 'serverUrl' | 'serverMaxMsgSize'>, token?: string): SyncHdr {
  const target = h.source.locName !== undefined ? { locURI: h.source.locURI, locName: h.source.locName } : { locURI: h.source.locURI };
  return {
    verDTD: h.verDTD, verProto: h.verProto, sessionId: h.sessionId, msgId,
    target, source: { locURI: h.target.locURI },
    ...(token ? { respURI: `${s.serverUrl}?sid=${token}` } : {}),
    meta: { maxMsgSize: s.serverMaxMsgSize, maxObjSize: MAX_OBJECT_BYTES },
  };
}

/** A status for the SyncHdr and the same code for every command: nothing was executed. */
function refusalReply(msg: SyncMLMessage, code: number, s: RunnerSettings, token?: string, chal?: Meta): SyncMLMessage {
  const h = msg.header;
  const reply = new ReplyBuilder('1', Number.MAX_SAFE_INTEGER, () => 0);
  const st = reply.status({ msgRef: h.msgId, cmdRef: '0', cmd: 'SyncHdr', targetRefs: [h.target.locURI], sourceRefs: [h.source.locURI], data: String(code) });
  if (chal) st.chal = { meta: chal };
  for (const c of msg.body) if (c.kind !== 'Status' && !c.noResp) reply.status({ msgRef: h.msgId, cmdRef: c.cmdId, cmd: cmdName(c), data: String(code) });
  reply.final = true;
  return reply.build(replyHeader(h, '1', s, token), msg.version);
}

export function cmdName(c: Command): string {
  return c.kind === 'Other' ? c.name : c.kind;
}

function newSession(msg: SyncMLMessage, wire: WireFormat, token: string, account: string, dav: DavCredentials): SessionState {
  return {
    key: token, sessionId: msg.header.sessionId, deviceId: msg.header.source.locURI, version: msg.version, wire,
    startedAt: new Date().toISOString(), authenticated: true, account, dav, lastClientMsgId: '0', serverMsgId: 0,
    phase: 'init', datastores: [], sentAlerts: {}, sent: {}, syncOpened: [], askedDevInf: false,
  };
}

/** Where the token of a device's session is found by device id + SessionID (after authentication). */
function aliasKey(account: string, deviceId: string, sessionId: string): string {
  return `alias:${createHash('sha256').update(`${account}\u0000${deviceId}\u0000${sessionId}`).digest('base64url').slice(0, 32)}`;
}

/** What logs call a session: a digest of its token (the token itself lets its holder continue it). */
export function sessionLogId(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}

function challengeKey(account: string, deviceId: string): string {
  return `chal:${createHash('sha256').update(`${account}\u0000${deviceId}`).digest('base64url').slice(0, 32)}`;
}

/** Call an observer; one that throws is logged and ignored. */
export function notify<K extends keyof SessionObserver>(o: SessionObserver | undefined, log: Logger, event: K, e: Parameters<NonNullable<SessionObserver[K]>>[0]): void {
  const fn = o?.[event] as ((e: unknown) => void) | undefined;
  if (!fn) return;
  try {
    fn.call(o, e);
  } catch (err) {
    log.warn({ event, err: describeError(err) }, 'session observer failed; ignored');
  }
}
