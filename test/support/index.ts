// Public surface of the test support layer: real services (Redis, Radicale, Xandikos), the
// SyncEvolution client ("the phone") and deterministic test contacts.
export { getFreePort, makeTempDir, repoRoot, sleep, waitUntil } from './processes.js';
export { startRedis, redisCommand } from './redis.js';
export type { RedisHandle, RedisOptions } from './redis.js';
export { startRadicale, startXandikos, parseMultistatus } from './dav-servers.js';
export type { CollectionKey, DavItem, DavServerHandle, DavServerOptions } from './dav-servers.js';
export { SyncEvolutionClient, buildCurlPreload, parseSyncReport, ALL_DATASTORES } from './syncevolution.js';
export type { DatastoreKey, DatastoreReport, SyncEvolutionOptions, SyncInterrupt, SyncMode, SyncReport } from './syncevolution.js';
export {
  generateContacts21, withLargePhotos, mutateContact, cellPhoneOf, encodeQuotedPrintable, prng, tinyJpeg, tinyPng,
} from './contacts.js';
export type { GeneratedContact } from './contacts.js';
