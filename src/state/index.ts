// Public surface of src/state: the StateStore port, both implementations, and the factory that
// picks Redis when a Redis URL is configured and the embedded SQLite store otherwise.
export type * from './state-store.js';
export type { RedisStoreConfig, RedisTimeouts, RedisAddress } from './redis-config.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { parseRedisUrl, describeRedisConfig } from './redis-config.js';
export { RedisStateStore } from './redis-store.js';
export { SqliteStateStore } from './sqlite-store.js';

export { createStateStore, type StateStoreOptions } from './open.js';
