// Public surface of the datastores layer: the DataStore port, its CardDAV/CalDAV adapter,
// discovery, OAuth2 tokens and the multi-collection store.
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
export type { TokenSource } from './dav-client.js';
export { discoverAccount } from './discovery.js';
export type { DiscoveredCollection, DiscoveryOptions, DiscoveryResult } from './discovery.js';
export { MultiCollectionStore } from './multi-collection-store.js';
export type { MultiCollectionOptions } from './multi-collection-store.js';
export { GOOGLE_AUTH_URL, GOOGLE_DAV_SCOPES, GOOGLE_TOKEN_URL, OAuth2TokenSource } from './oauth2.js';
export type { OAuth2Config, OAuth2Options, TokenStore } from './oauth2.js';
export { DEFAULT_QUIRKS } from './quirks.js';
export type { DavQuirks } from './quirks.js';
export { DEFAULT_RETRY } from './retry.js';
export type { RetryOptions } from './retry.js';
