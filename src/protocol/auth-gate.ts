// The gate a message without a session token passes: its credentials checked against the account
// mapping (basic, MD5 with the nonce handed out last, passthrough against the DAV server), failures
// rate-limited per client address and per account, and the refusal (401/407 with a Chal) built
// when they are not valid. Nothing is stored for a refused message except an MD5 challenge nonce
// (short TTL) and the failure counters. The rules are in docs/security.md.
import { createHash } from 'node:crypto';
import type { Meta, SyncMLMessage, WireFormat } from '../codec/model.js';
import type { AccountMapping, AccountRegistry } from '../accounts/mappings.js';
import type { DavCredentials } from '../datastores/datastore.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StateStore } from '../state/state-store.js';
import { AuthCache, authenticateBasic, credType, decodeBasicCred, gatewayHeldDavCredentials, newNonce, verifyMd5, type CredentialVerifier } from './auth.js';
import { LIMITS, logSafe } from './limits.js';
import { notify, type AuthFailureReason, type SessionObserver } from './observer.js';
import { refusalReply, type ReplyHeaderSettings } from './reply.js';
import { Status, statusForError } from './status.js';

export interface AuthGateSettings extends ReplyHeaderSettings {
  authCacheSeconds: number;
  /** Lifetime of an MD5 nonce handed out before authentication [300]. */
  challengeTtlSeconds?: number;
  /** Failed authentications tolerated per client address / per account in the window [20, 50, 300 s]. */
  authFailuresPerAddress?: number;
  authFailuresPerAccount?: number;
  authFailureWindowSeconds?: number;
}

export interface AuthGateDeps {
  accounts: AccountRegistry;
  state: StateStore;
  verifyCredentials: CredentialVerifier;
  encode(msg: SyncMLMessage, wire: WireFormat): Uint8Array;
  observer?: SessionObserver;
  settings: AuthGateSettings;
}

export type AuthOutcome =
  | { ok: true; mapping: AccountMapping; dav: DavCredentials; type: string }
  | { ok: false; code: number; reason: AuthFailureReason; mapping?: AccountMapping; user?: string };

/** A refused message: the encoded reply (every command answered with the same code). */
export interface Refusal {
  body: Uint8Array;
  reply: SyncMLMessage;
}

export class AuthGate {
  readonly #d: AuthGateDeps;
  readonly #authCache: AuthCache;

  constructor(deps: AuthGateDeps) {
    this.#d = deps;
    this.#authCache = new AuthCache(deps.settings.authCacheSeconds);
  }

  /** `consume`: an MD5 challenge nonce that verified is dropped (not by a precheck). */
  async authenticate(msg: SyncMLMessage, log: Logger, remoteAddress: string | undefined, consume = true): Promise<AuthOutcome> {
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

  /** 401/407 with a Chal: nothing in the message is executed and no session is stored. */
  async refuse(msg: SyncMLMessage, wire: WireFormat, log: Logger, code: number, reason: AuthFailureReason,
    mapping: AccountMapping | undefined, remoteAddress: string | undefined, user?: string): Promise<Refusal> {
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
    return { body: this.#d.encode(reply, wire), reply };
  }

  /** Nonces an MD5 digest may use: the one handed out at the last 212 and a recent challenge's. */
  async #nonces(account: string, deviceId: string): Promise<string[]> {
    const [rec, chal] = await Promise.all([this.#d.state.getDevice({ account, deviceId }), this.#d.state.getSession<string>(challengeKey(account, deviceId))]);
    return [rec?.nextNonce, chal].filter((n): n is string => !!n);
  }

  async #rateLimited(mapping: AccountMapping | undefined, addr: string | undefined): Promise<boolean> {
    const s = this.#d.settings;
    const window = s.authFailureWindowSeconds ?? 300;
    // Both counters in one round trip (read only: by = 0 creates nothing).
    const [byAddr, byAccount] = await Promise.all([
      addr ? this.#d.state.incrementCounter(`authfail:addr:${addr}`, window, 0) : 0,
      mapping ? this.#d.state.incrementCounter(`authfail:acct:${mapping.account}`, window, 0) : 0,
    ]);
    return (!!addr && byAddr >= (s.authFailuresPerAddress ?? 20)) || (!!mapping && byAccount >= (s.authFailuresPerAccount ?? 50));
  }

  async #countFailure(mapping: AccountMapping | undefined, addr: string | undefined): Promise<void> {
    const window = this.#d.settings.authFailureWindowSeconds ?? 300;
    if (addr) await this.#d.state.incrementCounter(`authfail:addr:${addr}`, window);
    if (mapping) await this.#d.state.incrementCounter(`authfail:acct:${mapping.account}`, window);
  }
}

function challengeKey(account: string, deviceId: string): string {
  return `chal:${createHash('sha256').update(`${account}\u0000${deviceId}`).digest('base64url').slice(0, 32)}`;
}
