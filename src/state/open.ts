// Opens the configured StateStore, loading only the implementation in use: ioredis costs ~10 MB
// of RSS at startup and better-sqlite3 a few, and a gateway runs on one of them (issue #15,
// memory). The one place that chooses between the two stores; `index.ts` re-exports it.
import { parseRedisUrl } from './redis-config.js';
import type { StateStore } from './state-store.js';

export interface StateStoreOptions {
  /** REDIS_URL: redis://, rediss://, redis+sentinel://, redis+cluster:// (see redis-config.ts). */
  redisUrl?: string;
  /** STATE_DIR: where the embedded store keeps state.sqlite when no Redis is configured. */
  stateDir: string;
}

/** Redis when `redisUrl` is set (connected and schema-checked), else SQLite in `stateDir`. */
export async function createStateStore(opts: StateStoreOptions): Promise<StateStore> {
  if (opts.redisUrl) {
    const { RedisStateStore } = await import('./redis-store.js');
    return RedisStateStore.open(parseRedisUrl(opts.redisUrl));
  }
  const { SqliteStateStore } = await import('./sqlite-store.js');
  return new SqliteStateStore({ stateDir: opts.stateDir });
}
