// Checks a user's DAV credentials with one authenticated request (used to validate the phone's
// basic auth in passthrough mode): PROPFIND Depth 0 on the collection.
import type { DavCredentials } from './datastore.js';
import { DavClient } from './dav-client.js';
import type { DavClientOptions } from './dav-client.js';
import { davHttpError } from './dav-errors.js';
import { NS } from './dav-dialect.js';
import { collectionBase } from './href.js';

export type VerifyOptions = Pick<DavClientOptions, 'userAgent' | 'timeoutMs' | 'fetch' | 'onRequest'>;

/**
 * True on 207, false on 401/403. Throws GatewayError BACKEND_UNAVAILABLE when the server
 * cannot be reached (or answers 5xx), NOT_FOUND when the collection does not exist.
 * Note: servers without authentication (Xandikos) accept any credentials.
 */
export async function verifyDavCredentials(
  collectionUrl: string,
  credentials: DavCredentials,
  opts: VerifyOptions = {},
): Promise<boolean> {
  const client = new DavClient({ ...opts, credentials, concurrency: 1 });
  const url = collectionBase(collectionUrl);
  // Plain fetch rather than tsdav's propfind(): only the status matters, not the body.
  const res = await client.fetch(url, {
    method: 'PROPFIND',
    headers: { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' },
    body:
      '<?xml version="1.0" encoding="utf-8"?>' +
      `<d:propfind xmlns:d="${NS['xmlns:d']}"><d:prop><d:resourcetype/></d:prop></d:propfind>`,
  });
  if (res.status === 207) return true;
  if (res.status === 401 || res.status === 403) return false;
  throw davHttpError({
    method: 'PROPFIND',
    url,
    status: res.status,
    statusText: res.statusText,
    body: await res.text(),
    scope: 'collection',
  });
}
