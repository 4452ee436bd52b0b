// The Lua scripts of the Redis state store (redis-store.ts). Each runs on the keys of one slot
// (one hash tag), except LOCK_AND_LOAD, which is used only where there are no slots (not Cluster).
import { createHash } from 'node:crypto';

export interface LuaScript {
  lua: string;
  sha: string;
}

export function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * KEYS: map, guids, anchors, datastores.  ARGV: datastore, setAnchors ('1'|'0'), client, server,
 * nPut, nPut × (luid, guid, value), nDel, nDel × luid.  Puts first, then deletes, then anchors.
 * Upsert by LUID; a GUID already mapped to another LUID moves (the old LUID's entry goes).
 * All inputs are validated before the call, so the script cannot fail half-way on bad data
 * (Redis does not roll back a script that errors after it has written).
 * Returns 1 when the device had no datastores set before (new, or forgotten since): the caller
 * registers it with its account then.
 */
export const COMMIT = script(`
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
local fresh = 0
if nPut > 0 or ARGV[2] == '1' then
  if redis.call('EXISTS', KEYS[4]) == 0 then fresh = 1 end
  redis.call('SADD', KEYS[4], ARGV[1])
end
return fresh
`);

/**
 * Map entries by LUID and by GUID, each entry once, from one snapshot (a GUID that moves to
 * another LUID meanwhile cannot fall between two reads). KEYS: map, guids.  ARGV: nLuids,
 * nLuids × luid, then the GUIDs.  Returns {luid, value, luid, value, …} (value as in the map).
 */
export const GET_MAP_ENTRIES = script(`
local out, seen = {}, {}
local function add(luid)
  if seen[luid] then return end
  local v = redis.call('HGET', KEYS[1], luid)
  if v then
    seen[luid] = true
    out[#out + 1] = luid
    out[#out + 1] = v
  end
end
local nLuids = tonumber(ARGV[1])
for i = 2, nLuids + 1 do add(ARGV[i]) end
for i = nLuids + 2, #ARGV do
  local luid = redis.call('HGET', KEYS[2], ARGV[i])
  if luid then add(luid) end
end
return out
`);

/**
 * Take the lock KEYS[1] for owner ARGV[1] with TTL ARGV[2] ms when free or expired; the holder
 * itself may re-acquire (refreshes the TTL). Returns `busy` when another owner holds it.
 */
const takeLock = (busy: string): string => `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif cur then return ${busy}
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
`;

/** The device lock alone (also its renewal): 1 taken, 0 held by another owner. */
export const ACQUIRE = script(`${takeLock('0')}return 1
`);

/** Compare-and-delete: only the owner releases, so a late release never frees someone else's lock. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** INCR with an expiry set by the first event only (a fixed window). */
export const COUNT = script(`
if ARGV[2] == '0' then return tonumber(redis.call('GET', KEYS[1]) or '0') end
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`);

/** KEYS: device.  ARGV: record JSON.  Returns 1 when there was no record before (new, or forgotten since). */
export const PUT_DEVICE = script(`
local fresh = redis.call('EXISTS', KEYS[1]) == 0 and 1 or 0
redis.call('SET', KEYS[1], ARGV[1])
return fresh
`);

/**
 * ACQUIRE, then, only when the lock is held, the session and (with a third key) the cached reply,
 * read after the lock was taken. KEYS: lock, session[, reply].  ARGV: owner, TTL in ms.
 * Returns {0} or {1, session|nil[, ct|nil, body|nil]}. Keys of different slots: not for Cluster.
 */
export const LOCK_AND_LOAD = script(`${takeLock('{0}')}local session = redis.call('GET', KEYS[2])
if not KEYS[3] then return {1, session} end
local r = redis.call('HMGET', KEYS[3], 'ct', 'body')
return {1, session, r[1], r[2]}
`);
