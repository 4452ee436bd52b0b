// StateStore on Redis (ioredis): standalone, Sentinel or Cluster. Key scheme in redis-keys.ts and
// docs/state-keys.md; map writes and anchor commits run as one Lua script on one slot; a dead
// Redis fails every call fast with GatewayError STATE_FAILED instead of hanging the phone.
import { createHash } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { GatewayError } from '../errors.js';
import { describeRedisConfig } from './redis-config.js';
import type { RedisStoreConfig } from './redis-config.js';
import { keys, SCHEMA_VERSION } from './redis-keys.js';
import { checkAnchors, checkMapEntries, checkTtl, compareDevices, decodeMapValue, encodeMapValue } from './store-support.js';
import type {
  DatastoreKey,
  DeviceKey,
  DeviceRecord,
  MapChanges,
  MapEntry,
  SavedAnchors,
  StateStore,
} from './state-store.js';

interface LuaScript {
  lua: string;
  sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * KEYS: map, guids, anchors, datastores.  ARGV: datastore, setAnchors ('1'|'0'), client, server,
 * nPut, nPut × (luid, guid, value), nDel, nDel × luid.  Puts first, then deletes, then anchors.
 * Upsert by LUID; a GUID already mapped to another LUID moves (the old LUID's entry goes).
 * All inputs are validated before the call, so the script cannot fail half-way on bad data
 * (Redis does not roll back a script that errors after it has written).
 */
const COMMIT = script(`
local function guidOf(v)
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == 'table' then return t[1] end
  return nil
end
local nPut = tonumber(ARGV[5])
local i = 6
for _ = 1, nPut do
  local luid, guid, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local prevLuid = redis.call('HGET', KEYS[2], guid)
  if prevLuid and prevLuid ~= luid then redis.call('HDEL', KEYS[1], prevLuid) end
  local prev = redis.call('HGET', KEYS[1], luid)
  if prev then
    local prevGuid = guidOf(prev)
    if prevGuid and prevGuid ~= guid and redis.call('HGET', KEYS[2], prevGuid) == luid then
      redis.call('HDEL', KEYS[2], prevGuid)
    end
  end
  redis.call('HSET', KEYS[1], luid, value)
  redis.call('HSET', KEYS[2], guid, luid)
end
local nDel = tonumber(ARGV[i])
i = i + 1
for _ = 1, nDel do
  local luid = ARGV[i]
  i = i + 1
  local prev = redis.call('HGET', KEYS[1], luid)
  if prev then
    local prevGuid = guidOf(prev)
    if prevGuid and redis.call('HGET', KEYS[2], prevGuid) == luid then redis.call('HDEL', KEYS[2], prevGuid) end
    redis.call('HDEL', KEYS[1], luid)
  end
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[3], 'client', ARGV[3], 'server', ARGV[4]) end
if nPut > 0 or ARGV[2] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
return 1
`);

/** Take the lock when free or expired; the holder itself may re-acquire (refreshes the TTL). */
const ACQUIRE = script(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/** Compare-and-delete: only the owner releases, so a late release never frees someone else's lock. */
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** INCR with an expiry set by the first event only (a fixed window). */
const COUNT = script(`
if ARGV[2] == '0' then return tonumber(redis.call('GET', KEYS[1]) or '0') end
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`);

type Client = Redis | Cluster;

export class RedisStateStore implements StateStore {
  readonly #client: Client;
  readonly #where: string;
  readonly #connectTimeout: number;
  #closed = false;

  /** Creates the client without connecting; call `connect()` (or use `RedisStateStore.open`). */
  constructor(config: RedisStoreConfig) {
    this.#where = describeRedisConfig(config);
    const connectTimeout = config.connectTimeoutMs ?? 2000;
    this.#connectTimeout = connectTimeout;
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
      this.#client = new Cluster(config.cluster, {
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
    } else if ('sentinels' in config) {
      this.#client = new Redis({
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
    } else {
      this.#client = new Redis(config.url, common);
    }
    // Without a listener ioredis prints every reconnect failure; callers see STATE_FAILED anyway.
    this.#client.on('error', () => undefined);
  }

  /** Connect and check the key-schema version. */
  static async open(config: RedisStoreConfig): Promise<RedisStateStore> {
    const store = new RedisStateStore(config);
    await store.connect();
    return store;
  }

  async connect(): Promise<void> {
    try {
      // A cluster whose nodes cannot be reached retries forever inside connect(); cap it.
      await withTimeout(this.#client.connect(), this.#connectTimeout * 2, 'no ready connection');
    } catch (err) {
      this.#client.disconnect();
      throw new GatewayError('STATE_FAILED', `state store: cannot connect to Redis (${this.#where}): ${message(err)}`, {
        cause: err,
      });
    }
    try {
      // First gateway on an empty Redis writes the version; later ones must agree with it.
      await this.#client.set(keys.schema, String(SCHEMA_VERSION), 'NX');
      const v = await this.#client.get(keys.schema);
      if (v !== String(SCHEMA_VERSION)) {
        throw new Error(`key schema version ${v ?? '(none)'} in Redis, this gateway understands ${SCHEMA_VERSION}`);
      }
    } catch (err) {
      this.#client.disconnect();
      throw new GatewayError('STATE_FAILED', `state store (${this.#where}): ${message(err)}`, { cause: err });
    }
    // A Redis that came back empty (restart without persistence, failover to a fresh replica)
    // gets its schema marker again, so the next gateway start still finds one.
    this.#client.on('ready', () => {
      this.#client.set(keys.schema, String(SCHEMA_VERSION), 'NX').catch(() => undefined);
    });
  }

  /** The ioredis client, for diagnostics and benchmarks (INFO); not for state access. */
  get client(): Client {
    return this.#client;
  }

  getAnchors(key: DatastoreKey): Promise<SavedAnchors | undefined> {
    return this.#run('getAnchors', async () => {
      const h = await this.#client.hgetall(keys.anchors(key));
      if (h.client === undefined || h.server === undefined) return undefined;
      return { client: h.client, server: h.server };
    });
  }

  commitAnchors(key: DatastoreKey, anchors: SavedAnchors, mapChanges?: MapChanges): Promise<void> {
    return this.#run('commitAnchors', async () => {
      checkAnchors(anchors);
      await this.#commit(key, mapChanges?.put ?? [], mapChanges?.deleteLuids ?? [], anchors);
    });
  }

  resetDatastore(key: DatastoreKey): Promise<void> {
    return this.#run('resetDatastore', async () => {
      await this.#client
        .multi()
        .del(keys.anchors(key), keys.map(key), keys.guids(key))
        .srem(keys.datastores(key), key.datastore)
        .exec()
        .then(checkExec);
    });
  }

  getMap(key: DatastoreKey): Promise<MapEntry[]> {
    return this.#run('getMap', async () => {
      const h = await this.#client.hgetall(keys.map(key));
      return Object.entries(h).map(([luid, v]) => decodeMapValue(luid, v));
    });
  }

  putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    return this.#run('putMapEntries', async () => {
      if (entries.length === 0) return;
      await this.#commit(key, entries, [], undefined);
    });
  }

  deleteMapEntries(key: DatastoreKey, luids: readonly string[]): Promise<void> {
    return this.#run('deleteMapEntries', async () => {
      if (luids.length === 0) return;
      await this.#commit(key, [], luids, undefined);
    });
  }

  getDevice(key: DeviceKey): Promise<DeviceRecord | undefined> {
    return this.#run('getDevice', async () => {
      const v = await this.#client.get(keys.device(key));
      return v === null ? undefined : (JSON.parse(v) as DeviceRecord);
    });
  }

  putDevice(key: DeviceKey, record: DeviceRecord): Promise<void> {
    return this.#run('putDevice', async () => {
      const json = JSON.stringify(record);
      await Promise.all([this.#register(key), this.#client.set(keys.device(key), json)]);
    });
  }

  listDevices(account?: string): Promise<Array<DeviceKey & { record: DeviceRecord; datastores: string[] }>> {
    return this.#run('listDevices', async () => {
      const accounts = account === undefined ? await this.#client.smembers(keys.accounts) : [account];
      const perAccount = await Promise.all(
        accounts.map(async (a) => (await this.#client.smembers(keys.accountDevices(a))).map((deviceId) => ({ account: a, deviceId }))),
      );
      // Separate commands, not one pipeline: in a cluster the devices live on different slots.
      const devices = await Promise.all(
        perAccount.flat().map(async (k) => {
          const [rec, dss] = await Promise.all([this.#client.get(keys.device(k)), this.#client.smembers(keys.datastores(k))]);
          return { ...k, record: rec === null ? {} : (JSON.parse(rec) as DeviceRecord), datastores: dss.sort(), known: rec !== null || dss.length > 0 };
        }),
      );
      // A device set member whose keys are gone (forget raced with a write) is not listed.
      return devices
        .filter((d) => d.known)
        .map(({ known: _known, ...d }) => d)
        .sort(compareDevices);
    });
  }

  forgetDevice(key: DeviceKey): Promise<void> {
    return this.#run('forgetDevice', async () => {
      const dss = await this.#client.smembers(keys.datastores(key));
      const dsKeys = dss.flatMap((datastore) => {
        const k = { ...key, datastore };
        return [keys.anchors(k), keys.map(k), keys.guids(k)];
      });
      // Same slot (one hash tag), so one DEL; the account set is another slot and goes last, so
      // a crash in between leaves a listed-but-empty device that listDevices skips.
      await this.#client.del(keys.device(key), keys.datastores(key), ...dsKeys);
      await this.#client.srem(keys.accountDevices(key.account), key.deviceId);
    });
  }

  getSession<T>(sessionKey: string): Promise<T | undefined> {
    return this.#run('getSession', async () => {
      const v = await this.#client.get(keys.session(sessionKey));
      return v === null ? undefined : (JSON.parse(v) as T);
    });
  }

  putSession<T>(sessionKey: string, state: T, ttlSeconds: number): Promise<void> {
    return this.#run('putSession', async () => {
      checkTtl(ttlSeconds);
      const json = JSON.stringify(state);
      if (json === undefined) throw new TypeError('session state is not JSON-serialisable');
      await this.#client.set(keys.session(sessionKey), json, 'PX', Math.ceil(ttlSeconds * 1000));
    });
  }

  deleteSession(sessionKey: string): Promise<void> {
    return this.#run('deleteSession', async () => {
      const msgIds = await this.#client.smembers(keys.replies(sessionKey));
      await this.#client.del(
        keys.session(sessionKey),
        keys.replies(sessionKey),
        ...msgIds.map((m) => keys.reply(sessionKey, m)),
      );
    });
  }

  getCachedReply(sessionKey: string, msgId: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    return this.#run('getCachedReply', async () => {
      const [ct, body] = await this.#client.hmgetBuffer(keys.reply(sessionKey, msgId), 'ct', 'body');
      if (!ct || !body) return undefined;
      return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: ct.toString('utf8') };
    });
  }

  putCachedReply(
    sessionKey: string,
    msgId: string,
    reply: { body: Uint8Array; contentType: string },
    ttlSeconds: number,
  ): Promise<void> {
    return this.#run('putCachedReply', async () => {
      checkTtl(ttlSeconds);
      const ms = Math.ceil(ttlSeconds * 1000);
      const k = keys.reply(sessionKey, msgId);
      const body = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
      // The index set only helps deleteSession; each reply key expires on its own.
      await this.#client
        .multi()
        .del(k)
        .hset(k, 'ct', reply.contentType, 'body', body)
        .pexpire(k, ms)
        .sadd(keys.replies(sessionKey), msgId)
        .pexpire(keys.replies(sessionKey), ms)
        .exec()
        .then(checkExec);
    });
  }

  acquireLock(key: DeviceKey, owner: string, ttlSeconds: number): Promise<boolean> {
    return this.#run('acquireLock', async () => {
      checkTtl(ttlSeconds);
      const r = await this.#eval(ACQUIRE, [keys.lock(key)], [owner, String(Math.ceil(ttlSeconds * 1000))]);
      return r === 1;
    });
  }

  incrementCounter(key: string, ttlSeconds: number, by = 1): Promise<number> {
    return this.#run('incrementCounter', async () => {
      checkTtl(ttlSeconds);
      return Number(await this.#eval(COUNT, [keys.counter(key)], [String(Math.ceil(ttlSeconds * 1000)), String(Math.trunc(by))]));
    });
  }

  releaseLock(key: DeviceKey, owner: string): Promise<void> {
    return this.#run('releaseLock', async () => {
      await this.#eval(RELEASE, [keys.lock(key)], [owner]);
    });
  }

  ping(): Promise<void> {
    return this.#run('ping', async () => {
      await this.#client.ping();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#client.quit();
    } catch {
      // Redis already gone: drop the socket and stop reconnecting.
      this.#client.disconnect();
    }
  }

  /** Register the device with its account (other slots than the device's own keys). */
  async #register(key: DeviceKey): Promise<void> {
    await Promise.all([
      this.#client.sadd(keys.accounts, key.account),
      this.#client.sadd(keys.accountDevices(key.account), key.deviceId),
    ]);
  }

  async #commit(
    key: DatastoreKey,
    put: readonly MapEntry[],
    del: readonly string[],
    anchors: SavedAnchors | undefined,
  ): Promise<void> {
    checkMapEntries(put);
    if (!del.every((l) => typeof l === 'string')) throw new TypeError('deleteLuids must be strings');
    const args: string[] = [key.datastore, anchors ? '1' : '0', anchors?.client ?? '', anchors?.server ?? '', String(put.length)];
    for (const e of put) args.push(e.luid, e.guid, encodeMapValue(e));
    args.push(String(del.length), ...del);
    const writes = put.length > 0 || anchors !== undefined;
    // The registration is sent before the script on the same connection (one round trip for
    // both); a device listed with no data yet is harmless, data nobody can list is not.
    await Promise.all([
      writes ? this.#register(key) : undefined,
      this.#eval(COMMIT, [keys.map(key), keys.guids(key), keys.anchors(key), keys.datastores(key)], args),
    ]);
  }

  /** EVALSHA, falling back to EVAL once per node that has not cached the script yet. */
  async #eval(s: LuaScript, keyList: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#client.call('EVALSHA', [s.sha, keyList.length, ...keyList, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.#client.call('EVAL', [s.lua, keyList.length, ...keyList, ...args]);
    }
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new GatewayError('STATE_FAILED', `state store: ${op} after close`);
    try {
      return await fn();
    } catch (err) {
      throw new GatewayError('STATE_FAILED', `state store (${this.#where}): ${op} failed: ${message(err)}`, { cause: err });
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** MULTI/EXEC resolves with per-command errors instead of rejecting; surface the first. */
function checkExec(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err) throw err;
}
