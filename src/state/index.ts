// Public surface of src/state: the StateStore port, both implementations, and the factory that
// picks Redis when a Redis URL is configured and the embedded SQLite store otherwise.
import { parseRedisUrl } from './redis-config.js';
import { RedisStateStore } from './redis-store.js';
import { SqliteStateStore } from './sqlite-store.js';
import type { StateStore } from './state-store.js';

export type * from './state-store.js';
export type { RedisStoreConfig, RedisTimeouts, RedisAddress } from './redis-config.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { parseRedisUrl, describeRedisConfig } from './redis-config.js';
export { RedisStateStore } from './redis-store.js';
export { SqliteStateStore } from './sqlite-store.js';

export interface StateStoreOptions {
  /** REDIS_URL: redis://, rediss://, redis+sentinel://, redis+cluster:// (see redis-config.ts). */
  redisUrl?: string;
  /** STATE_DIR: where the embedded store keeps state.sqlite when no Redis is configured. */
  stateDir: string;
}

/** Redis when `redisUrl` is set (connected and schema-checked), else SQLite in `stateDir`. */
export async function createStateStore(opts: StateStoreOptions): Promise<StateStore> {
  if (opts.redisUrl) return RedisStateStore.open(parseRedisUrl(opts.redisUrl));
  return new SqliteStateStore({ stateDir: opts.stateDir });
}
