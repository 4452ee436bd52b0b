// The LUID <-> GUID map of one datastore of one device: the StateStore's entries, cached in
// memory for the life of a DatastoreSync, every write going to the StateStore first. Inside
// `batched` (one client command, e.g. a Sync of 100 Adds) upserts are collected and written in
// one state transaction at its end: one SQLite transaction or Redis round trip per item was the
// largest cost of the sync layer in a slow sync.
import type { DatastoreKey, MapEntry, StateStore } from '../state/state-store.js';
import type { DatastoreSessionState } from './types.js';

export interface IdMapIndex {
  byLuid: Map<string, MapEntry>;
  byGuid: Map<string, MapEntry>;
}

/** Held-back upserts written at once when this many are pending, before the command ends. */
export const MAX_PENDING_ENTRIES = 64;

export class IdMap {
  readonly #state: StateStore;
  readonly #key: DatastoreKey;
  #map?: IdMapIndex;
  /** Upserts not yet written (only inside `batched`), by LUID, in the order they were made. */
  readonly #pending = new Map<string, MapEntry>();
  readonly #pendingLuidByGuid = new Map<string, string>();
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
   * Run `fn` with upserts held back and written in one `putMapEntries` when it ends, also when it
   * throws (its DAV writes happened; their map entries must not be lost). Nested calls share the
   * outer batch.
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

  /** Write the held-back upserts (no-op when there are none). */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    this.#pendingLuidByGuid.clear();
    await this.#state.putMapEntries(this.#key, entries);
  }

  #dropPending(luid: string): void {
    const p = this.#pending.get(luid);
    if (!p) return;
    this.#pending.delete(luid);
    if (this.#pendingLuidByGuid.get(p.guid) === luid) this.#pendingLuidByGuid.delete(p.guid);
  }

  async #write(entries: readonly MapEntry[]): Promise<void> {
    if (this.#batchDepth === 0) {
      await this.#state.putMapEntries(this.#key, entries);
      return;
    }
    for (const e of entries) {
      // Same result as writing them one by one: a later entry for the same GUID under another
      // LUID replaces the earlier one, and re-inserting keeps the order of the last writes.
      const sameGuid = this.#pendingLuidByGuid.get(e.guid);
      if (sameGuid !== undefined && sameGuid !== e.luid) this.#pending.delete(sameGuid);
      this.#dropPending(e.luid);
      this.#pending.set(e.luid, e);
      this.#pendingLuidByGuid.set(e.guid, e.luid);
    }
    // Bounded: if the process dies inside a command, the items already on the server whose
    // entries were still held back come again from the phone as new Adds (duplicates). A bound
    // keeps that window to a few dozen items and most of the saving (one write per 64, not per 1).
    if (this.#pending.size >= MAX_PENDING_ENTRIES) await this.flush();
  }

  async put(entry: MapEntry): Promise<void> {
    const map = await this.load();
    await this.#write([entry]);
    const old = map.byGuid.get(entry.guid);
    if (old && old.luid !== entry.luid) map.byLuid.delete(old.luid);
    const prev = map.byLuid.get(entry.luid);
    if (prev && prev.guid !== entry.guid) map.byGuid.delete(prev.guid);
    map.byLuid.set(entry.luid, entry);
    map.byGuid.set(entry.guid, entry);
  }

  /** Updates of entries already mapped under the same LUID and GUID, all in one state write. */
  async updateInPlace(entries: MapEntry[]): Promise<void> {
    const map = await this.load();
    await this.#write(entries);
    for (const e of entries) {
      map.byGuid.set(e.guid, e);
      map.byLuid.set(e.luid, e);
    }
  }

  async delete(luid: string): Promise<void> {
    const map = await this.load();
    this.#dropPending(luid);
    await this.#state.deleteMapEntries(this.#key, [luid]);
    const e = map.byLuid.get(luid);
    if (e) map.byGuid.delete(e.guid);
    map.byLuid.delete(luid);
  }

  /** Refresh-from-server: the device discards its items, so the old map means nothing. */
  async reset(): Promise<void> {
    const map = await this.load();
    const luids = [...map.byLuid.keys()];
    this.#pending.clear();
    this.#pendingLuidByGuid.clear();
    if (luids.length) await this.#state.deleteMapEntries(this.#key, luids);
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
