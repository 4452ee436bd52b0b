// OAuth2 access tokens for DAV servers that want Bearer auth (Google): the refresh-token grant
// (RFC 6749 §6), cached until shortly before expiry, optionally persisted in a key-value store
// so several gateway instances and restarts do not each ask Google for a new token.
import { createHash } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { DEFAULT_USER_AGENT } from './dav-client.js';
import type { TokenSource } from './dav-client.js';
import { OAUTH2_MAX_RESPONSE_BYTES, readCappedText } from './response-cap.js';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_AUTH_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
/** Scopes for Google's CardDAV and CalDAV endpoints. */
export const GOOGLE_DAV_SCOPES = [
  'https://www.googleapis.com/auth/carddav',
  'https://www.googleapis.com/auth/calendar',
];

export interface OAuth2Config {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Token endpoint (default Google's). */
  tokenUrl?: string;
}

/** Where access tokens are kept between processes (the lead backs it with the StateStore). */
export interface TokenStore {
  get(key: string): Promise<string | undefined>;
  /** `ttlSeconds`: the value is useless after that; a store may expire it. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
}

export interface OAuth2Options {
  store?: TokenStore;
  fetch?: typeof globalThis.fetch;
  /** Refresh this long before the announced expiry (default 60 s). */
  skewSeconds?: number;
  timeoutMs?: number;
  userAgent?: string;
  /** For messages: which mapping holds the refresh token (e.g. the file name). */
  label?: string;
  now?: () => number;
}

interface CachedToken {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** The token endpoint's answer (RFC 6749 §5.1 and §5.2). */
interface TokenResponse {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  token_type?: string;
  error?: string;
  error_description?: string;
}

/** POST a form to a token endpoint; errors become GatewayErrors (never showing secrets). */
export async function tokenRequest(
  tokenUrl: string,
  form: Record<string, string>,
  opts: Pick<OAuth2Options, 'fetch' | 'timeoutMs' | 'userAgent' | 'label'> = {},
): Promise<TokenResponse & { status: number }> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(tokenUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        'User-Agent': opts.userAgent ?? DEFAULT_USER_AGENT,
      },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw new GatewayError('BACKEND_UNAVAILABLE', `OAuth2 token endpoint ${tokenUrl} cannot be reached`, { cause: err });
  }
  // A token answer is small JSON; a larger one is refused unread (BACKEND_RESPONSE_TOO_LARGE).
  const text = await readCappedText(res, OAUTH2_MAX_RESPONSE_BYTES, `OAuth2 token endpoint ${tokenUrl}`);
  let body: TokenResponse;
  try {
    body = JSON.parse(text) as TokenResponse;
  } catch {
    body = {};
  }
  if (res.status >= 500 || res.status === 429) {
    throw new GatewayError('BACKEND_UNAVAILABLE', `OAuth2 token endpoint ${tokenUrl} answered ${res.status}`);
  }
  return { ...body, status: res.status };
}

/**
 * Access tokens from a refresh token. `getToken()` answers from the cache (memory, then the
 * store) while the token is valid for more than `skewSeconds`, else refreshes; concurrent
 * callers share one refresh. A revoked or expired refresh token (`invalid_grant`) is
 * GatewayError AUTH_FAILED with what the admin must do.
 */
export class OAuth2TokenSource implements TokenSource {
  readonly #cfg: Required<OAuth2Config>;
  readonly #opts: OAuth2Options;
  readonly #key: string;
  #cached: CachedToken | undefined;
  #pending: Promise<string> | undefined;
  /** Set by invalidate(): the stored copy may be the token the server refused. */
  #invalidated = false;
  /** Number of token-endpoint calls made (for tests and metrics). */
  refreshCount = 0;

  constructor(cfg: OAuth2Config, opts: OAuth2Options = {}) {
    this.#cfg = { ...cfg, tokenUrl: cfg.tokenUrl ?? GOOGLE_TOKEN_URL };
    this.#opts = opts;
    // The key names the grant without revealing it: a hash of client id and refresh token.
    const digest = createHash('sha256').update(`${cfg.clientId}\0${cfg.refreshToken}`).digest('hex');
    this.#key = `oauth2:${digest.slice(0, 32)}`;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  #fresh(t: CachedToken | undefined): t is CachedToken {
    return !!t && t.expiresAt - (this.#opts.skewSeconds ?? 60) * 1000 > this.#now();
  }

  async getToken(): Promise<string> {
    if (this.#fresh(this.#cached)) return this.#cached.accessToken;
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  invalidate(): void {
    this.#cached = undefined;
    this.#invalidated = true;
  }

  async #load(): Promise<string> {
    const store = this.#opts.store;
    if (store && !this.#invalidated) {
      const raw = await store.get(this.#key);
      const stored = raw ? parseCached(raw) : undefined;
      if (this.#fresh(stored)) {
        this.#cached = stored;
        return stored.accessToken;
      }
    }
    const token = await this.#refresh();
    this.#invalidated = false;
    this.#cached = token;
    if (store) {
      const ttl = Math.max(1, Math.floor((token.expiresAt - this.#now()) / 1000));
      await store.set(this.#key, JSON.stringify(token), ttl);
    }
    return token.accessToken;
  }

  async #refresh(): Promise<CachedToken> {
    const { tokenUrl, clientId, clientSecret, refreshToken } = this.#cfg;
    this.refreshCount++;
    const body = await tokenRequest(
      tokenUrl,
      { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret },
      this.#opts,
    );
    const where = this.#opts.label ? ` (${this.#opts.label})` : '';
    if (body.error === 'invalid_grant') {
      throw new GatewayError(
        'AUTH_FAILED',
        `OAuth2 refresh token for client ${clientId}${where} was revoked or has expired (invalid_grant` +
          `${body.error_description ? `: ${body.error_description}` : ''}); ` +
          'run `syncml-gateway oauth google` to get a new one and put it in dav.oauth2.refreshToken',
      );
    }
    if (body.error === 'invalid_client' || body.error === 'unauthorized_client') {
      throw new GatewayError(
        'AUTH_FAILED',
        `OAuth2 client ${clientId}${where} refused by ${tokenUrl} (${body.error}): check dav.oauth2.clientId and clientSecret`,
      );
    }
    if (body.status !== 200 || !body.access_token) {
      throw new GatewayError(
        'AUTH_FAILED',
        `OAuth2 token refresh for client ${clientId}${where} failed: ${body.status} ${body.error ?? 'no access_token'}`,
      );
    }
    // Google rotates refresh tokens only rarely, but RFC 6749 §6 allows a new one at any time.
    if (body.refresh_token) this.#cfg.refreshToken = body.refresh_token;
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    return { accessToken: body.access_token, expiresAt: this.#now() + expiresIn * 1000 };
  }
}

function parseCached(raw: string): CachedToken | undefined {
  try {
    const v = JSON.parse(raw) as Partial<CachedToken>;
    if (typeof v.accessToken === 'string' && typeof v.expiresAt === 'number') {
      return { accessToken: v.accessToken, expiresAt: v.expiresAt };
    }
  } catch {
    // a corrupt entry is as good as none
  }
  return undefined;
}
