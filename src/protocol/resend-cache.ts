// Resends: the encoded reply of every message is cached (key: message id + hash of the request
// bytes), so a phone that re-POSTs gets the same bytes and nothing is applied twice.
import type { SyncHdr, SyncMLMessage, WireFormat } from '../codec/model.js';
import type { AccountRegistry } from '../accounts/mappings.js';
import type { StateStore } from '../state/state-store.js';
import { credType, decodeBasicCred } from './auth.js';
import { LIMITS } from './limits.js';
import { aliasKey } from './session-binding.js';

export class ResendCache {
  readonly #state: StateStore;
  readonly #accounts: AccountRegistry;
  readonly #ttlSeconds: number;

  constructor(state: StateStore, accounts: AccountRegistry, ttlSeconds: number) {
    this.#state = state;
    this.#accounts = accounts;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The reply already given to this very request in session `token`, if any. */
  async get(token: string, hdr: SyncHdr, requestHash: string | undefined): Promise<Uint8Array | undefined> {
    if (!requestHash) return undefined;
    return (await this.#state.getCachedReply(token, `${hdr.msgId}:${requestHash}`))?.body;
  }

  async put(token: string, hdr: SyncHdr, requestHash: string, body: Uint8Array, wire: WireFormat): Promise<void> {
    await this.#state.putCachedReply(token, `${hdr.msgId}:${requestHash}`, { body, contentType: wire.encoding }, this.#ttlSeconds);
  }

  /**
   * An exact resend (same bytes, credentials included) of a message posted without a token: its
   * session is found by the alias (account from the credentials, device id, SessionID).
   */
  async resentWithoutToken(msg: SyncMLMessage, requestHash: string | undefined): Promise<{ body: Uint8Array; token: string } | undefined> {
    const hdr = msg.header;
    if (!requestHash || !hdr.cred) return undefined;
    const user = credType(hdr.cred) === 'syncml:auth-basic' ? decodeBasicCred(hdr.cred)?.username : hdr.source.locName;
    if (!user || user.length > LIMITS.userName || !this.#accounts.get(user)) return undefined;
    const token = await this.#state.getSession<string>(aliasKey(user, hdr.source.locURI, hdr.sessionId));
    const body = token ? await this.get(token, hdr, requestHash) : undefined;
    return body && token ? { body, token } : undefined;
  }
}
