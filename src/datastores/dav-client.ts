// HTTP plumbing for the DAV stores: one wrapped fetch (auth, User-Agent, timeout, concurrency
// limit, retries with back-off, network-error mapping, request accounting) that is handed to
// tsdav, and helpers that run tsdav requests and turn failures into GatewayErrors.
import type { DAVResponse } from 'tsdav';
import type { DavCredentials } from './datastore.js';
import { davHttpError, davNetworkError } from './dav-errors.js';
import type { DavScope } from './dav-errors.js';
import { davTransportSettings, headerEntries, sharedTransport } from './http-transport.js';
import { compactToXml } from './multistatus.js';
import { MultistatusReader } from './multistatus-reader.js';
import type { CompactXml } from './multistatus.js';
import type { BodyReaderFactory, ReplyHeaders } from './http-transport.js';
import { Semaphore } from './limit.js';
import { readCappedText } from './response-cap.js';
import { backoffDelay, parseRetryAfter, repeatable, retryPolicy, retryableStatus, sleep } from './retry.js';
import type { RetryOptions, RetryPolicy } from './retry.js';

/** Kept in step with package.json by hand (dist/ layout makes reading it at run time brittle). */
export const GATEWAY_VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `syncml-dav-gateway/${GATEWAY_VERSION}`;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 4;

/**
 * Where a bearer token comes from when it can expire (OAuth2). `getToken()` returns a valid
 * access token (refreshing when needed); `invalidate()` drops a token the server refused.
 */
export interface TokenSource {
  getToken(): Promise<string>;
  invalidate(): void;
}

export type DavAuth = DavCredentials | { bearer: string } | { tokenSource: TokenSource };

/** One finished HTTP exchange, for metrics and tests (never carries headers or bodies). */
export interface DavRequestEvent {
  method: string;
  url: string;
  /** Absent when no response arrived (refused, reset, timeout). */
  status?: number;
  /** Without a status: the error's code or name (ECONNRESET, TimeoutError...). */
  failure?: string;
  durationMs: number;
}

export interface DavClientOptions {
  credentials?: DavAuth;
  userAgent?: string;
  /** Most requests in flight at once for this client (default 4). */
  concurrency?: number;
  /** Per request, including reading the body (default 30 s). */
  timeoutMs?: number;
  /** Underlying fetch (default: node:http with keep-alive, see http-transport.ts); tests wrap it to count requests. */
  fetch?: typeof globalThis.fetch;
  onRequest?: (event: DavRequestEvent) => void;
  /** Retries on 429/503/timeouts/resets (default: 3 retries within 30 s); `false`: none. */
  retry?: RetryOptions | false;
  /** Largest response body read (default DAV_MAX_RESPONSE_BYTES, see configureDavTransport); larger fails BACKEND_RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number;
}

/** The Authorization header for fixed credentials (a TokenSource is asked per request). */
export function authorizationHeader(auth: DavCredentials | { bearer: string }): string {
  if ('bearer' in auth) return `Bearer ${auth.bearer}`;
  // RFC 7617 §2.1: user-pass is UTF-8 before base64 (Radicale decodes it as UTF-8).
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}

/** A PROPFIND or REPORT of the item path. */
export interface ItemsRequest {
  url: string;
  method: 'PROPFIND' | 'REPORT';
  depth: '0' | '1';
  body: CompactXml;
  scope: DavScope;
}

/** An HTTP response: status, headers and the whole body as text ('' when a body reader took it). */
export interface DavReply {
  status: number;
  statusText: string;
  headers: ReplyHeaders;
  body: string;
}

// Statuses whose Response may not carry a body (Fetch spec "null body status").
const NULL_BODY = new Set([101, 204, 205, 304]);

function methodOf(init: RequestInit | undefined): string {
  return (init?.method ?? 'GET').toUpperCase();
}

/**
 * A TimeoutError or a dropped connection: the request got no response, and another attempt
 * may get one. A refused connection is not among them: the server is down, and the phone
 * waiting on the gateway is better served by a fast BACKEND_UNAVAILABLE.
 */
function transient(err: unknown): boolean {
  if (err instanceof Error && err.name === 'TimeoutError') return true;
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
      return ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
        'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(e.code);
    }
    e = typeof e === 'object' && 'cause' in e ? e.cause : undefined;
  }
  return false;
}

function failureName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : err.name;
}

function urlOf(input: Parameters<typeof globalThis.fetch>[0]): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.toString();
  return input.url;
}

export class DavClient {
  /** Number of HTTP requests sent (including failed ones and retries). */
  requestCount = 0;
  /** Number of those that were retries. */
  retryCount = 0;
  readonly #auth: string | undefined;
  readonly #tokenSource: TokenSource | undefined;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  readonly #limit: Semaphore;
  readonly #baseFetch: typeof globalThis.fetch | undefined;
  readonly #onRequest: ((event: DavRequestEvent) => void) | undefined;
  readonly #retry: RetryPolicy;
  readonly #maxResponseBytes: number | undefined;

  constructor(opts: DavClientOptions = {}) {
    const auth = opts.credentials;
    if (auth && 'tokenSource' in auth) this.#tokenSource = auth.tokenSource;
    else this.#auth = auth ? authorizationHeader(auth) : undefined;
    this.#userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#limit = new Semaphore(opts.concurrency ?? DEFAULT_CONCURRENCY);
    // Without an injected fetch, requests go through node:http with a keep-alive agent shared by
    // all clients (http-transport.ts), so consecutive requests to one server reuse a socket.
    this.#baseFetch = opts.fetch;
    this.#onRequest = opts.onRequest;
    this.#retry = retryPolicy(opts.retry);
    this.#maxResponseBytes = opts.maxResponseBytes;
  }

  /**
   * The fetch given to tsdav (discovery, multistatus parsing) and used by discovery/verify:
   * the same exchange as put/delete, wrapped in a Fetch Response.
   */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = typeof init?.body === 'string' ? init.body : init?.body == null ? undefined : String(init.body);
    const reply = await this.exchange(methodOf(init), urlOf(input), headers, body, init?.redirect !== 'manual');
    return new Response(NULL_BODY.has(reply.status) ? null : reply.body, {
      status: reply.status,
      statusText: reply.statusText,
      headers: reply.headers instanceof Headers ? reply.headers : headerEntries(reply.headers),
    });
  };

  /**
   * One request with Authorization and User-Agent added, under the concurrency limit, with the
   * timeout applied to headers *and* body, and retries of what is worth retrying (see retry.ts)
   * within the time budget. Network failures become GatewayError BACKEND_UNAVAILABLE here.
   */
  async exchange(method: string, url: string, headers: Record<string, string>, body?: string, followRedirects = true, bodyReader?: BodyReaderFactory): Promise<DavReply> {
    return this.#limit.run(async () => {
      const started = performance.now();
      let tokenRefreshed = false;
      for (let attempt = 0; ; attempt++) {
        let res: DavReply;
        try {
          res = await this.#attempt(method, url, headers, body, followRedirects, bodyReader);
        } catch (err) {
          const delay = backoffDelay(this.#retry, attempt);
          if (transient(err) && repeatable(method) && this.#mayRetry(attempt, started, delay)) {
            await this.#wait(delay);
            continue;
          }
          throw davNetworkError(err, method, url);
        }
        // RFC 6750 §3.1: an expired or revoked access token gives 401; fetch a new one once.
        if (res.status === 401 && this.#tokenSource && !tokenRefreshed) {
          tokenRefreshed = true;
          this.#tokenSource.invalidate();
          attempt--;
          continue;
        }
        if (retryableStatus(res.status, method)) {
          const asked = parseRetryAfter(res.headers.get('Retry-After'));
          // A server asking for longer than we may wait gets its answer now, not a hammering.
          const delay = asked ?? backoffDelay(this.#retry, attempt);
          if (delay <= this.#retry.maxDelayMs && this.#mayRetry(attempt, started, delay)) {
            await this.#wait(delay);
            continue;
          }
        }
        return res;
      }
    });
  }

  #mayRetry(attempt: number, started: number, delay: number): boolean {
    return attempt < this.#retry.retries && performance.now() - started + delay < this.#retry.maxTotalMs;
  }

  async #wait(ms: number): Promise<void> {
    this.retryCount++;
    await sleep(ms);
  }

  /** One HTTP exchange with the body read (so the timeout covers it), or a thrown failure. */
  async #attempt(method: string, url: string, extra: Record<string, string>, body: string | undefined, follow: boolean, bodyReader: BodyReaderFactory | undefined): Promise<DavReply> {
    this.requestCount++;
    const headers: Record<string, string> = { ...extra };
    if (this.#tokenSource) headers['Authorization'] = `Bearer ${await this.#tokenSource.getToken()}`;
    else if (this.#auth) headers['Authorization'] = this.#auth;
    headers['User-Agent'] = this.#userAgent;
    const t0 = performance.now();
    let status: number | undefined;
    let failure: string | undefined;
    try {
      if (!this.#baseFetch) {
        const reply = await sharedTransport().request({ method, url, headers, body, timeoutMs: this.#timeoutMs, followRedirects: follow, maxResponseBytes: this.#maxResponseBytes, bodyReader });
        status = reply.status;
        return reply;
      }
      const res = await this.#baseFetch(url, {
        method,
        headers,
        body,
        redirect: follow ? 'follow' : 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      const cap = this.#maxResponseBytes ?? davTransportSettings().maxResponseBytes;
      const text = await readCappedText(res, cap, `DAV ${method} ${url}`);
      const read = NULL_BODY.has(res.status) ? undefined : bodyReader?.(res.status, res.statusText, res.headers);
      read?.(text);
      return { status: res.status, statusText: res.statusText, headers: res.headers, body: read ? '' : text };
    } catch (err) {
      failure = failureName(err);
      throw err;
    } finally {
      const event: DavRequestEvent = { method, url, status, durationMs: performance.now() - t0 };
      if (status === undefined && failure) event.failure = failure;
      this.#onRequest?.(event);
    }
  }

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
    // tsdav (with xml-js, cross-fetch, debug) is loaded on first use: discovery and a few
    // PROPFINDs need it, an idle gateway does not (issue #15, memory).
    const { davRequest } = await import('tsdav');
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

  /**
   * PROPFIND or REPORT for the item path (listing, multiget, sync-collection, ETag reads): the
   * same contract as multistatus(), parsed with fast-xml-parser instead of tsdav (multistatus.ts).
   */
  async items(params: ItemsRequest): Promise<DAVResponse[]> {
    let all: DAVResponse[] = [];
    const answer = await this.eachItem(params, () => {
      const mine: DAVResponse[] = [];
      all = mine;
      return (r) => mine.push(r);
    });
    if (all.length) return all;
    // Nothing matched: one entry without href, as tsdav gives it.
    return [{ raw: answer.raw, status: answer.status, statusText: answer.statusText, ok: true }];
  }

  /**
   * The same request as items(), each response handed over as soon as it is read: the body is
   * never held whole (a 10,000-member listing is 3.3 MB on Radicale). `begin` is called when a
   * multistatus body starts, again if the request is retried after a failure mid-body; the
   * function it returns gets that body's responses. Resolves once the whole body is read, with
   * the multistatus element without its responses (`raw`, what sync-collection reads).
   */
  async eachItem(params: ItemsRequest, begin: () => (r: DAVResponse) => void): Promise<{ raw: { multistatus: Record<string, unknown> }; status: number; statusText: string }> {
    // The reader of the answer that is returned: an earlier attempt's (cut off mid-body) has other headers.
    let current: { reader: MultistatusReader; headers: ReplyHeaders } | undefined;
    const bodyReader: BodyReaderFactory = (status, statusText, headers) => {
      current = undefined;
      if (status < 200 || status >= 300 || !/xml/i.test(headers.get('Content-Type') ?? '')) return undefined;
      const r = new MultistatusReader({ status, statusText }, begin());
      current = { reader: r, headers };
      return (text) => r.write(text);
    };
    const reply = await this.exchange(params.method, params.url, { Depth: params.depth, 'Content-Type': 'application/xml; charset=utf-8' }, compactToXml(params.body), true, bodyReader);
    const reader = current?.headers === reply.headers ? current.reader : undefined;
    const raw = reply.status >= 200 && reply.status < 300 ? reader?.end() : undefined;
    if (!raw) {
      throw davHttpError({
        method: params.method,
        url: params.url,
        status: reply.status >= 300 ? reply.status : 502,
        statusText: reply.status >= 300 ? reply.statusText : 'not a DAV multistatus response',
        body: reader ? reader.head : reply.body.slice(0, 4096),
        scope: params.scope,
      });
    }
    return { raw, status: reply.status, statusText: reply.statusText };
  }

  /** PUT an item; resolves with whatever status the server gave (callers decide). */
  put(url: string, data: string, contentType: string, extra: Record<string, string>): Promise<DavReply> {
    return this.exchange('PUT', url, { 'Content-Type': contentType, ...extra }, data);
  }

  delete(url: string, ifMatch: string | undefined): Promise<DavReply> {
    return this.exchange('DELETE', url, ifMatch ? { 'If-Match': ifMatch } : {});
  }
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
