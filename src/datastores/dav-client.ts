// HTTP plumbing for the DAV stores: one wrapped fetch (auth, User-Agent, timeout, concurrency
// limit, network-error mapping, request accounting) that is handed to tsdav, and helpers that
// run tsdav requests and turn failures into GatewayErrors via dav-errors.ts.
import { davRequest, createObject, updateObject, deleteObject } from 'tsdav';
import type { DAVResponse } from 'tsdav';
import type { DavCredentials } from './datastore.js';
import { davHttpError, davNetworkError } from './dav-errors.js';
import type { DavScope } from './dav-errors.js';
import { Semaphore } from './limit.js';

/** Kept in step with package.json by hand (dist/ layout makes reading it at run time brittle). */
export const GATEWAY_VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `syncml-dav-gateway/${GATEWAY_VERSION}`;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 4;

export type DavAuth = DavCredentials | { bearer: string };

/** One finished HTTP exchange, for metrics and tests (never carries headers or bodies). */
export interface DavRequestEvent {
  method: string;
  url: string;
  /** Absent when no response arrived (refused, reset, timeout). */
  status?: number;
  durationMs: number;
}

export interface DavClientOptions {
  credentials?: DavAuth;
  userAgent?: string;
  /** Most requests in flight at once for this client (default 4). */
  concurrency?: number;
  /** Per request, including reading the body (default 30 s). */
  timeoutMs?: number;
  /** Underlying fetch (default: global fetch); tests wrap it to count requests. */
  fetch?: typeof globalThis.fetch;
  onRequest?: (event: DavRequestEvent) => void;
}

export function authorizationHeader(auth: DavAuth): string {
  if ('bearer' in auth) return `Bearer ${auth.bearer}`;
  // RFC 7617 §2.1: user-pass is UTF-8 before base64 (Radicale decodes it as UTF-8).
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}

/** A buffered HTTP response: status, headers and the whole body as text. */
export interface DavReply {
  status: number;
  statusText: string;
  headers: Headers;
  body: string;
}

// Statuses whose Response may not carry a body (Fetch spec "null body status").
const NULL_BODY = new Set([101, 204, 205, 304]);

function methodOf(init: RequestInit | undefined): string {
  return (init?.method ?? 'GET').toUpperCase();
}

function urlOf(input: Parameters<typeof globalThis.fetch>[0]): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.toString();
  return input.url;
}

export class DavClient {
  /** Number of HTTP requests sent (including failed ones). */
  requestCount = 0;
  readonly #auth: string | undefined;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  readonly #limit: Semaphore;
  readonly #baseFetch: typeof globalThis.fetch;
  readonly #onRequest: ((event: DavRequestEvent) => void) | undefined;

  constructor(opts: DavClientOptions = {}) {
    this.#auth = opts.credentials ? authorizationHeader(opts.credentials) : undefined;
    this.#userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#limit = new Semaphore(opts.concurrency ?? DEFAULT_CONCURRENCY);
    this.#baseFetch = opts.fetch ?? globalThis.fetch;
    this.#onRequest = opts.onRequest;
  }

  /**
   * The fetch given to tsdav. Adds Authorization and User-Agent, bounds concurrency, applies
   * the timeout to headers *and* body, and buffers the body so the connection is released
   * inside the limit. Network failures become GatewayError BACKEND_UNAVAILABLE here.
   */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const method = methodOf(init);
    const url = urlOf(input);
    return this.#limit.run(async () => {
      this.requestCount++;
      const headers = new Headers(init?.headers);
      if (this.#auth) headers.set('Authorization', this.#auth);
      headers.set('User-Agent', this.#userAgent);
      const t0 = performance.now();
      let status: number | undefined;
      try {
        const res = await this.#baseFetch(input, {
          ...init,
          headers,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        status = res.status;
        const body = await res.text();
        return new Response(NULL_BODY.has(res.status) ? null : body, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
        });
      } catch (err) {
        throw davNetworkError(err, method, url);
      } finally {
        this.#onRequest?.({ method, url, status, durationMs: performance.now() - t0 });
      }
    });
  };

  /**
   * PROPFIND or REPORT through tsdav's davRequest; returns the parsed multistatus responses.
   * A non-207 answer (401, 404, 5xx, an HTML login page...) throws a mapped GatewayError.
   */
  async multistatus(params: {
    url: string;
    method: 'PROPFIND' | 'REPORT';
    depth: '0' | '1';
    body: Record<string, unknown>;
    scope: DavScope;
  }): Promise<DAVResponse[]> {
    const res = await davRequest({
      url: params.url,
      init: {
        method: params.method,
        headers: { Depth: params.depth, 'Content-Type': 'application/xml; charset=utf-8' },
        namespace: 'd',
        body: params.body,
      },
      fetch: this.fetch,
    });
    // davRequest returns one pseudo-response with the raw text when the answer was not a
    // parseable multistatus; a real multistatus gives entries whose `raw` is the parsed tree.
    const first = res[0];
    if (res.length === 1 && first && (typeof first.raw === 'string' || !first.raw?.multistatus)) {
      throw davHttpError({
        method: params.method,
        url: params.url,
        status: first.status >= 300 ? first.status : 502,
        statusText: first.status >= 300 ? first.statusText : 'not a DAV multistatus response',
        body: typeof first.raw === 'string' ? first.raw : undefined,
        scope: params.scope,
      });
    }
    return res;
  }

  /** PUT an item; resolves with whatever status the server gave (callers decide). */
  async put(url: string, data: string, contentType: string, extra: Record<string, string>) {
    const headers = { 'Content-Type': contentType, ...extra };
    // tsdav's createObject/updateObject return the raw Response, so status, ETag and
    // Location stay under our control (its createVCard/updateVCard add nothing on top).
    const res = extra['If-Match']
      ? await updateObject({ url, data, headers, fetch: this.fetch })
      : await createObject({ url, data, headers, fetch: this.fetch });
    return toReply(res);
  }

  async delete(url: string, ifMatch: string | undefined): Promise<DavReply> {
    const res = await deleteObject({ url, etag: ifMatch, fetch: this.fetch });
    return toReply(res);
  }
}

async function toReply(res: Response): Promise<DavReply> {
  return {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    body: await res.text(),
  };
}

/** Text content of a tsdav-parsed property (string, number, `{_text}` or `{_cdata}`). */
export function propText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object') {
    const v = value as { _text?: unknown; _cdata?: unknown };
    if (v._text !== undefined) return propText(v._text);
    if (v._cdata !== undefined) return propText(v._cdata);
  }
  return undefined;
}
