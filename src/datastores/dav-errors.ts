// DAV failure -> GatewayError mapping, in one place: HTTP statuses (per scope: the collection
// or one item), DAV:error preconditions in the body (RFC 4918 §16) and network-level failures.
import { GatewayError, isGatewayError } from '../errors.js';
import type { GatewayErrorCode } from '../errors.js';

/** Whether a failing request addressed the whole collection or one item in it. */
export type DavScope = 'collection' | 'item';

/** What the gateway knows about one failed DAV request; kept as the GatewayError's `cause`. */
export class DavHttpError extends Error {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  /** Local names of the DAV:error precondition elements, e.g. `no-uid-conflict`. */
  readonly preconditions: readonly string[];
  constructor(
    method: string,
    url: string,
    status: number,
    reason: string,
    preconditions: readonly string[] = [],
  ) {
    super(`${method} ${url} -> ${status}${reason ? `: ${reason}` : ''}`);
    this.name = 'DavHttpError';
    this.method = method;
    this.url = url;
    this.status = status;
    this.preconditions = preconditions;
  }
}

export interface DavFailure {
  method: string;
  url: string;
  status: number;
  statusText?: string;
  /** Response body (plain text or DAV:error / multistatus XML); only a short excerpt is kept. */
  body?: string;
  scope: DavScope;
  /** A PUT with `If-None-Match: *`: a UID conflict then means the item already exists. */
  creating?: boolean;
}

const MAX_REASON = 300;

/** Local names of the elements inside `<D:error>` (any prefix), e.g. `['valid-calendar-data']`. */
export function davPreconditions(body: string | undefined): string[] {
  if (!body) return [];
  const m = /<(?:[\w.-]+:)?error\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?error>/.exec(body);
  if (!m) return [];
  const names: string[] = [];
  for (const el of m[1].matchAll(/<(?:[\w.-]+:)?([\w.-]+)[^>]*?\/?>/g)) {
    if (!names.includes(el[1])) names.push(el[1]);
  }
  return names;
}

/**
 * The server's human-readable reason: `responsedescription` from a DAV body, else the text
 * body, whitespace collapsed and cut short. Never contains request headers (credentials).
 */
export function davReason(
  statusText: string | undefined,
  body: string | undefined,
  status?: number,
): string {
  let text = '';
  if (body) {
    const desc = /<(?:[\w.-]+:)?responsedescription[^>]*>([\s\S]*?)<\//.exec(body);
    if (desc) text = desc[1];
    else if (!body.trimStart().startsWith('<')) text = body;
  }
  text = text.replace(/\s+/g, ' ').trim();
  // aiohttp (Xandikos) bodies start with "500 Internal Server Error": do not say it twice.
  if (status !== undefined && text.startsWith(`${status} `)) text = text.slice(4);
  if (statusText && text.toLowerCase().startsWith(statusText.trim().toLowerCase())) {
    text = text.slice(statusText.trim().length).replace(/^[\s:.-]+/, '');
  }
  if (text.length > MAX_REASON) text = `${text.slice(0, MAX_REASON)}…`;
  const parts = [statusText?.trim(), text].filter((s): s is string => !!s);
  return parts.join(': ');
}

function codeFor(f: DavFailure, preconditions: readonly string[]): GatewayErrorCode {
  const { status, scope } = f;
  // RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: another resource already holds this UID. On an
  // update it means the UID was changed, which servers refuse (Radicale: 409).
  if (preconditions.includes('no-uid-conflict')) {
    return f.creating ? 'ALREADY_EXISTS' : 'REJECTED_BY_SERVER';
  }
  if (status === 401) return 'AUTH_FAILED';
  if (status === 403) return scope === 'collection' ? 'AUTH_FAILED' : 'REJECTED_BY_SERVER';
  if (status === 412) {
    // Xandikos reports invalid item data as 412 with a DAV:error precondition
    // (valid-calendar-data, ...): that is a rejection, not an ETag conflict.
    return preconditions.length > 0 ? 'REJECTED_BY_SERVER' : 'ETAG_MISMATCH';
  }
  if (status === 404 || status === 410) return 'NOT_FOUND';
  // Temporary conditions: retrying later may succeed.
  if (status === 408 || status === 423 || status === 429 || status >= 500) {
    return 'BACKEND_UNAVAILABLE';
  }
  if (status >= 400) return scope === 'item' ? 'REJECTED_BY_SERVER' : 'BACKEND_UNAVAILABLE';
  // A status we did not expect on success paths (e.g. 3xx redirect to a login page).
  return 'BACKEND_UNAVAILABLE';
}

/** Map a failed DAV response to a GatewayError whose `cause` is a DavHttpError. */
export function davHttpError(f: DavFailure): GatewayError {
  const preconditions = davPreconditions(f.body);
  const reason = davReason(f.statusText, f.body, f.status);
  const cause = new DavHttpError(f.method, f.url, f.status, reason, preconditions);
  const code = codeFor(f, preconditions);
  const what = preconditions.length ? ` [${preconditions.join(', ')}]` : '';
  return new GatewayError(
    code,
    `DAV ${f.method} ${f.scope} ${f.url}: ${f.status}${reason ? ` ${reason}` : ''}${what}`,
    { cause },
  );
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(err: unknown): string | undefined {
  // undici wraps the socket error: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
    e = typeof e === 'object' && 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

/**
 * A request that produced no HTTP response (refused, reset, DNS, timeout, abort) ->
 * BACKEND_UNAVAILABLE. GatewayErrors pass through unchanged.
 */
export function davNetworkError(err: unknown, method: string, url: string): GatewayError {
  if (isGatewayError(err)) return err;
  const name = err instanceof Error ? err.name : '';
  let detail: string;
  if (name === 'TimeoutError') detail = 'timed out';
  else if (name === 'AbortError') detail = 'aborted';
  else detail = errorCode(err) ?? (err instanceof Error ? err.message : String(err));
  if (!NETWORK_CODES.has(detail) && !['timed out', 'aborted'].includes(detail)) {
    detail = `request failed (${detail})`;
  }
  return new GatewayError('BACKEND_UNAVAILABLE', `DAV ${method} ${url}: ${detail}`, {
    cause: err,
  });
}

/**
 * The status of a PUT/DELETE answer: a 207 carries the real one inside (Xandikos reports
 * refusals that way), anything else is its own.
 */
export function writeStatus(reply: { status: number; body: string }): number {
  if (reply.status !== 207) return reply.status;
  const m = /<(?:[\w.-]+:)?status>\s*HTTP\/[\d.]+\s+(\d{3})/.exec(reply.body);
  return m ? Number(m[1]) : reply.status;
}
