// The DataStore port: what the sync engine needs from a server-side collection (CardDAV/CalDAV).
// Items are exchanged in the server's own format (vCard 3.0/4.0, iCalendar 2.0); conversion to
// device formats happens in the sync engine via convert/.
import { isGatewayError } from '../errors.js';

/** A resource on the server: `href` is the absolute path (e.g. `/alice/contacts/x.vcf`). */
export interface ItemRef {
  href: string;
  /** Opaque entity tag exactly as the server sent it, including quotes (`"abc"`, `W/"1"`). */
  etag: string;
}

export interface StoredItem extends ItemRef {
  data: string;
}

export type ItemKind = 'contacts' | 'events' | 'tasks' | 'notes';

/** Result of a change query: everything needed to compare with the ID map. */
export interface Listing {
  items: ItemRef[];
  /** Collection version (sync-token or CTag) when the server gives one. */
  version?: string;
}

/**
 * Contract:
 * - `list()` returns every item of the collection with its current ETag.
 * - `fetch(hrefs)` returns the items that exist, in any order; missing hrefs are simply absent.
 *   Implementations batch reads (multiget), never one GET per item.
 * - `create` returns the href and ETag the server assigned (fetching the ETag if the PUT
 *   response had none, or `''` from a store built to defer that read: the caller then takes the
 *   ETag from a later listing, see ServerChanges.#fillDeferredEtags (sync/server-changes.ts)). `update`/`delete` with `ifMatch` fail with GatewayError ETAG_MISMATCH
 *   when the server's ETag differs (DAV 412). `delete` of a missing item resolves quietly.
 * - Failures: BACKEND_UNAVAILABLE (connection, timeout, 5xx), AUTH_FAILED (401/403 on the
 *   collection), REJECTED_BY_SERVER (415/403/409 for one item), NOT_FOUND (update of a gone item),
 *   BACKEND_RESPONSE_TOO_LARGE (an answer over DAV_MAX_RESPONSE_BYTES; not retried).
 */
export interface DataStore {
  readonly kind: ItemKind;
  readonly collectionUrl: string;
  list(): Promise<Listing>;
  fetch(hrefs: readonly string[]): Promise<StoredItem[]>;
  create(data: string, nameHint: string): Promise<ItemRef>;
  update(href: string, data: string, ifMatch?: string): Promise<ItemRef>;
  delete(href: string, ifMatch?: string): Promise<void>;
}

/** Result of an RFC 6578 sync-collection report. */
export interface ChangeSet {
  changed: ItemRef[];
  /** Canonical hrefs of removed items. */
  deleted: string[];
  syncToken: string;
}

/** Optional capability: incremental change listing with a sync-token. */
export interface SyncCollectionSupport {
  /**
   * Changes since `syncToken` (empty string: everything). Throws GatewayError REFRESH_REQUIRED
   * when the server no longer accepts the token, NOT_SUPPORTED when the collection has no
   * sync-collection report: in both cases fall back to `list()`.
   */
  changesSince(syncToken: string): Promise<ChangeSet>;
}

export function supportsSyncCollection(store: DataStore): store is DataStore & SyncCollectionSupport {
  return typeof (store as Partial<SyncCollectionSupport>).changesSince === 'function';
}

/** True when changesSince() cannot be used and the caller should do a full `list()`. */
export function needsFullListing(err: unknown): boolean {
  return isGatewayError(err, 'REFRESH_REQUIRED') || isGatewayError(err, 'NOT_SUPPORTED');
}

export interface DavCredentials {
  username: string;
  password: string;
}
