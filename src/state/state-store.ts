// The StateStore port: everything the gateway remembers between HTTP requests and sessions.
// Two implementations (Redis and embedded SQLite) pass the same contract suite (test/contract/).

/** One device of one account; the device id is the client's SyncHdr Source/LocURI. */
export interface DeviceKey {
  account: string;
  deviceId: string;
}

/** One datastore of one device; `datastore` is the mapping's datastore name (e.g. `contacts`). */
export interface DatastoreKey extends DeviceKey {
  datastore: string;
}

/** Anchors saved at the end of the last *completed* session. */
export interface SavedAnchors {
  /** The client's Next anchor of the last completed session (compared with its next Last). */
  client: string;
  /** The server's Next anchor of the last completed session (sent as Last next time). */
  server: string;
}

/** One LUID <-> GUID mapping. GUID is the DAV href. */
export interface MapEntry {
  luid: string;
  guid: string;
  /** ETag of the server item as last synchronised with this device. */
  etag: string;
  /** Hash of the item content as last synchronised (change detection / echo suppression). */
  hash?: string;
  /**
   * Per-field digests of the item as the device last had it (the translator's encoding): in a
   * conflict, fields the device sends back unchanged do not overwrite the server's edits.
   */
  fields?: string;
}

export interface DeviceRecord {
  /** Client DevInf as received (JSON-serialisable parsed form). */
  devInf?: unknown;
  /** Last time a session of this device completed (ISO 8601). */
  lastSync?: string;
  /** MD5 nonce handed to the device for its next session (b64). */
  nextNonce?: string;
  /** Per datastore: the DAV sync-token as of the last completed session (RFC 6578). */
  syncTokens?: Record<string, string>;
  /**
   * Session key of this device's last session that did not complete (interrupted or suspended):
   * the one an Alert 225 resumes. Cleared when a session completes.
   */
  openSession?: string;
  /**
   * Datastore names the device asked for that its account mapping does not list (newest last,
   * at most 10), with the hint for the admin (accounts/datastore-names.ts); shown by `devices list`.
   */
  unknownDatastores?: Array<{ uri: string; source?: string; at: string; hint: string }>;
}

/**
 * Contract:
 * - Getters return `undefined` (or an empty array) for anything not stored; they never throw
 *   for missing data. Any store failure throws GatewayError STATE_FAILED.
 * - `putMapEntries`/`deleteMapEntries` are each atomic; `commitAnchors` is atomic.
 * - `acquireLock` returns false when another holder has the lock and it has not expired.
 * - Sessions and resend cache entries expire after `ttlSeconds`.
 */
export interface StateStore {
  getAnchors(key: DatastoreKey): Promise<SavedAnchors | undefined>;
  /** Set anchors (only when a session has completed) and, atomically with them, map changes. */
  commitAnchors(key: DatastoreKey, anchors: SavedAnchors, mapChanges?: MapChanges): Promise<void>;
  /** Remove anchors and the map of a datastore (forces a slow sync). */
  resetDatastore(key: DatastoreKey): Promise<void>;

  getMap(key: DatastoreKey): Promise<MapEntry[]>;
  /** Upsert entries keyed by LUID (an entry with the same GUID but another LUID is replaced). */
  putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void>;
  deleteMapEntries(key: DatastoreKey, luids: readonly string[]): Promise<void>;
  /**
   * The entries of the given LUIDs and of the given GUIDs (each entry once, in no set order; ones
   * not mapped are left out), without reading the whole map: a message touches a few dozen items
   * of a map that may hold 10,000.
   */
  getMapEntries(key: DatastoreKey, lookup: MapLookup): Promise<MapEntry[]>;

  getDevice(key: DeviceKey): Promise<DeviceRecord | undefined>;
  putDevice(key: DeviceKey, record: DeviceRecord): Promise<void>;
  listDevices(account?: string): Promise<Array<DeviceKey & { record: DeviceRecord; datastores: string[] }>>;
  forgetDevice(key: DeviceKey): Promise<void>;

  /** Session state, keyed by the gateway's session key (the RespURI token). */
  getSession<T>(sessionKey: string): Promise<T | undefined>;
  putSession<T>(sessionKey: string, state: T, ttlSeconds: number): Promise<void>;
  deleteSession(sessionKey: string): Promise<void>;

  /**
   * Session fields: a string -> string hash kept beside a session (sets and indexes of a slow
   * sync that grow with the collection and would otherwise be rewritten with every message).
   * The hash expires as a whole; once expired it reads as absent and its fields never come back.
   * Hash keys are their own namespace (not session keys; `deleteSession` leaves them alone).
   * `putSessionFields` upserts and sets the whole hash to expire `ttlSeconds` from now (with no
   * fields it only refreshes the expiry of a hash that exists).
   */
  putSessionFields(hashKey: string, fields: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void>;
  /** Values of `fields`, in their order (`undefined` where absent). */
  getSessionFields(hashKey: string, fields: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Every field, in pages of at most `pageSize` (default 500; no set order); for one pass over
   * the whole hash. A field present during the whole pass comes exactly once; one written or
   * deleted during it may or may not come. Never an empty page: an empty or missing hash yields
   * no page at all.
   */
  scanSessionFields(hashKey: string, pageSize?: number): AsyncIterable<Array<[string, string]>>;
  deleteSessionFields(hashKey: string): Promise<void>;

  /** Replies already sent, for resends of the same client message. */
  getCachedReply(sessionKey: string, msgId: string): Promise<CachedReply | undefined>;
  putCachedReply(sessionKey: string, msgId: string, reply: CachedReply, ttlSeconds: number): Promise<void>;

  /** Per-device lock so that two sessions of one device cannot interleave. */
  acquireLock(key: DeviceKey, owner: string, ttlSeconds: number): Promise<boolean>;
  releaseLock(key: DeviceKey, owner: string): Promise<void>;

  /**
   * `acquireLock`, and only when the lock was taken, read under it what a message needs: the
   * session and (with `replyId`) the cached reply. One round trip where the store allows it.
   */
  lockAndLoad<T>(key: DeviceKey, owner: string, ttlSeconds: number, load: { sessionKey: string; replyId?: string }): Promise<LockedLoad<T>>;
  /**
   * Save what a message leaves behind: the session, its alias (a session entry holding
   * `sessionKey`), the reply when given (as `putCachedReply`), all with `ttlSeconds`; then, when
   * `release` is given, release that lock (as `releaseLock`). One round trip where the store allows it.
   */
  saveMessage<T>(save: MessageSave<T>): Promise<void>;

  /**
   * Count one event under `key` (e.g. failed logins of an address) and return the count so far;
   * the counter starts at 1 and disappears `ttlSeconds` after its first event (fixed window).
   * `by` = 0 reads the count without creating anything.
   */
  incrementCounter(key: string, ttlSeconds: number, by?: number): Promise<number>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CachedReply {
  body: Uint8Array;
  contentType: string;
}

export type LockedLoad<T> = { locked: false } | { locked: true; session: T | undefined; reply: CachedReply | undefined };

export interface MessageSave<T> {
  sessionKey: string;
  session: T;
  aliasKey: string;
  ttlSeconds: number;
  reply?: { msgId: string } & CachedReply;
  release?: { key: DeviceKey; owner: string };
}

/** What `getMapEntries` looks up: entries by LUID and entries by GUID (either may be empty). */
export interface MapLookup {
  luids?: readonly string[];
  guids?: readonly string[];
}

export interface MapChanges {
  put?: readonly MapEntry[];
  deleteLuids?: readonly string[];
}
