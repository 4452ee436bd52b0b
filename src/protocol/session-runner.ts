// Who may continue which session. The runner authenticates a message (auth-gate.ts) or finds the
// session its token names, binds the message to that session's account and device, takes the
// per-device lock (only after authentication; the key includes the account), answers resends
// from the cache (resend-cache.ts), hands the bound message to the engine for its commands, and
// saves the session with its DAV password sealed (session-binding.ts). Nothing is stored for a
// message that did not authenticate, except an MD5 nonce with a short TTL and failure counters.
// The rules are in docs/security.md.
import { randomUUID } from 'node:crypto';
import type { Meta, SyncMLMessage, WireFormat } from '../codec/model.js';
import type { AccountMapping, AccountRegistry } from '../accounts/mappings.js';
import { describeError, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from '../state/secret-box.js';
import type { LockedLoad, StateStore } from '../state/state-store.js';
import { newNonce, type CredentialVerifier } from './auth.js';
import { AuthGate, type AuthGateSettings } from './auth-gate.js';
import { identifierViolation, logSafe } from './limits.js';
import { notify, type AuthFailureReason, type SessionObserver } from './observer.js';
import { refusalReply } from './reply.js';
import { replyId, ResendCache } from './resend-cache.js';
import { aliasKey, newSession, newSessionToken, openSession, sealSession, sessionLogId, type StoredSession } from './session-binding.js';
import type { SessionState } from './session.js';
import { Status, statusForError } from './status.js';

const LOCK_TTL_SECONDS = 10;
const LOCK_RENEW_MS = 3000;
/**
 * How long a message waits for another message of the same device. A holder that died lets go
 * within LOCK_TTL_SECONDS, so a longer wait only ever waits for a live one; the common case is
 * a phone re-sending a message the gateway is still applying (SyncEvolution re-sends after 2 min
 * without an answer; a 370-Add message on a slow DAV server takes longer): the resend must wait
 * and get the first copy's reply, not a 503 that ends the slow sync.
 */
export const DEFAULT_LOCK_WAIT_MS = 300_000;

export interface RunnerSettings extends AuthGateSettings {
  sessionTtlSeconds: number;
  /** Wait for the device lock held by another message of the device (default 5 min). */
  deviceLockWaitMs?: number;
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

/**
 * What the HTTP layer learnt of a session token before decoding the body (whether it may have the
 * larger body limit). Handed back to `run` of the same request, which then binds with this read
 * instead of another one: the session is read again under the device lock before it is used.
 */
export class SessionPeek {
  constructor(readonly sid: string, readonly stored: StoredSession | undefined) {}

  /** The token names a live, authenticated session. */
  get authenticated(): boolean {
    return this.stored?.authenticated === true;
  }
}

export interface RunOptions {
  /** `sid` of the RespURI the message was posted to. */
  sid?: string;
  /** The read of `sid` made for this request by `peekSession`, if any. */
  peek?: SessionPeek;
  /** Hash of the raw request: a resent message gets the same reply. */
  requestHash?: string;
  remoteAddress?: string;
}

export class SessionRunner {
  readonly #d: RunnerDeps;
  readonly #process: (b: BoundMessage) => Promise<ProcessedMessage>;
  readonly #gate: AuthGate;
  readonly #resends: ResendCache;

  constructor(deps: RunnerDeps, process: (b: BoundMessage) => Promise<ProcessedMessage>) {
    this.#d = deps;
    this.#process = process;
    this.#gate = new AuthGate(deps);
    this.#resends = new ResendCache(deps.state, deps.accounts);
  }

  /** The session `sid` names, read for the HTTP layer (a live one may send a larger body). */
  async peekSession(sid: string | undefined): Promise<SessionPeek | undefined> {
    if (!sid || sid.length > 64) return undefined;
    return new SessionPeek(sid, await this.#d.state.getSession<StoredSession>(sid));
  }

  /**
   * For a big body before decoding it: `header` is its SyncHdr alone. Returns the refusal (401/407
   * with a Chal) when those credentials are not valid, undefined when the message may be decoded.
   */
  async precheck(header: SyncMLMessage, wire: WireFormat, remoteAddress?: string): Promise<RunResult | undefined> {
    const log = this.#d.log.child({ device: logSafe(header.header.source.locURI), msgId: logSafe(header.header.msgId) });
    if (identifierViolation(header)) return undefined; // run() answers 400 with the reason
    const auth = await this.#gate.authenticate(header, log, remoteAddress, false);
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
      const named = !o.sid || o.sid.length > 64 ? undefined
        : o.peek?.sid === o.sid ? o.peek.stored : await this.#d.state.getSession<StoredSession>(o.sid);
      if (named) {
        if (!named.authenticated || named.deviceId !== deviceId || named.sessionId !== hdr.sessionId || !named.account) {
          log.warn({ sid: 'mismatch' }, 'session token used by another device or session: refused, nothing executed');
          return await this.#refuse(msg, wire, log, Status.INVALID_CREDENTIALS, 'session-token', undefined, o.remoteAddress);
        }
        mapping = this.#d.accounts.get(named.account);
        if (!mapping) throw new GatewayError('AUTH_FAILED', `account ${named.account} is no longer configured`);
        token = o.sid!;
        session = this.#openStored(named, mapping, token);
      }
      const isNewStart = hdr.msgId === '1' && msg.body.some((c) => c.kind === 'Alert' && /^2(0\d|10)$/.test(c.data ?? ''));
      if (session && (session.phase === 'done' || session.phase === 'suspended' || (isNewStart && session.lastClientMsgId !== '1'))) {
        const cached = await this.#resends.get(token!, hdr, o.requestHash);
        if (cached) return { body: cached, sessionKey: token!, completed: false, resent: true };
        session = undefined; // a new session must authenticate
        token = undefined;
      }
      if (!session) {
        // An exact resend (same bytes, credentials included) of a message already answered gets the
        // same reply again: nothing runs, and an MD5 digest whose nonce was used since still works.
        const resent = await this.#resends.resentWithoutToken(msg, o.requestHash);
        if (resent.body && resent.token) return { body: resent.body, sessionKey: resent.token, completed: false, resent: true };
        const auth = await this.#gate.authenticate(msg, log, o.remoteAddress);
        if (!auth.ok) return await this.#refuse(msg, wire, log, auth.code, auth.reason, auth.mapping, o.remoteAddress, auth.user);
        mapping = auth.mapping;
        log = log.child({ account: mapping.account });
        // Continuing by device id + SessionID (phones that ignore RespURI), credentials checked again.
        const alias = aliasKey(mapping.account, deviceId, hdr.sessionId);
        // The alias was read for the resend check already when that user is the one authenticated.
        const aliasToken = resent.user === mapping.account ? resent.token : await this.#d.state.getSession<string>(alias);
        const prior = aliasToken ? await this.#d.state.getSession<StoredSession>(aliasToken) : undefined;
        if (prior && prior.account === mapping.account && prior.deviceId === deviceId && prior.sessionId === hdr.sessionId) {
          token = aliasToken!;
          session = this.#openStored(prior, mapping, token);
          const cached = await this.#resends.get(token, hdr, o.requestHash);
          if (cached) return { body: cached, sessionKey: token, completed: false, resent: true };
          if (session.phase === 'done' || session.phase === 'suspended' || (isNewStart && session.lastClientMsgId !== '1')) {
            log.info('client started a new session with a reused SessionID; the old one is abandoned');
            session = undefined;
          }
        }
        if (!session) {
          token = newSessionToken();
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
    const cacheId = replyId(msg.header, o.requestHash);
    // The lock, and under it the session and a reply to this very request, in one round trip.
    const loaded = await this.#lock(lockKey, owner, { sessionKey: token, ...(cacheId ? { replyId: cacheId } : {}) });
    if (!loaded) throw new GatewayError('DEVICE_BUSY', 'another session of this device is running');
    // Renewal must end before the release below: a renewal that reached the store after the
    // release would take the lock again (acquireLock also takes a free lock) and hold the
    // device's next message for a whole TTL.
    let renewing: Promise<unknown> = Promise.resolve();
    const renew = setInterval(() => {
      renewing = this.#d.state.acquireLock(lockKey, owner, LOCK_TTL_SECONDS).catch(() => undefined);
    }, LOCK_RENEW_MS);
    const stopRenewing = async (): Promise<void> => { clearInterval(renew); await renewing; };
    let released = false;
    try {
      if (loaded.reply) {
        log.info('client re-sent a message: repeating the earlier reply, nothing applied again');
        return { body: loaded.reply.body, sessionKey: token, completed: false, resent: true };
      }
      if (!isNew) {
        // Read under the lock: another message of this device may have changed it since it was read to bind.
        if (!loaded.session) throw new GatewayError('AUTH_FAILED', 'session expired');
        session = { ...this.#openStored(loaded.session, mapping, token), ...(session.dav ? { dav: session.dav } : {}) };
      }
      const out = await this.#process({ msg, wire, session, mapping, log, ...(authenticated ? { authenticated } : {}) });
      const body = this.#d.encode(out.reply, wire);
      await stopRenewing();
      // Session, alias, the reply for resends and the lock release: one round trip.
      await this.#d.state.saveMessage({
        sessionKey: token,
        session: sealSession(session, mapping, token, this.#d.secrets),
        aliasKey: aliasKey(mapping.account, session.deviceId, session.sessionId),
        ttlSeconds: out.ttlSeconds,
        ...(cacheId ? { reply: { msgId: cacheId, body, contentType: wire.encoding } } : {}),
        release: { key: lockKey, owner },
      });
      released = true;
      return { body, reply: out.reply, sessionKey: token, completed: out.completed, resent: false };
    } finally {
      await stopRenewing();
      if (!released) await this.#d.state.releaseLock(lockKey, owner).catch(() => undefined);
    }
  }

  async #lock(key: { account: string; deviceId: string }, owner: string, load: { sessionKey: string; replyId?: string }):
    Promise<Extract<LockedLoad<StoredSession>, { locked: true }> | undefined> {
    const deadline = performance.now() + (this.#d.settings.deviceLockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    for (let attempt = 0; ; attempt++) {
      const r = await this.#d.state.lockAndLoad<StoredSession>(key, owner, LOCK_TTL_SECONDS, load);
      if (r.locked) return r;
      // Quick retries first (a short message of the same device), then one store call a second.
      const pause = Math.min(attempt < 20 ? 250 : 1000, deadline - performance.now());
      if (pause <= 0) return undefined;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  #openStored(stored: StoredSession, mapping: AccountMapping, token: string): SessionState {
    return openSession(stored, mapping, token, this.#d.secrets);
  }

  /** 401/407 with a Chal (auth-gate.ts): nothing in the message is executed and no session is stored. */
  async #refuse(msg: SyncMLMessage, wire: WireFormat, log: Logger, code: number, reason: AuthFailureReason,
    mapping: AccountMapping | undefined, remoteAddress: string | undefined, user?: string): Promise<RunResult> {
    const { body, reply } = await this.#gate.refuse(msg, wire, log, code, reason, mapping, remoteAddress, user);
    return { body, reply, sessionKey: '', completed: false, resent: false };
  }

  #failure(msg: SyncMLMessage, wire: WireFormat, log: Logger, err: unknown, token: string | undefined): RunResult {
    const code = statusForError(err);
    if (code >= 500) log.error({ err: describeError(err), status: code }, 'message failed');
    else log.warn({ err: describeError(err), status: code }, 'message refused');
    const reply = refusalReply(msg, code, this.#d.settings, token);
    return { body: this.#d.encode(reply, wire), reply, sessionKey: token ?? '', completed: false, resent: false };
  }
}
