// Opens the configured StateStore, loading only the implementation in use: ioredis costs ~10 MB
// of RSS at startup and better-sqlite3 a few, and a gateway runs on one of them (issue #15,
// memory). Same choice as createStateStore in src/state/index.ts, which imports both statically.
import { parseRedisUrl } from '../state/redis-config.js';
import type { StateStore, StateStoreOptions } from '../state/index.js';

/** Redis when `redisUrl` is set (connected and schema-checked), else SQLite in `stateDir`. */
export async function openStateStore(opts: StateStoreOptions): Promise<StateStore> {
  if (opts.redisUrl) {
    const { RedisStateStore } = await import('../state/redis-store.js');
    return RedisStateStore.open(parseRedisUrl(opts.redisUrl));
  }
  const { SqliteStateStore } = await import('../state/sqlite-store.js');
  return new SqliteStateStore({ stateDir: opts.stateDir });
}
