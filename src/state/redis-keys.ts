// The Redis key scheme of the state store (documented in docs/state-keys.md). All keys of one
// device carry one hash tag `{account|deviceId}` so that a device's keys share a Redis Cluster
// slot, which is what lets one Lua script or MULTI touch anchors, map and reverse map together.
import type { DatastoreKey, DeviceKey } from './state-store.js';

export const KEY_PREFIX = 'sgw:v1:';
/**
 * Holds the key-schema version; checked at start-up so an old gateway never misreads new keys.
 * A bump is for a changed meaning or encoding of existing keys; a new kind of key that an older
 * gateway never reads (such as `sessionFields`) needs none.
 */
export const SCHEMA_KEY = 'sgw:schema';
export const SCHEMA_VERSION = 1;

const hex = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** Escape a part that sits inside a hash tag: `{`/`}` would end the tag, `|` separates parts. */
export function escapeTagPart(s: string): string {
  return s.replace(/[%{}|]/g, hex);
}

/** Escape a key segment outside the tag: `:` separates segments as well. */
export function escapeSegment(s: string): string {
  return s.replace(/[%{}|:]/g, hex);
}

/** Reverse of both escapes (only needed for debugging tools; the store keeps raw ids in sets). */
export function unescapeKeyPart(s: string): string {
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function deviceTag(k: DeviceKey): string {
  return `{${escapeTagPart(k.account)}|${escapeTagPart(k.deviceId)}}`;
}

/** Every key name the store uses; nothing else in the code base builds Redis keys. */
export const keys = {
  schema: SCHEMA_KEY,
  /** SET of account names that have (or had) at least one device. */
  accounts: `${KEY_PREFIX}accounts`,
  /** SET of raw device ids of one account. */
  accountDevices: (account: string): string => `${KEY_PREFIX}account:{${escapeTagPart(account)}}:devices`,
  /** STRING: JSON DeviceRecord. */
  device: (k: DeviceKey): string => `${KEY_PREFIX}${deviceTag(k)}:device`,
  /** SET of raw datastore names of one device that have anchors or map entries. */
  datastores: (k: DeviceKey): string => `${KEY_PREFIX}${deviceTag(k)}:datastores`,
  /** STRING: lock owner, with PX expiry. */
  lock: (k: DeviceKey): string => `${KEY_PREFIX}${deviceTag(k)}:lock`,
  /** HASH: client, server. */
  anchors: (k: DatastoreKey): string => `${KEY_PREFIX}${deviceTag(k)}:ds:${escapeSegment(k.datastore)}:anchors`,
  /** HASH: luid -> JSON [guid, etag, hash?]. */
  map: (k: DatastoreKey): string => `${KEY_PREFIX}${deviceTag(k)}:ds:${escapeSegment(k.datastore)}:map`,
  /** HASH: guid -> luid (reverse index, keeps GUIDs unique per datastore). */
  guids: (k: DatastoreKey): string => `${KEY_PREFIX}${deviceTag(k)}:ds:${escapeSegment(k.datastore)}:guids`,
  /** STRING: JSON session state, with PX expiry. */
  session: (sessionKey: string): string => `${KEY_PREFIX}session:{${escapeTagPart(sessionKey)}}`,
  /**
   * HASH: session fields (field -> value; StateStore.putSessionFields & co.), with PX expiry of
   * the whole hash. Same tag as a session of that key, so it shares that session's slot.
   */
  sessionFields: (hashKey: string): string => `${KEY_PREFIX}session:{${escapeTagPart(hashKey)}}:fields`,
  /** SET of msgIds with a cached reply (lets deleteSession find them without SCAN). */
  replies: (sessionKey: string): string => `${KEY_PREFIX}session:{${escapeTagPart(sessionKey)}}:replies`,
  /** STRING: integer counter with PX expiry (failed-authentication rate limits). */
  counter: (name: string): string => `${KEY_PREFIX}counter:${escapeSegment(name)}`,
  /** HASH: ct (content type), body (bytes); with PX expiry. */
  reply: (sessionKey: string, msgId: string): string =>
    `${KEY_PREFIX}session:{${escapeTagPart(sessionKey)}}:reply:${escapeSegment(msgId)}`,
};
