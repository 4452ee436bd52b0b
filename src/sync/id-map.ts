// The LUID <-> GUID map of one datastore of one device: the StateStore's entries, cached in
// memory for the life of a DatastoreSync, every write going to the StateStore first. Inside
// `batched` (one client command, e.g. a Sync of 100 Adds, or a run of Status commands confirming
// server changes) upserts and deletes are collected and written at its end, one state write for
// each kind: one SQLite transaction or Redis round trip per item was the largest cost of the
// sync layer in a slow sync and a refresh.
import type { DatastoreKey, MapEntry, StateStore } from '../state/state-store.js';
import type { DatastoreSessionState } from './types.js';

export interface IdMapIndex {
  byLuid: Map<string, MapEntry>;
  byGuid: Map<string, MapEntry>;
}

/** Held-back map changes (upserts and deletes) written at once when this many are pending, before the batch ends. */
export const MAX_PENDING_ENTRIES = 64;

export class IdMap {
  readonly #state: StateStore;
  readonly #key: DatastoreKey;
  #map?: IdMapIndex;
  /**
   * LUIDs changed but not yet written (only inside `batched`), in the order of their last change.
   * The in-memory map holds their final state: present means upsert, absent means delete.
   */
  readonly #dirty = new Set<string>();
  #batchDepth = 0;

  constructor(state: StateStore, key: DatastoreKey) {
    this.#state = state;
    this.#key = key;
  }

  async load(): Promise<IdMapIndex> {
    if (!this.#map) {
      const entries = await this.#state.getMap(this.#key);
      this.#map = { byLuid: new Map(entries.map((e) => [e.luid, e])), byGuid: new Map(entries.map((e) => [e.guid, e])) };
    }
    return this.#map;
  }

  /** Whether the map, if already loaded, has an entry for `guid` (no state read). */
  hasLoadedGuid(guid: string): boolean {
    return this.#map?.byGuid.has(guid) ?? false;
  }

  /**
   * Run `fn` with upserts and deletes held back and written when it ends (one state write each),
   * also when it throws (its DAV writes happened; their map entries must not be lost). Nested
   * calls share the outer batch.
   */
  async batched<T>(fn: () => Promise<T>): Promise<T> {
    this.#batchDepth++;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (--this.#batchDepth === 0) await this.flush().catch(() => undefined); // the first error is the one to report
      throw err;
    }
    if (--this.#batchDepth === 0) await this.flush();
    return result;
  }

  /** Write the held-back changes (no-op when there are none). */
  async flush(): Promise<void> {
    if (this.#dirty.size === 0 || !this.#map) return;
    const { byLuid } = this.#map;
    const deleted: string[] = [];
    const upserted: MapEntry[] = [];
    for (const luid of this.#dirty) {
      const e = byLuid.get(luid);
      if (e) upserted.push(e);
      else deleted.push(luid);
    }
    this.#dirty.clear();
    // Same final map as one by one: the in-memory map is a bijection, so no upsert removes (same
    // GUID elsewhere) an entry that should stay, and none brings back a deleted one.
    if (deleted.length) await this.#state.deleteMapEntries(this.#key, deleted);
    if (upserted.length) await this.#state.putMapEntries(this.#key, upserted);
  }

  /** Inside a batch: note the LUIDs for the flush (outside one they were written already). */
  async #holdBack(luids: Iterable<string>): Promise<void> {
    if (this.#batchDepth === 0) return;
    for (const luid of luids) {
      this.#dirty.delete(luid); // re-inserted: the flush writes in the order of the last changes
      this.#dirty.add(luid);
    }
    // Bounded: if the process dies inside a command, the changes still held back are lost (items
    // already on the server come again as new Adds, confirmations are sent again). A bound keeps
    // that window to a few dozen items and most of the saving (one write per 64, not per 1).
    if (this.#dirty.size >= MAX_PENDING_ENTRIES) await this.flush();
  }

  /** Set `entry` in the in-memory map; the LUIDs whose entries it displaced (same GUID). */
  #setInMemory(map: IdMapIndex, entry: MapEntry): string[] {
    const displaced: string[] = [];
    const old = map.byGuid.get(entry.guid);
    if (old && old.luid !== entry.luid) {
      map.byLuid.delete(old.luid);
      displaced.push(old.luid);
    }
    const prev = map.byLuid.get(entry.luid);
    if (prev && prev.guid !== entry.guid) map.byGuid.delete(prev.guid);
    map.byLuid.set(entry.luid, entry);
    map.byGuid.set(entry.guid, entry);
    return displaced;
  }

  async put(entry: MapEntry): Promise<void> {
    const map = await this.load();
    if (this.#batchDepth === 0) {
      await this.#state.putMapEntries(this.#key, [entry]);
      this.#setInMemory(map, entry);
      return;
    }
    // A displaced LUID is written as a delete: the store removes it with the upsert anyway, but a
    // later upsert of the same LUID in this batch would otherwise leave the store's copy behind.
    const displaced = this.#setInMemory(map, entry);
    await this.#holdBack([...displaced, entry.luid]);
  }

  /** Updates of entries already mapped under the same LUID and GUID, all in one state write. */
  async updateInPlace(entries: MapEntry[]): Promise<void> {
    const map = await this.load();
    if (this.#batchDepth === 0) await this.#state.putMapEntries(this.#key, entries);
    for (const e of entries) {
      map.byGuid.set(e.guid, e);
      map.byLuid.set(e.luid, e);
    }
    await this.#holdBack(entries.map((e) => e.luid));
  }

  async delete(luid: string): Promise<void> {
    const map = await this.load();
    if (this.#batchDepth === 0) await this.#state.deleteMapEntries(this.#key, [luid]);
    const e = map.byLuid.get(luid);
    if (e) map.byGuid.delete(e.guid);
    map.byLuid.delete(luid);
    await this.#holdBack([luid]);
  }

  /** Refresh-from-server: the device discards its items, so the old map means nothing. */
  async reset(): Promise<void> {
    const map = await this.load();
    const luids = new Set([...map.byLuid.keys(), ...this.#dirty]);
    this.#dirty.clear();
    if (luids.size) await this.#state.deleteMapEntries(this.#key, [...luids]);
    this.#map = { byLuid: new Map(), byGuid: new Map() };
  }

  /** A MapItem from the device: `guid` is what the server sent as Source/LocURI. */
  async applyMapItem(s: DatastoreSessionState, guid: string, luid: string): Promise<boolean> {
    const sent = s.awaitingMap[guid];
    if (!sent) return false;
    await this.put({ luid, guid: sent.href, etag: sent.etag ?? '', ...(sent.hash ? { hash: sent.hash } : {}), ...(sent.fields ? { fields: sent.fields } : {}) });
    delete s.awaitingMap[guid];
    s.stats.serverAdded++;
    return true;
  }
}

/** Id to send as Source/LocURI of an Add: the href, or a short temporary id for small MaxGUIDSize. */
export function guidFor(s: DatastoreSessionState, href: string, maxGuidSize: number | undefined): string {
  if (maxGuidSize === undefined || href.length <= maxGuidSize) return href;
  s.tempGuidCounter++;
  return s.tempGuidCounter.toString(36);
}
