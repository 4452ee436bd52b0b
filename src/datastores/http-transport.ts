// The DAV stores' HTTP/1.1 exchanges on node:http(s) with a keep-alive agent. The profile of a
// 1000-contact slow sync put 43% of the gateway's CPU into fetch (undici: Request/Response/Headers
// objects, web streams, AbortSignal per request); a plain node:http request costs a fraction of
// that. Redirects are followed like fetch does (same method and body, 303 as GET, Authorization
// dropped when the origin changes). Timeouts cover headers and body and fail as TimeoutError.
// Bodies are capped (DAV_MAX_RESPONSE_BYTES, response-cap.ts): a larger one is dropped unread.
// A request with a `bodyReader` gets a large body piece by piece as it arrives instead of buffered.
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { LaneLimiter } from './limit.js';
import { repeatable } from './retry.js';
import { DEFAULT_DAV_MAX_RESPONSE_BYTES, assertResponseCap, declaredOverCap, responseTooLarge } from './response-cap.js';

/** Connections per DAV server (origin) and process by default; Radicale serves 8 at once, most servers 16 or more. */
export const DEFAULT_DAV_MAX_CONNECTIONS = 16;

/** Item writes: they come by the hundred in a slow sync and must not hold up logins and listings. */
const BULK_METHODS = new Set(['PUT', 'DELETE', 'POST', 'PATCH', 'PROPPATCH', 'MKCOL', 'MOVE', 'COPY']);

/** Response headers, read like the Fetch API's `Headers.get` (case-insensitive, null when absent). */
export interface ReplyHeaders {
  get(name: string): string | null;
}

export interface TransportReply {
  status: number;
  statusText: string;
  headers: ReplyHeaders;
  body: string;
}

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  /** Follow 3xx answers with a Location (default true). */
  followRedirects?: boolean;
  /** Which lane of the per-server bound it waits in (default: by method, writes are `bulk`). */
  lane?: 'priority' | 'bulk';
  /** Largest body read (default: the transport's); a larger one fails BACKEND_RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number | undefined;
  /**
   * Reads a body as it arrives instead of buffering it: called with each answer's status and
   * headers; a function it returns gets the body's text piece by piece (UTF-8 decoded across
   * chunk boundaries), and the reply's `body` is then ''. Undefined: the body is buffered.
   */
  bodyReader?: BodyReaderFactory | undefined;
}

export type BodyReaderFactory = (status: number, statusText: string, headers: ReplyHeaders) => ((text: string) => void) | undefined;

export interface DavTransportSettings {
  /** DAV_MAX_CONNECTIONS: requests in flight per origin and process. */
  maxConnections: number;
  /** DAV_MAX_RESPONSE_BYTES: largest response body buffered. */
  maxResponseBytes: number;
}

const MAX_REDIRECTS = 5;

/** A body read by a `bodyReader` is buffered up to this size and handed over whole, streamed beyond it. */
const STREAM_PAST_BYTES = 256 * 1024;

class NodeHeaders implements ReplyHeaders {
  constructor(readonly raw: http.IncomingHttpHeaders) {}

  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** As [name, value] pairs, for building a Fetch `Response` (tsdav reads those). */
  entries(): Array<[string, string]> {
    return Object.entries(this.raw).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v] as [string, string]]));
  }
}

function timeoutError(ms: number): Error {
  const err = new Error(`no complete answer within ${ms} ms`);
  err.name = 'TimeoutError';
  return err;
}

interface Limits {
  deadline: number;
  timeoutMs: number;
  cap: number;
  bodyReader: BodyReaderFactory | undefined;
}

/** A reset on a reused keep-alive socket before any answer; `cause` is the socket error. */
class StaleSocketError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

function isReset(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

export class HttpTransport {
  /** Requests sent again because their kept-alive socket had been closed (tests, diagnostics). */
  staleSocketRetries = 0;
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #maxConnections: number;
  /** Default cap on a response body (DAV_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes: number;
  readonly #limiters = new Map<string, LaneLimiter>();

  /**
   * `maxConnections`: requests in flight per origin, over all DAV clients of the process. A
   * quarter of them (at least one) is kept for `priority` requests (LaneLimiter, limit.ts).
   */
  constructor(maxConnections: number, maxResponseBytes = DEFAULT_DAV_MAX_RESPONSE_BYTES) {
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new RangeError(`maxConnections ${maxConnections}`);
    assertResponseCap(maxResponseBytes);
    this.#maxConnections = maxConnections;
    this.maxResponseBytes = maxResponseBytes;
    // The limiter decides who goes next; the agents never queue (same bound) and keep idle sockets.
    const maxSockets = maxConnections;
    this.#http = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
    this.#https = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  /** Requests in flight and waiting for `origin` (tests, diagnostics). */
  load(origin: string): { inFlight: number; waiting: number } {
    const l = this.#limiters.get(origin);
    return { inFlight: l?.inFlight ?? 0, waiting: l?.waiting ?? 0 };
  }

  async request(req: TransportRequest): Promise<TransportReply> {
    const deadline = Date.now() + req.timeoutMs;
    const cap = req.maxResponseBytes ?? this.maxResponseBytes;
    assertResponseCap(cap);
    let { method, url, body } = req;
    const headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const lane = req.lane ?? (BULK_METHODS.has(method.toUpperCase()) ? 'bulk' : 'priority');
      const target = new URL(url);
      const limits = { deadline, timeoutMs: req.timeoutMs, cap, bodyReader: req.bodyReader };
      const reply = await this.#limiter(target.origin).run(lane, () => this.#onceOrAgainIfStale(method, target, headers, body, limits));
      const location = reply.headers.get('location');
      if (req.followRedirects === false || ![301, 302, 303, 307, 308].includes(reply.status) || !location || hop >= MAX_REDIRECTS) return reply;
      const next = new URL(location, target);
      if (next.origin !== target.origin) delete headers['Authorization'];
      if (reply.status === 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
        delete headers['Content-Type'];
      }
      url = next.toString();
    }
  }

  #limiter(origin: string): LaneLimiter {
    let l = this.#limiters.get(origin);
    if (!l) {
      l = new LaneLimiter(this.#maxConnections, this.#maxConnections > 1 ? Math.max(1, Math.floor(this.#maxConnections / 4)) : 0);
      this.#limiters.set(origin, l);
    }
    return l;
  }

  /**
   * A kept-alive socket the server closed while it lay idle (servers that keep connections
   * alive, e.g. Xandikos or Apache in front of Nextcloud, close idle ones after a timeout) fails
   * the next request on it with a reset before any answer. Such a request has most likely not
   * been handled, so a repeatable one goes out once more at once, on a new socket, and counts as
   * one request; the DAV client's back-off would only add a pause. A PUT is not repeated
   * (retry.ts).
   */
  async #onceOrAgainIfStale(method: string, u: URL, headers: Record<string, string>, body: string | undefined, limits: Limits): Promise<TransportReply> {
    try {
      return await this.#once(method, u, headers, body, limits);
    } catch (err) {
      if (!(err instanceof StaleSocketError) || !repeatable(method) || Date.now() >= limits.deadline) throw err instanceof StaleSocketError ? err.cause : err;
      this.staleSocketRetries++;
      return await this.#once(method, u, headers, body, limits).catch((again: unknown) => {
        throw again instanceof StaleSocketError ? again.cause : again;
      });
    }
  }

  #once(method: string, u: URL, headers: Record<string, string>, body: string | undefined, limits: Limits): Promise<TransportReply> {
    const { deadline, timeoutMs, cap } = limits;
    const secure = u.protocol === 'https:';
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const h: Record<string, string | number> = { ...headers };
    if (payload) h['Content-Length'] = payload.length;
    return new Promise<TransportReply>((resolve, reject) => {
      const left = Math.max(1, deadline - Date.now());
      const r = (secure ? https : http).request(
        { method, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (secure ? 443 : 80), path: `${u.pathname}${u.search}`, headers: h, agent: secure ? this.#https : this.#http },
        (res) => {
          const chunks: Buffer[] = [];
          // Too large: the body is not read further and the socket is dropped, not reused.
          const refuse = (how: 'declared' | 'streamed', declared?: number): void => {
            clearTimeout(timer);
            reject(responseTooLarge(`DAV ${method} ${u.origin}${u.pathname}`, cap, how, declared));
            res.destroy();
          };
          const hasBody = method.toUpperCase() !== 'HEAD' && res.statusCode !== 204 && res.statusCode !== 304;
          const declared = hasBody ? declaredOverCap(res.headers['content-length'], cap) : null;
          if (declared !== null) return refuse('declared', declared);
          const replyHeaders = new NodeHeaders(res.headers);
          const read = hasBody ? limits.bodyReader?.(res.statusCode ?? 0, res.statusMessage ?? '', replyHeaders) : undefined;
          // A small body goes to the reader whole, as it would be buffered; past STREAM_PAST_BYTES it streams.
          let decoder: StringDecoder | undefined;
          // The reader's own failure fails the request (and drops the socket).
          const feed = (text: string): boolean => {
            try {
              if (text) read!(text);
              return true;
            } catch (err) {
              clearTimeout(timer);
              reject(err);
              res.destroy();
              return false;
            }
          };
          let seen = 0;
          const whole = (): string => (chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
          res.on('data', (c: Buffer) => {
            seen += c.length;
            if (seen > cap) return refuse('streamed');
            if (read && !decoder && seen > STREAM_PAST_BYTES) {
              decoder = new StringDecoder('utf8');
              for (const held of chunks) if (!feed(decoder.write(held))) return;
              chunks.length = 0;
            }
            if (decoder) feed(decoder.write(c));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            if (read && !feed(decoder ? decoder.end() : whole())) return;
            resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: replyHeaders, body: read ? '' : whole() });
          });
        },
      );
      const timer = setTimeout(() => r.destroy(timeoutError(timeoutMs)), left);
      let answered = false;
      r.on('response', () => {
        answered = true;
      });
      r.on('error', (err) => {
        clearTimeout(timer);
        reject(r.reusedSocket && !answered && isReset(err) ? new StaleSocketError(err) : err);
      });
      r.end(payload);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

let shared: HttpTransport | undefined;
const sharedSettings: DavTransportSettings = { maxConnections: DEFAULT_DAV_MAX_CONNECTIONS, maxResponseBytes: DEFAULT_DAV_MAX_RESPONSE_BYTES };

/** One transport (one keep-alive pool) for the whole process, like fetch's global agent. */
export function sharedTransport(): HttpTransport {
  shared ??= new HttpTransport(sharedSettings.maxConnections, sharedSettings.maxResponseBytes);
  return shared;
}

/** The process-wide DAV transport settings (DavClient reads the body cap for an injected fetch). */
export function davTransportSettings(): Readonly<DavTransportSettings> {
  return sharedSettings;
}

/**
 * DAV_MAX_CONNECTIONS and DAV_MAX_RESPONSE_BYTES: set at start-up, before the first DAV request
 * (a later change starts a new pool). Settings left out keep their value.
 */
export function configureDavTransport(settings: Partial<DavTransportSettings>): void {
  const next = { ...sharedSettings, ...settings };
  if (!Number.isInteger(next.maxConnections) || next.maxConnections < 1) throw new RangeError(`maxConnections ${next.maxConnections}`);
  assertResponseCap(next.maxResponseBytes);
  if (next.maxConnections === sharedSettings.maxConnections && next.maxResponseBytes === sharedSettings.maxResponseBytes && shared) return;
  Object.assign(sharedSettings, next);
  shared = undefined;
}

/** Header pairs of a transport reply, for a Fetch `Response`. */
export function headerEntries(h: ReplyHeaders): Array<[string, string]> {
  return h instanceof NodeHeaders ? h.entries() : [];
}
