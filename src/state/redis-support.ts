// Pieces of the Redis state store (redis-store.ts) that hold no state: the client set-up, reply
// encoding, the writes of a cached reply, and error helpers.
import { Cluster, Redis } from 'ioredis';
import type { ChainableCommander, RedisOptions } from 'ioredis';
import type { RedisStoreConfig } from './redis-config.js';
import { keys } from './redis-keys.js';
import type { CachedReply, DeviceKey } from './state-store.js';

/** The ioredis client for a standalone, Sentinel or Cluster configuration, not connected yet. */
export function createRedisClient(config: RedisStoreConfig, connectTimeout: number): Redis | Cluster {
  const commandTimeout = config.commandTimeoutMs ?? 2000;
  // Fail fast while Redis is away: no offline queue (a call during an outage rejects at once),
  // one retry per command, a command timeout for a Redis that accepts but does not answer.
  // Reconnecting continues in the background so the store recovers by itself.
  const common: RedisOptions = {
    connectTimeout,
    commandTimeout,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    connectionName: 'syncml-gateway',
  };
  if ('cluster' in config) {
    return new Cluster(config.cluster, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
      slotsRefreshTimeout: connectTimeout,
      redisOptions: {
        connectTimeout,
        commandTimeout,
        maxRetriesPerRequest: 1,
        username: config.username,
        password: config.password,
        tls: config.tls ? {} : undefined,
        connectionName: 'syncml-gateway',
      },
    });
  }
  if ('sentinels' in config) {
    return new Redis({
      ...common,
      sentinels: config.sentinels,
      name: config.name,
      username: config.username,
      password: config.password,
      sentinelPassword: config.sentinelPassword,
      db: config.db,
      tls: config.tls ? {} : undefined,
      enableTLSForSentinelMode: config.tls ?? false,
    });
  }
  return new Redis(config.url, common);
}

export function registrationId(key: DeviceKey): string {
  return `${key.account}\u0000${key.deviceId}`;
}

export function parseSession<T>(v: string | null): T | undefined {
  return v === null ? undefined : (JSON.parse(v) as T);
}

export function toReply(ct: Buffer | null | undefined, body: Buffer | null | undefined): CachedReply | undefined {
  if (!ct || !body) return undefined;
  return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: ct.toString('utf8') };
}

/** The writes of one cached reply; the index set only helps deleteSession, each reply key expires on its own. */
export function replyWrites(m: ChainableCommander, sessionKey: string, msgId: string, reply: CachedReply, ms: number): ChainableCommander {
  const k = keys.reply(sessionKey, msgId);
  const body = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
  return m
    .del(k)
    .hset(k, 'ct', reply.contentType, 'body', body)
    .pexpire(k, ms)
    .sadd(keys.replies(sessionKey), msgId)
    .pexpire(keys.replies(sessionKey), ms);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** MULTI/EXEC resolves with per-command errors instead of rejecting; surface the first. */
export function checkExec(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err) throw err;
}
