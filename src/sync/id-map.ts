// The LUID <-> GUID map of one datastore of one device: the StateStore's entries, cached in
// memory for the life of a DatastoreSync (one message), every write going to the StateStore
// first. Inside `batched` (one client command, e.g. a Sync of 100 Adds, or a run of Status
// commands confirming server changes) upserts and deletes are collected and written at its end,
// one state write for each kind: one SQLite transaction or Redis round trip per item was the
// largest cost of the sync layer in a slow sync and a refresh.
// The cache starts empty and is filled by lookups (`preload`, `byLuid`, `byGuid`) of the items a
// message is about; only what needs every entry (change detection by full listing, stale entries
// after a slow sync, a reset) reads the whole map (`load`). Reading it whole with every message
// made each message O(map size): at 10,000 entries ~20 ms of CPU and ~5 MB of garbage each.
import type { DatastoreKey, MapEntry, MapLookup, StateStore } from '../state/state-store.js';
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
  /** Entries known in memory; with `#complete` the whole map, else the ones looked up or written. */
  readonly #map: IdMapIndex = { byLuid: new Map(), byGuid: new Map() };
  /** LUIDs and GUIDs known to be unmapped (only needed while the map is partial). */
  readonly #absentLuids = new Set<string>();
  readonly #absentGuids = new Set<string>();
  #complete = false;
  #loading: Promise<void> | undefined;
  /**
   * LUIDs changed but not yet written (only inside `batched`), in the order of their last change.
   * The in-memory map holds their final state: present means upsert, absent means delete.
   */
  readonly #dirty = new Set<string>();
  /** GUIDs put inside the batch whose owner in the store memory did not know (see `flush`). */
  readonly #blindGuids = new Set<string>();
  #batchDepth = 0;

  constructor(state: StateStore, key: DatastoreKey) {
    this.#state = state;
    this.#key = key;
  }

  /** The whole map (one read of every entry); for what needs all of them. */
  async load(): Promise<IdMapIndex> {
    if (!this.#complete) {
      // One read however many callers ask at once.
      this.#loading ??= this.#state.getMap(this.#key).then((entries) => {
        this.#merge(entries, []);
        this.#complete = true;
        this.#absentLuids.clear();
        this.#absentGuids.clear();
      }).finally(() => (this.#loading = undefined));
      await this.#loading;
    }
    return this.#map;
  }

  /** Read the entries of these LUIDs and GUIDs that are not known yet, in one state read. */
  async preload(lookup: MapLookup): Promise<void> {
    if (this.#complete) return;
    const luids = [...new Set(lookup.luids ?? [])].filter((l) => !this.#knowsLuid(l));
    const guids = [...new Set(lookup.guids ?? [])].filter((g) => !this.#knowsGuid(g));
    if (!luids.length && !guids.length) return;
    const entries = await this.#state.getMapEntries(this.#key, { luids, guids });
    // Asked for and not found: unmapped (unless something was written meanwhile).
    if (!this.#complete) this.#merge(entries, [...luids.map((l) => ['luid', l] as const), ...guids.map((g) => ['guid', g] as const)]);
  }

  async byLuid(luid: string): Promise<MapEntry | undefined> {
    if (!this.#knowsLuid(luid)) await this.preload({ luids: [luid] });
    return this.#map.byLuid.get(luid);
  }

  async byGuid(guid: string): Promise<MapEntry | undefined> {
    if (!this.#knowsGuid(guid)) await this.preload({ guids: [guid] });
    return this.#map.byGuid.get(guid);
  }

  #knowsLuid(luid: string): boolean {
    return this.#complete || this.#map.byLuid.has(luid) || this.#absentLuids.has(luid);
  }

  #knowsGuid(guid: string): boolean {
    return this.#complete || this.#map.byGuid.has(guid) || this.#absentGuids.has(guid);
  }

  /**
   * Add entries read from the store to what memory knows. Memory wins: it holds this message's
   * changes, which may not be written yet (a batch). An entry whose LUID memory knows otherwise
   * means its GUID is not mapped (it moved or went with the LUID's change), and the reverse.
   */
  #merge(entries: readonly MapEntry[], asked: ReadonlyArray<readonly ['luid' | 'guid', string]>): void {
    for (const e of entries) {
      const luidKnown = this.#map.byLuid.has(e.luid) || this.#absentLuids.has(e.luid) || this.#dirty.has(e.luid);
      const guidKnown = this.#map.byGuid.has(e.guid) || this.#absentGuids.has(e.guid);
      if (!luidKnown && !guidKnown) {
        this.#map.byLuid.set(e.luid, e);
        this.#map.byGuid.set(e.guid, e);
      } else if (luidKnown && !guidKnown) {
        this.#absentGuids.add(e.guid);
      } else if (!luidKnown && guidKnown) {
        this.#absentLuids.add(e.luid);
      }
    }
    for (const [kind, k] of asked) {
      if (kind === 'luid' && !this.#map.byLuid.has(k)) this.#absentLuids.add(k);
      if (kind === 'guid' && !this.#map.byGuid.has(k)) this.#absentGuids.add(k);
    }
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
    if (this.#dirty.size === 0) return;
    const { byLuid } = this.#map;
    const deleted: string[] = [];
    const upserted: MapEntry[] = [];
    for (const luid of this.#dirty) {
      const e = byLuid.get(luid);
      if (e) upserted.push(e);
      else deleted.push(luid);
    }
    this.#dirty.clear();
    // A GUID put blind (its owner in the store unknown) and unmapped again before this flush: the
    // put that displaced its owner is not written, so the owner is deleted here instead.
    const orphaned = [...this.#blindGuids].filter((g) => !this.#map.byGuid.has(g));
    this.#blindGuids.clear();
    if (orphaned.length) {
      for (const e of await this.#state.getMapEntries(this.#key, { guids: orphaned })) {
        if (byLuid.get(e.luid)?.guid !== e.guid && !deleted.includes(e.luid)) deleted.push(e.luid);
      }
    }
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

  /**
   * Set `entry` in the in-memory map; the LUIDs whose entries it displaced (same GUID). An entry
   * the store holds and memory does not know is displaced by the store's own upsert rule, and
   * `#merge` keeps it out of memory if it is read later.
   */
  #setInMemory(entry: MapEntry): string[] {
    const map = this.#map;
    const displaced: string[] = [];
    const old = map.byGuid.get(entry.guid);
    if (old && old.luid !== entry.luid) {
      map.byLuid.delete(old.luid);
      this.#absentLuids.add(old.luid);
      displaced.push(old.luid);
    }
    const prev = map.byLuid.get(entry.luid);
    if (prev && prev.guid !== entry.guid) {
      map.byGuid.delete(prev.guid);
      this.#absentGuids.add(prev.guid);
    }
    map.byLuid.set(entry.luid, entry);
    map.byGuid.set(entry.guid, entry);
    this.#absentLuids.delete(entry.luid);
    this.#absentGuids.delete(entry.guid);
    return displaced;
  }

  async put(entry: MapEntry): Promise<void> {
    if (this.#batchDepth === 0) {
      await this.#state.putMapEntries(this.#key, [entry]);
      this.#setInMemory(entry);
      return;
    }
    // A displaced LUID is written as a delete: the store removes it with the upsert anyway, but a
    // later upsert of the same LUID in this batch would otherwise leave the store's copy behind.
    // An owner memory does not know (no read here: a slow sync's every new href would cost one)
    // is displaced by the store's upsert, or, if this entry is gone again by the flush, there.
    if (!this.#knowsGuid(entry.guid)) this.#blindGuids.add(entry.guid);
    const displaced = this.#setInMemory(entry);
    await this.#holdBack([...displaced, entry.luid]);
  }

  /** Updates of entries already mapped under the same LUID and GUID, all in one state write. */
  async updateInPlace(entries: MapEntry[]): Promise<void> {
    if (this.#batchDepth === 0) await this.#state.putMapEntries(this.#key, entries);
    for (const e of entries) {
      this.#map.byGuid.set(e.guid, e);
      this.#map.byLuid.set(e.luid, e);
    }
    await this.#holdBack(entries.map((e) => e.luid));
  }

  async delete(luid: string): Promise<void> {
    if (this.#batchDepth === 0) await this.#state.deleteMapEntries(this.#key, [luid]);
    const e = this.#map.byLuid.get(luid);
    if (e) {
      this.#map.byGuid.delete(e.guid);
      this.#absentGuids.add(e.guid);
    }
    this.#map.byLuid.delete(luid);
    this.#absentLuids.add(luid);
    await this.#holdBack([luid]);
  }

  /** Refresh-from-server: the device discards its items, so the old map means nothing. */
  async reset(): Promise<void> {
    const map = await this.load();
    const luids = new Set([...map.byLuid.keys(), ...this.#dirty]);
    this.#dirty.clear();
    this.#blindGuids.clear();
    if (luids.size) await this.#state.deleteMapEntries(this.#key, [...luids]);
    map.byLuid.clear();
    map.byGuid.clear();
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
