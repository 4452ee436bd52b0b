// SyncML status codes (OMA DS RepPro) and the one table that maps gateway errors to them.
import { isGatewayError } from '../errors.js';
import type { ChangeConfirmation } from '../sync/types.js';

export const Status = {
  OK: 200,
  ITEM_ADDED: 201,
  ACCEPTED: 202,
  CONFLICT_MERGED: 207,
  CONFLICT_CLIENT_WON: 208,
  CONFLICT_DUPLICATED: 209,
  CONFLICT_SERVER_WON: 419,
  ITEM_NOT_DELETED: 211,
  AUTH_ACCEPTED: 212,
  CHUNK_ACCEPTED: 213,
  BAD_REQUEST: 400,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  COMMAND_NOT_ALLOWED: 405,
  NOT_SUPPORTED: 406,
  MISSING_CREDENTIALS: 407,
  INCOMPLETE_COMMAND: 412,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SIZE_MISMATCH: 424,
  COMMAND_FAILED: 500,
  SERVICE_UNAVAILABLE: 503,
  REFRESH_REQUIRED: 508,
  /** libsynthesis: "cannot resume, overridden" — the client then runs a normal sync. */
  CANNOT_RESUME: 509,
  DATASTORE_FAILURE: 510,
  PROCESSING_ERROR: 506,
  VERSION_NOT_SUPPORTED: 513,
} as const;

/** SyncML status for a failed command. A DAV 412 is conflict handling and never becomes SyncML 412. */
export function statusForError(err: unknown): number {
  if (!isGatewayError(err)) return Status.COMMAND_FAILED;
  switch (err.code) {
    case 'BAD_MESSAGE': return Status.BAD_REQUEST;
    case 'UNSUPPORTED_VERSION': return Status.VERSION_NOT_SUPPORTED;
    case 'AUTH_FAILED': return Status.INVALID_CREDENTIALS;
    case 'NOT_FOUND': return Status.NOT_FOUND;
    case 'ALREADY_EXISTS': return 418;
    case 'ETAG_MISMATCH': return Status.COMMAND_FAILED;
    case 'INVALID_ITEM': return Status.UNSUPPORTED_MEDIA_TYPE;
    case 'REJECTED_BY_SERVER': return Status.UNSUPPORTED_MEDIA_TYPE;
    case 'REFRESH_REQUIRED': return Status.REFRESH_REQUIRED;
    case 'BACKEND_UNAVAILABLE': return Status.SERVICE_UNAVAILABLE;
    case 'BACKEND_RESPONSE_TOO_LARGE': return Status.DATASTORE_FAILURE;
    case 'STATE_FAILED': return Status.SERVICE_UNAVAILABLE;
    case 'STATE_EXPIRED': return Status.REFRESH_REQUIRED;
    case 'DEVICE_BUSY': return Status.SERVICE_UNAVAILABLE;
    case 'TOO_LARGE': return Status.TOO_LARGE;
    case 'NOT_SUPPORTED': return Status.NOT_SUPPORTED;
    case 'CONFIG_INVALID': return Status.COMMAND_FAILED;
    case 'LISTEN_FAILED': return Status.COMMAND_FAILED;
  }
}

export function isSuccess(code: number): boolean {
  return code >= 200 && code < 300;
}

/**
 * The device's status for a change the server sent, as the sync layer takes it: 2xx taken, 404
 * the item is gone on the device (a Delete is then done anyway), anything else refused.
 */
export function confirmationForStatus(code: number): ChangeConfirmation {
  if (isSuccess(code)) return 'confirmed';
  return code === Status.NOT_FOUND ? 'gone' : 'refused';
}
