// A bound on how much of a response body the gateway buffers from a DAV server or an OAuth2
// token endpoint (DAV_MAX_RESPONSE_BYTES): a misbehaving or hostile server must not make the
// process hold unbounded memory. The declared Content-Length is checked first; the streamed
// bytes are counted too (chunked answers, or a server that lies), and the body is dropped as
// soon as it passes the cap. The failure is GatewayError BACKEND_RESPONSE_TOO_LARGE, which is
// never retried (the next answer would be as large) and maps to SyncML 510.
import { GatewayError } from '../errors.js';

/** DAV_MAX_RESPONSE_BYTES default: a full listing or multiget of a big collection fits easily. */
export const DEFAULT_DAV_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** OAuth2 token answers are a few hundred bytes of JSON. */
export const OAUTH2_MAX_RESPONSE_BYTES = 64 * 1024;

export function assertResponseCap(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`maxResponseBytes ${limit}`);
}

/** The typed failure: `what` names the request (`DAV PROPFIND https://…`), never its headers. */
export function responseTooLarge(what: string, limit: number, how: 'declared' | 'streamed', declared?: number): GatewayError {
  const size = how === 'declared' ? `Content-Length ${declared}` : `more than ${limit} bytes received`;
  return new GatewayError('BACKEND_RESPONSE_TOO_LARGE', `${what}: response body over the ${limit}-byte cap (${size})`, {
    details: { limit: String(limit) },
  });
}

/**
 * A declared Content-Length above `limit` (null when none, unreadable or within the cap). Only
 * meaningful for a response that has a body (not HEAD, 204, 304).
 */
export function declaredOverCap(contentLength: string | null | undefined, limit: number): number | null {
  if (!contentLength || !/^\s*\d+\s*$/.test(contentLength)) return null;
  const n = Number(contentLength);
  return n > limit ? n : null;
}

/**
 * The body of a Fetch `Response` as UTF-8 text (what `res.text()` gives), reading at most
 * `limit` bytes: throws BACKEND_RESPONSE_TOO_LARGE on a larger declared Content-Length before
 * reading anything, or as soon as the streamed bytes pass the cap (the body is cancelled, so the
 * connection is not read further).
 */
export async function readCappedText(response: Response, limit: number, what = `response from ${response.url || 'server'}`): Promise<string> {
  assertResponseCap(limit);
  const stream = response.body;
  if (!stream) return '';
  const declared = declaredOverCap(response.headers.get('Content-Length'), limit);
  if (declared !== null) {
    await stream.cancel().catch(() => undefined);
    throw responseTooLarge(what, limit, 'declared', declared);
  }
  const reader = stream.getReader();
  const decoder = new TextDecoder('utf-8');
  let seen = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > limit) {
      await reader.cancel().catch(() => undefined);
      throw responseTooLarge(what, limit, 'streamed');
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
