// SyncML authentication (syncml:auth-basic) of the phone against an account mapping.
// Passthrough accounts are checked with one request to the DAV server; results are cached briefly.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cred } from '../codec/model.js';
import type { AccountMapping } from '../accounts/mappings.js';
import type { DavCredentials } from '../datastores/datastore.js';

export type CredentialVerifier = (account: AccountMapping, creds: DavCredentials) => Promise<boolean>;

export interface BasicCredentials {
  username: string;
  password: string;
}

/** Decode `Cred` of type syncml:auth-basic (b64 of "user:password"); undefined if not basic. */
export function decodeBasicCred(cred: Cred): BasicCredentials | undefined {
  const type = cred.meta?.type?.toLowerCase() ?? 'syncml:auth-basic';
  if (type !== 'syncml:auth-basic') return undefined;
  let decoded: string;
  try {
    decoded = Buffer.from(cred.data.trim(), 'base64').toString('utf8');
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function credType(cred: Cred): string {
  return cred.meta?.type?.toLowerCase() ?? 'syncml:auth-basic';
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Caches successful passthrough checks by a hash of account + password (never the password). */
export class AuthCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, number>();

  constructor(ttlSeconds: number) {
    this.#ttlMs = ttlSeconds * 1000;
  }

  #key(account: string, c: BasicCredentials): string {
    return createHash('sha256').update(`${account}\u0000${c.username}\u0000${c.password}`).digest('base64');
  }

  has(account: string, c: BasicCredentials): boolean {
    const k = this.#key(account, c);
    const until = this.#entries.get(k);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.#entries.delete(k);
      return false;
    }
    return true;
  }

  remember(account: string, c: BasicCredentials): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size > 10_000) this.#entries.clear();
    this.#entries.set(this.#key(account, c), Date.now() + this.#ttlMs);
  }
}

/**
 * Check basic credentials against the mapping. Returns the DAV credentials to use for the
 * session, or undefined when the credentials are wrong. Throws BACKEND_UNAVAILABLE when a
 * passthrough check cannot reach the DAV server.
 */
export async function authenticateBasic(
  mapping: AccountMapping, c: BasicCredentials, verify: CredentialVerifier, cache: AuthCache,
): Promise<DavCredentials | undefined> {
  if (mapping.auth.mode === 'passthrough') {
    const davUser = mapping.dav.username ?? c.username;
    const creds = { username: davUser, password: c.password };
    if (cache.has(mapping.account, c)) return creds;
    if (!(await verify(mapping, creds))) return undefined;
    cache.remember(mapping.account, c);
    return creds;
  }
  const secret = mapping.auth.basic ?? mapping.auth.md5;
  if (secret === undefined || !safeEqual(secret, c.password)) return undefined;
  return gatewayHeldDavCredentials(mapping);
}

/**
 * DAV credentials of an account whose phone password is a gateway-held secret: the mapping's own
 * user/password, or (OAuth2 accounts) a placeholder the DataStore factory ignores.
 */
export function gatewayHeldDavCredentials(mapping: AccountMapping): DavCredentials | undefined {
  if (mapping.dav.oauth2) return { username: mapping.dav.username ?? mapping.account, password: '' };
  if (!mapping.dav.username || mapping.dav.password === undefined) return undefined;
  return { username: mapping.dav.username, password: mapping.dav.password };
}

/**
 * syncml:auth-md5 digest (spec/syncml-auth.md §3): 1.1+: B64(H(B64(H(user:pass)) ":" nonce)),
 * 1.0: B64(H(user:pass:nonce)); nonce = the base64-decoded NextNonce bytes.
 */
export function md5Digest(version: string, user: string, password: string, nonceB64: string): string {
  const nonce = Buffer.from(nonceB64, 'base64');
  if (version === '1.0') {
    return createHash('md5').update(Buffer.concat([Buffer.from(`${user}:${password}:`, 'utf8'), nonce])).digest('base64');
  }
  const inner = createHash('md5').update(`${user}:${password}`, 'utf8').digest('base64');
  return createHash('md5').update(Buffer.concat([Buffer.from(`${inner}:`, 'utf8'), nonce])).digest('base64');
}

export function verifyMd5(version: string, user: string, secret: string, nonceB64: string, data: string): boolean {
  return safeEqual(md5Digest(version, user, secret, nonceB64), data.trim());
}

/** A fresh, unpredictable nonce (sent base64-encoded as NextNonce). */
export function newNonce(): string {
  return randomBytes(12).toString('base64');
}
