// Public surface of the datastores layer: the DataStore port and its CardDAV/CalDAV adapter.
export type { DataStore, DavCredentials, ItemKind, ItemRef, Listing, StoredItem } from './datastore.js';
export {
  createDavStore,
  DavStore,
  DEFAULT_BATCH_SIZE,
  needsFullListing,
  supportsSyncCollection,
  SyncTokenInvalidError,
} from './dav-store.js';
export type { ChangeSet, DavStoreOptions, SyncCollectionSupport } from './dav-store.js';
export { verifyDavCredentials } from './verify.js';
export type { VerifyOptions } from './verify.js';
export { DEFAULT_USER_AGENT, DavClient } from './dav-client.js';
export type { DavAuth, DavRequestEvent } from './dav-client.js';
export { DavHttpError, davHttpError, davNetworkError } from './dav-errors.js';
