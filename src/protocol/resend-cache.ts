// Resends: the encoded reply of every message is cached (key: message id + hash of the request
// bytes), so a phone that re-POSTs gets the same bytes and nothing is applied twice. The runner
// writes the reply together with its session (StateStore.saveMessage).
import type { SyncHdr, SyncMLMessage } from '../codec/model.js';
import type { AccountRegistry } from '../accounts/mappings.js';
import type { StateStore } from '../state/state-store.js';
import { credType, decodeBasicCred } from './auth.js';
import { LIMITS } from './limits.js';
import { aliasKey } from './session-binding.js';

export class ResendCache {
  readonly #state: StateStore;
  readonly #accounts: AccountRegistry;

  constructor(state: StateStore, accounts: AccountRegistry) {
    this.#state = state;
    this.#accounts = accounts;
  }

  /** The reply already given to this very request in session `token`, if any. */
  async get(token: string, hdr: SyncHdr, requestHash: string | undefined): Promise<Uint8Array | undefined> {
    const id = replyId(hdr, requestHash);
    return id === undefined ? undefined : (await this.#state.getCachedReply(token, id))?.body;
  }

  /**
   * An exact resend (same bytes, credentials included) of a message posted without a token: its
   * session is found by the alias (account from the credentials, device id, SessionID). Also
   * returns the alias lookup (`user`, `token`), which the runner reuses once `user` authenticated.
   */
  async resentWithoutToken(msg: SyncMLMessage, requestHash: string | undefined): Promise<{ body?: Uint8Array; token?: string; user?: string }> {
    const hdr = msg.header;
    if (!requestHash || !hdr.cred) return {};
    const user = credType(hdr.cred) === 'syncml:auth-basic' ? decodeBasicCred(hdr.cred)?.username : hdr.source.locName;
    if (!user || user.length > LIMITS.userName || !this.#accounts.get(user)) return {};
    const token = await this.#state.getSession<string>(aliasKey(user, hdr.source.locURI, hdr.sessionId));
    if (!token) return { user };
    const body = await this.get(token, hdr, requestHash);
    return body ? { body, token, user } : { token, user };
  }
}

/** The cache id of a reply: message id and the hash of the request bytes (no hash: not cached). */
export function replyId(hdr: SyncHdr, requestHash: string | undefined): string | undefined {
  return requestHash ? `${hdr.msgId}:${requestHash}` : undefined;
}
