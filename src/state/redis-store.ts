// StateStore on Redis (ioredis): standalone, Sentinel or Cluster. Key scheme in redis-keys.ts and
// docs/state-keys.md; map writes and anchor commits run as one Lua script on one slot; a dead
// Redis fails every call fast with GatewayError STATE_FAILED instead of hanging the phone.
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { GatewayError } from '../errors.js';
import { describeRedisConfig } from './redis-config.js';
import type { RedisStoreConfig } from './redis-config.js';
import { keys, SCHEMA_VERSION } from './redis-keys.js';
import { checkExec, createRedisClient, message, parseSession, registrationId, replyWrites, toReply, withTimeout } from './redis-support.js';
import { ACQUIRE, COMMIT, COUNT, GET_MAP_ENTRIES, LOCK_AND_LOAD, PUT_DEVICE, RELEASE, type LuaScript } from './redis-scripts.js';
import {
  checkAnchors,
  checkMapEntries,
  checkPageSize,
  checkSessionFields,
  checkStrings,
  checkTtl,
  compareDevices,
  decodeMapValue,
  DEFAULT_SCAN_PAGE,
  encodeMapValue,
} from './store-support.js';
import type {
  CachedReply,
  DatastoreKey,
  DeviceKey,
  DeviceRecord,
  LockedLoad,
  MapChanges,
  MapEntry,
  MapLookup,
  MessageSave,
  SavedAnchors,
  StateStore,
} from './state-store.js';

/** Field/value pairs per HSET inside one putSessionFields transaction (keeps each command small). */
const HSET_CHUNK = 1000;

/** Devices this process has registered with their account (bounded: cleared when it grows past this). */
const MAX_REMEMBERED_REGISTRATIONS = 100_000;

type Client = Redis | Cluster;

export class RedisStateStore implements StateStore {
  readonly #client: Client;
  readonly #where: string;
  readonly #connectTimeout: number;
  /**
   * Devices this process registered with their account sets. Registering on every map write was
   * two SADDs per write; a device forgotten since (by any process) is noticed by the scripts
   * (COMMIT, PUT_DEVICE report a fresh device) and registered again.
   */
  readonly #registered = new Set<string>();
  #closed = false;

  /** Creates the client without connecting; call `connect()` (or use `RedisStateStore.open`). */
  constructor(config: RedisStoreConfig) {
    this.#where = describeRedisConfig(config);
    const connectTimeout = config.connectTimeoutMs ?? 2000;
    this.#connectTimeout = connectTimeout;
    this.#client = createRedisClient(config, connectTimeout);
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

  getMapEntries(key: DatastoreKey, lookup: MapLookup): Promise<MapEntry[]> {
    return this.#run('getMapEntries', async () => {
      const luids = [...new Set(lookup.luids ?? [])];
      const guids = [...new Set(lookup.guids ?? [])];
      checkStrings(luids, 'LUIDs');
      checkStrings(guids, 'GUIDs');
      if (luids.length === 0 && guids.length === 0) return [];
      // One script (map and reverse map share the device's slot): one round trip, one snapshot.
      const r = (await this.#eval(GET_MAP_ENTRIES, [keys.map(key), keys.guids(key)], [String(luids.length), ...luids, ...guids])) as string[];
      const entries: MapEntry[] = [];
      for (let i = 0; i < r.length; i += 2) entries.push(decodeMapValue(r[i], r[i + 1]));
      return entries;
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
      await this.#withRegistration(key, async () => Number(await this.#eval(PUT_DEVICE, [keys.device(key)], [json])) === 1);
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
      this.#registered.delete(registrationId(key));
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
    return this.#run('getSession', async () => parseSession<T>(await this.#client.get(keys.session(sessionKey))));
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

  putSessionFields(hashKey: string, fields: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void> {
    return this.#run('putSessionFields', async () => {
      checkTtl(ttlSeconds);
      checkSessionFields(fields);
      const k = keys.sessionFields(hashKey);
      const ms = Math.ceil(ttlSeconds * 1000);
      // Nothing to write: only refresh the expiry of a hash that exists (PEXPIRE creates nothing).
      if (fields.length === 0) {
        await this.#client.pexpire(k, ms);
        return;
      }
      const m = this.#client.multi();
      for (let i = 0; i < fields.length; i += HSET_CHUNK) m.hset(k, ...fields.slice(i, i + HSET_CHUNK).flat());
      await m.pexpire(k, ms).exec().then(checkExec);
    });
  }

  getSessionFields(hashKey: string, fields: readonly string[]): Promise<Array<string | undefined>> {
    return this.#run('getSessionFields', async () => {
      checkStrings(fields, 'field names');
      if (fields.length === 0) return [];
      const values = await this.#client.hmget(keys.sessionFields(hashKey), ...fields);
      return values.map((v) => v ?? undefined);
    });
  }

  /**
   * HSCAN with COUNT, re-cut into pages of exactly `pageSize` fields but the last (HSCAN's COUNT
   * is a hint: a small hash comes whole). HSCAN may return a field twice (when the hash table
   * shrinks between calls); the fields seen are remembered so that each comes once. Never an empty page.
   */
  async *scanSessionFields(hashKey: string, pageSize = DEFAULT_SCAN_PAGE): AsyncIterable<Array<[string, string]>> {
    const k = keys.sessionFields(hashKey);
    const seen = new Set<string>();
    let pending: Array<[string, string]> = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#run('scanSessionFields', async () => {
        checkPageSize(pageSize);
        return this.#client.hscan(k, cursor, 'COUNT', pageSize);
      });
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        if (seen.has(flat[i])) continue;
        seen.add(flat[i]);
        pending.push([flat[i], flat[i + 1]]);
      }
      while (pending.length >= pageSize) {
        yield pending.slice(0, pageSize);
        pending = pending.slice(pageSize);
      }
    } while (cursor !== '0');
    if (pending.length > 0) yield pending;
  }

  deleteSessionFields(hashKey: string): Promise<void> {
    return this.#run('deleteSessionFields', async () => {
      await this.#client.del(keys.sessionFields(hashKey));
    });
  }

  getCachedReply(sessionKey: string, msgId: string): Promise<CachedReply | undefined> {
    return this.#run('getCachedReply', async () => {
      const [ct, body] = await this.#client.hmgetBuffer(keys.reply(sessionKey, msgId), 'ct', 'body');
      return toReply(ct, body);
    });
  }

  putCachedReply(sessionKey: string, msgId: string, reply: CachedReply, ttlSeconds: number): Promise<void> {
    return this.#run('putCachedReply', async () => {
      checkTtl(ttlSeconds);
      await replyWrites(this.#client.multi(), sessionKey, msgId, reply, Math.ceil(ttlSeconds * 1000)).exec().then(checkExec);
    });
  }

  lockAndLoad<T>(key: DeviceKey, owner: string, ttlSeconds: number, load: { sessionKey: string; replyId?: string }): Promise<LockedLoad<T>> {
    return this.#run('lockAndLoad', async () => {
      checkTtl(ttlSeconds);
      const px = String(Math.ceil(ttlSeconds * 1000));
      const replyKey = load.replyId === undefined ? undefined : keys.reply(load.sessionKey, load.replyId);
      if (this.#client instanceof Cluster) {
        // The lock and the session live on different slots: lock first, then read under it.
        if ((await this.#eval(ACQUIRE, [keys.lock(key)], [owner, px])) !== 1) return { locked: false };
        const [session, reply] = await Promise.all([
          this.#client.get(keys.session(load.sessionKey)),
          replyKey ? this.#client.hmgetBuffer(replyKey, 'ct', 'body') : undefined,
        ]);
        return { locked: true, session: parseSession<T>(session), reply: reply && toReply(reply[0], reply[1]) };
      }
      const keyList = [keys.lock(key), keys.session(load.sessionKey), ...(replyKey ? [replyKey] : [])];
      const r = (await this.#eval(LOCK_AND_LOAD, keyList, [owner, px], true)) as [number, Buffer | null, Buffer | null, Buffer | null];
      if (r[0] !== 1) return { locked: false };
      return { locked: true, session: parseSession<T>(r[1]?.toString('utf8') ?? null), reply: toReply(r[2] ?? null, r[3] ?? null) };
    });
  }

  saveMessage<T>(save: MessageSave<T>): Promise<void> {
    return this.#run('saveMessage', async () => {
      checkTtl(save.ttlSeconds);
      const json = JSON.stringify(save.session);
      if (json === undefined) throw new TypeError('session state is not JSON-serialisable');
      const ms = Math.ceil(save.ttlSeconds * 1000);
      const writes = (m: ChainableCommander): ChainableCommander => {
        m.set(keys.session(save.sessionKey), json, 'PX', ms).set(keys.session(save.aliasKey), JSON.stringify(save.sessionKey), 'PX', ms);
        return save.reply ? replyWrites(m, save.sessionKey, save.reply.msgId, save.reply, ms) : m;
      };
      if (this.#client instanceof Cluster) {
        // Different slots: no one transaction; the writes in parallel, the release after them.
        await Promise.all([
          this.#client.set(keys.session(save.sessionKey), json, 'PX', ms),
          this.#client.set(keys.session(save.aliasKey), JSON.stringify(save.sessionKey), 'PX', ms),
          save.reply ? replyWrites(this.#client.multi(), save.sessionKey, save.reply.msgId, save.reply, ms).exec().then(checkExec) : undefined,
        ]);
        if (save.release) await this.#eval(RELEASE, [keys.lock(save.release.key)], [save.release.owner]);
        return;
      }
      const m = writes(this.#client.multi());
      // EVAL, not EVALSHA: inside MULTI a missing script could not fall back.
      if (save.release) m.eval(RELEASE.lua, 1, keys.lock(save.release.key), save.release.owner);
      await m.exec().then(checkExec);
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
    if (this.#registered.size >= MAX_REMEMBERED_REGISTRATIONS) this.#registered.clear();
    this.#registered.add(registrationId(key));
  }

  /**
   * Run a write of the device's own keys with the device registered. Not yet registered by this
   * process: register first, with the write on the same connection (one round trip); a device
   * listed with no data yet is harmless, data nobody can list is not. Registered before: only
   * when the write reports a fresh device (forgotten since) is it registered again, after it.
   */
  async #withRegistration(key: DeviceKey, write: () => Promise<boolean>): Promise<void> {
    if (!this.#registered.has(registrationId(key))) {
      await Promise.all([this.#register(key), write()]);
      return;
    }
    if (await write()) await this.#register(key);
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
    const commit = async (): Promise<boolean> =>
      Number(await this.#eval(COMMIT, [keys.map(key), keys.guids(key), keys.anchors(key), keys.datastores(key)], args)) === 1;
    if (writes) await this.#withRegistration(key, commit);
    else await commit();
  }

  /** EVALSHA, falling back to EVAL once per node that has not cached the script yet. */
  async #eval(s: LuaScript, keyList: string[], args: string[], buffers = false): Promise<unknown> {
    const call = (cmd: string, first: string): Promise<unknown> => {
      const argv = [first, keyList.length, ...keyList, ...args];
      return buffers ? this.#client.callBuffer(cmd, argv) : this.#client.call(cmd, argv);
    };
    try {
      return await call('EVALSHA', s.sha);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await call('EVAL', s.lua);
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
