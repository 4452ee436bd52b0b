// One error class for the whole gateway with a closed set of codes. Status numbers are chosen
// at the edges, never here: the SyncML status of a failed command in one table
// (`statusForError` in protocol/status.ts), HTTP statuses only in http/.

export type GatewayErrorCode =
  | 'BAD_MESSAGE' // undecodable or structurally invalid SyncML (XML/WBXML)
  | 'UNSUPPORTED_VERSION'
  | 'AUTH_FAILED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ETAG_MISMATCH' // DAV 412: someone else changed the item; conflict handling, not SyncML 412
  | 'INVALID_ITEM' // an item (vCard/iCalendar) that cannot be parsed or converted
  | 'REJECTED_BY_SERVER' // DAV server refused an item (415/403/409)
  | 'REFRESH_REQUIRED'
  | 'BACKEND_UNAVAILABLE' // DAV server down, timed out, 5xx
  | 'BACKEND_RESPONSE_TOO_LARGE' // a DAV or OAuth2 answer over its byte cap (DAV_MAX_RESPONSE_BYTES); never retried
  | 'STATE_FAILED' // state store (Redis/embedded) failed
  | 'STATE_EXPIRED' // session data kept apart from the session (a queue page) expired before use
  | 'CONFIG_INVALID'
  | 'DEVICE_BUSY'
  | 'TOO_LARGE'
  | 'NOT_SUPPORTED'
  | 'LISTEN_FAILED'; // the gateway cannot open its port (in use, no permission)

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  /** Machine-readable facts for the caller (e.g. the `href` of an item that already exists). */
  readonly details?: Readonly<Record<string, string>>;
  constructor(code: GatewayErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, string> }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}

export function isGatewayError(err: unknown, code?: GatewayErrorCode): err is GatewayError {
  // By name as well as class: a test runner (tsx under mocha) may load this module twice.
  const isOne = err instanceof GatewayError || (err instanceof Error && err.name === 'GatewayError' && typeof (err as GatewayError).code === 'string');
  return isOne && (code === undefined || (err as GatewayError).code === code);
}

/** A short, log-safe description of any thrown value. */
export function describeError(err: unknown): string {
  if (isGatewayError(err)) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
