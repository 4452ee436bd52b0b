// The sync engine for one datastore of one device: applies device changes to the DataStore,
// keeps the LUID<->GUID map, finds the server's changes and tracks what the device confirmed.
import { createHash } from 'node:crypto';
import { GatewayError, isGatewayError } from '../errors.js';
import { needsFullListing, supportsSyncCollection, type DataStore, type StoredItem } from '../datastores/datastore.js';
import type { DatastoreKey, MapEntry, StateStore } from '../state/state-store.js';
import type { Logger } from '../logger.js';
import type {
  ChangeConfirmation, ClientChangeOutcome, ConflictPolicy, DatastoreSessionState, DeviceFormat, ItemTranslator, MatchRule, OutgoingChange, SentChange,
} from './types.js';
import { fingerprintKind } from './types.js';
import { unchangedFields } from './field-digests.js';

/** Per-field digests of a device item (`MapEntry.fields`), when its translator makes them. */
type DeviceFields = { fields?: string };

export interface DatastoreSyncOptions {
  conflict: ConflictPolicy;
  /** Slow-sync matching rules; undefined = every fingerprint the translator gives. */
  match?: readonly MatchRule[];
}

/** An outgoing change with its device-format content, ready for the protocol layer. */
export interface MaterialisedChange {
  change: OutgoingChange;
  /** Device-format data for Add/Replace. */
  data?: string;
  etag?: string;
  hash?: string;
  /** Field digests of what the device will hold (base of a later three-way conflict merge). */
  fields?: string;
}

const FETCH_BATCH = 50;

export class DatastoreSync {
  readonly #store: DataStore;
  readonly #state: StateStore;
  readonly #key: DatastoreKey;
  readonly #tr: ItemTranslator;
  readonly #log: Logger;
  readonly #opts: DatastoreSyncOptions;
  #map?: { byLuid: Map<string, MapEntry>; byGuid: Map<string, MapEntry> };
  /** Server items read ahead for the device changes of one message (used once, then dropped). */
  readonly #prefetched = new Map<string, StoredItem>();
  #matchIndexLoad: Promise<Record<string, string[]>> | undefined;

  constructor(store: DataStore, state: StateStore, key: DatastoreKey, translator: ItemTranslator, log: Logger, opts: DatastoreSyncOptions = { conflict: 'newer-wins' }) {
    this.#opts = opts;
    this.#store = store;
    this.#state = state;
    this.#key = key;
    this.#tr = translator;
    this.#log = log;
  }

  get translator(): ItemTranslator {
    return this.#tr;
  }

  async #loadMap(): Promise<{ byLuid: Map<string, MapEntry>; byGuid: Map<string, MapEntry> }> {
    if (!this.#map) {
      const entries = await this.#state.getMap(this.#key);
      this.#map = { byLuid: new Map(entries.map((e) => [e.luid, e])), byGuid: new Map(entries.map((e) => [e.guid, e])) };
    }
    return this.#map;
  }

  async #putEntry(entry: MapEntry): Promise<void> {
    const map = await this.#loadMap();
    await this.#state.putMapEntries(this.#key, [entry]);
    const old = map.byGuid.get(entry.guid);
    if (old && old.luid !== entry.luid) map.byLuid.delete(old.luid);
    const prev = map.byLuid.get(entry.luid);
    if (prev && prev.guid !== entry.guid) map.byGuid.delete(prev.guid);
    map.byLuid.set(entry.luid, entry);
    map.byGuid.set(entry.guid, entry);
  }

  async #deleteEntry(luid: string): Promise<void> {
    const map = await this.#loadMap();
    await this.#state.deleteMapEntries(this.#key, [luid]);
    const e = map.byLuid.get(luid);
    if (e) map.byGuid.delete(e.guid);
    map.byLuid.delete(luid);
  }

  /** Refresh-from-server: the device discards its items, so the old map means nothing. */
  async resetMap(): Promise<void> {
    const map = await this.#loadMap();
    const luids = [...map.byLuid.keys()];
    if (luids.length) await this.#state.deleteMapEntries(this.#key, luids);
    this.#map = { byLuid: new Map(), byGuid: new Map() };
  }

  // ------------------------------------------------------------------ device -> server

  /**
   * Read the server copies of the mapped items a message is about to change, in multiget
   * batches: a slow sync of a known phone would otherwise cost one REPORT per item.
   */
  async prefetch(luids: readonly string[]): Promise<void> {
    const map = await this.#loadMap();
    const hrefs = [...new Set(luids.flatMap((l) => {
      const e = map.byLuid.get(l);
      return e && !this.#prefetched.has(e.guid) ? [e.guid] : [];
    }))];
    for (let i = 0; i < hrefs.length; i += FETCH_BATCH) {
      for (const item of await this.#store.fetch(hrefs.slice(i, i + FETCH_BATCH))) this.#prefetched.set(item.href, item);
    }
  }

  async #current(href: string): Promise<StoredItem | undefined> {
    const hit = this.#prefetched.get(href);
    if (hit) {
      this.#prefetched.delete(href); // a retry after a 412 must read the server again
      return hit;
    }
    const [item] = await this.#store.fetch([href]);
    return item;
  }

  /** An Add from the device. A known LUID is a resend of an Add whose session did not complete. */
  applyAdd(s: DatastoreSessionState, luid: string, data: string, format: DeviceFormat): Promise<ClientChangeOutcome> {
    return this.#applyItem(s, luid, data, format, 'added');
  }

  /** A Replace from the device; of an unknown item it stores the item as new (outcome 'replaced-as-add'). */
  applyReplace(s: DatastoreSessionState, luid: string, data: string, format: DeviceFormat): Promise<ClientChangeOutcome> {
    return this.#applyItem(s, luid, data, format, 'replaced-as-add');
  }

  async #applyItem(s: DatastoreSessionState, luid: string, data: string, format: DeviceFormat, whenNew: 'added' | 'replaced-as-add'): Promise<ClientChangeOutcome> {
    try {
      const serverData = this.#tr.toServer(data, format, s.filter, (m) => this.#log.warn({ ds: s.name, luid }, `conversion: ${m}`));
      const fields = this.#fieldsOf(data, format);
      const map = await this.#loadMap();
      if (isFullSync(s)) s.seenLuids.push(luid);
      const existing = map.byLuid.get(luid);
      if (existing) return await this.#replaceMapped(s, existing, serverData, fields);
      if (isFullSync(s)) {
        const match = await this.#findMatch(s, serverData);
        if (match) {
          s.stats.matched++;
          return await this.#pairWithServerItem(s, luid, match, serverData, fields);
        }
      }
      const created = await this.#createFromDevice(serverData, luid, fields);
      s.touched.push(created.href);
      s.claimed.push(created.href);
      s.stats.clientAdded++;
      return { result: whenNew, guid: created.href };
    } catch (error) {
      s.stats.clientFailed++;
      return { result: 'failed', error };
    }
  }

  async applyDelete(s: DatastoreSessionState, luid: string): Promise<ClientChangeOutcome> {
    try {
      const map = await this.#loadMap();
      const existing = map.byLuid.get(luid);
      if (!existing) return { result: 'not-found' };
      try {
        await this.#store.delete(existing.guid, existing.etag);
      } catch (err) {
        if (!isGatewayError(err, 'ETAG_MISMATCH')) throw err;
        // Changed on the server since the device last saw it: the server's edit wins over a
        // delete (nothing is lost); the device gets the item back as an Add in this session.
        s.stats.conflicts++;
        this.#log.warn({ ds: s.name, luid, href: existing.guid }, 'conflict: device deleted an item changed on the server; keeping the server version');
        await this.#deleteEntry(luid);
        return { result: 'deleted' };
      }
      await this.#deleteEntry(luid);
      s.touched.push(existing.guid);
      s.stats.clientDeleted++;
      return { result: 'deleted' };
    } catch (error) {
      s.stats.clientFailed++;
      return { result: 'failed', error };
    }
  }

  /** Create a server item from a device item and map it. */
  /**
   * Create a server item from a device item and map it. An item without UID gets one derived
   * from device + LUID: if the gateway crashed between the DAV write and the map write, the
   * phone's resend of the same Add finds that item (ALREADY_EXISTS) instead of duplicating it.
   */
  async #createFromDevice(serverData: string, luid: string, fields: DeviceFields, stable = true): Promise<{ href: string; etag: string }> {
    const data = this.#tr.mergeFromDevice(undefined, stable ? withUid(serverData, stableUid(this.#key, luid)) : serverData);
    let created: { href: string; etag: string };
    try {
      created = await this.#store.create(data, luid);
    } catch (err) {
      const href = isGatewayError(err, 'ALREADY_EXISTS') ? err.details?.['href'] : undefined;
      if (!href || this.#map?.byGuid.has(href)) throw err;
      this.#log.info({ luid, href }, 'item from an interrupted session found on the server; mapped instead of created again');
      const [existing] = await this.#store.fetch([href]);
      if (!existing) throw err;
      // The resend may carry a newer version than the one written before the crash.
      created = this.#tr.hash(existing.data) === this.#tr.hash(data) ? { href, etag: existing.etag } : await this.#store.update(href, data, existing.etag);
    }
    await this.#putEntry({ luid, guid: created.href, etag: created.etag, hash: this.#tr.hash(data), ...fields });
    return created;
  }

  /** Field digests of an item as the device has it, for `MapEntry.fields` (none if unsupported). */
  #fieldsOf(deviceData: string, format: DeviceFormat): DeviceFields {
    try {
      const fields = this.#tr.fieldDigests?.(deviceData, format);
      return fields !== undefined ? { fields } : {};
    } catch {
      return {};
    }
  }

  /**
   * A DAV 412 means someone changed the item between our read and our write: read it again and
   * resolve once more, now as a conflict under the datastore's policy.
   */
  async #replaceMapped(s: DatastoreSessionState, entry: MapEntry, serverData: string, fields: DeviceFields): Promise<ClientChangeOutcome> {
    try {
      return await this.#replaceMappedOnce(s, entry, serverData, fields);
    } catch (err) {
      if (!isGatewayError(err, 'ETAG_MISMATCH')) throw err;
      this.#log.warn({ ds: s.name, luid: entry.luid, href: entry.guid }, 'item changed on the server while it was being written (412): resolving again');
      return this.#replaceMappedOnce(s, entry, serverData, fields);
    }
  }

  async #replaceMappedOnce(s: DatastoreSessionState, entry: MapEntry, serverData: string, fields: DeviceFields): Promise<ClientChangeOutcome> {
    const result = 'replaced';
    s.claimed.push(entry.guid);
    const current = await this.#current(entry.guid);
    if (!current) {
      // Gone on the server (deleted there): the device's edit brings it back.
      const created = await this.#createFromDevice(serverData, entry.luid, fields);
      s.touched.push(created.href);
      s.claimed.push(created.href);
      s.stats.clientAdded++;
      return { result: 'replaced-as-add', guid: created.href };
    }
    let conflict: 'client-won' | 'merged' | undefined;
    if (current.etag !== entry.etag && !isFullSync(s)) {
      // Changed on the server since the device last saw it, and now changed on the device.
      s.stats.conflicts++;
      const policy = this.#resolvePolicy(current.data, serverData);
      this.#log.warn({ ds: s.name, luid: entry.luid, href: entry.guid, storedEtag: entry.etag, serverEtag: current.etag, policy: this.#opts.conflict, resolution: policy }, 'conflict: item changed on both sides');
      if (policy === 'server-wins') {
        // Not marked as touched: the server version goes to the device in this session.
        return { result: 'conflict', resolution: 'server-won', guid: entry.guid };
      }
      if (policy === 'duplicate') {
        // The device's version becomes a new server item; the server's version, now unmapped,
        // goes to the device as an Add.
        const created = await this.#createFromDevice(stripUid(serverData), entry.luid, fields, false);
        s.touched.push(created.href);
        s.claimed.push(created.href);
        s.stats.clientAdded++;
        return { result: 'conflict', resolution: 'duplicated', guid: created.href };
      }
      conflict = policy === 'client-wins' ? 'client-won' : 'merged';
    }
    // In a conflict the device never saw the server's latest version, so "the device can store X
    // but did not send it" does not mean the user removed X: merge by property name instead. And a
    // field the device sent back as it had it (same digest as when it last synced) was not edited
    // there: the server's edit of that field must survive (three-way merge).
    let fromDevice = serverData;
    if (conflict === 'merged' && entry.fields && fields.fields && this.#tr.withoutFields) {
      const unchanged = unchangedFields(entry.fields, fields.fields);
      if (unchanged.length) fromDevice = this.#tr.withoutFields(serverData, unchanged);
    }
    const merged = this.#tr.mergeFromDevice(current.data, fromDevice, conflict ? undefined : s.filter);
    const newHash = this.#tr.hash(merged);
    if (newHash === this.#tr.hash(current.data)) {
      // Nothing the server does not already have (typical in a slow sync): no write.
      await this.#putEntry({ luid: entry.luid, guid: entry.guid, etag: current.etag, hash: newHash, ...fields });
      s.touched.push(entry.guid);
      return { result, guid: entry.guid };
    }
    const updated = await this.#store.update(entry.guid, merged, current.etag);
    if (conflict === 'merged') {
      // The merged item holds server fields the device did not send: record no ETag/hash so the
      // merged version goes back to the device in this session and both sides converge.
      await this.#putEntry({ luid: entry.luid, guid: updated.href, etag: '', hash: '', ...(entry.fields !== undefined ? { fields: entry.fields } : {}) });
      s.stats.clientReplaced++;
      return { result: 'conflict', resolution: conflict, guid: updated.href };
    }
    await this.#putEntry({ luid: entry.luid, guid: updated.href, etag: updated.etag, hash: newHash, ...fields });
    s.touched.push(updated.href);
    s.stats.clientReplaced++;
    return conflict ? { result: 'conflict', resolution: conflict, guid: updated.href } : { result, guid: updated.href };
  }

  /** The configured policy for one conflict; newer-wins compares REV/LAST-MODIFIED when both have one. */
  #resolvePolicy(serverData: string, deviceAsServer: string): Exclude<ConflictPolicy, 'newer-wins'> {
    if (this.#opts.conflict !== 'newer-wins') return this.#opts.conflict;
    const server = safeDate(() => this.#tr.modifiedAt?.(serverData));
    const device = safeDate(() => this.#tr.modifiedAt?.(deviceAsServer));
    // Without both timestamps the device's edit is the one the user just made: merge it in.
    return server && device && server.getTime() > device.getTime() ? 'server-wins' : 'merge';
  }

  /**
   * Refresh from client, before anything is written: how many server items the held-back device
   * items would leave unpaired (to be deleted), using the same pairing as the writes will.
   */
  async planRefreshDeletions(s: DatastoreSessionState): Promise<{ deletions: number; total: number }> {
    const map = await this.#loadMap();
    const saved = s.claimed;
    s.claimed = [...saved];
    try {
      for (const w of s.pendingWrites ?? []) {
        const entry = map.byLuid.get(w.luid);
        if (entry) {
          s.claimed.push(entry.guid);
          continue;
        }
        let serverData: string;
        try {
          serverData = this.#tr.toServer(w.data, w.format, s.filter);
        } catch {
          continue; // will fail as an item later; pairs with nothing
        }
        await this.#findMatch(s, serverData); // claims its match in s.claimed
      }
      const listing = await this.#store.list();
      const keep = new Set([...s.claimed, ...s.touched]);
      return { deletions: listing.items.filter((i) => !keep.has(i.href)).length, total: listing.items.length };
    } finally {
      s.claimed = saved;
    }
  }

  /** Refresh from client: server items the device did not send (to be deleted), and the total. */
  async refreshDeletions(s: DatastoreSessionState): Promise<{ items: ItemRefLike[]; total: number }> {
    const listing = await this.#store.list();
    const keep = new Set([...s.claimed, ...s.touched]);
    return { items: listing.items.filter((i) => !keep.has(i.href)), total: listing.items.length };
  }

  async serverCount(): Promise<number> {
    return (await this.#store.list()).items.length;
  }

  /** Everything in the collection, for a backup before a destructive refresh. */
  async snapshot(): Promise<StoredItem[]> {
    const listing = await this.#store.list();
    const out: StoredItem[] = [];
    for (let i = 0; i < listing.items.length; i += FETCH_BATCH) out.push(...(await this.#store.fetch(listing.items.slice(i, i + FETCH_BATCH).map((it) => it.href))));
    return out;
  }

  async deleteServerItems(s: DatastoreSessionState, items: readonly ItemRefLike[]): Promise<void> {
    const map = await this.#loadMap();
    for (const item of items) {
      await this.#store.delete(item.href, item.etag);
      const entry = map.byGuid.get(item.href);
      if (entry) await this.#deleteEntry(entry.luid);
      s.stats.clientDeleted++;
    }
  }

  async #pairWithServerItem(s: DatastoreSessionState, luid: string, href: string, serverData: string, fields: DeviceFields): Promise<ClientChangeOutcome> {
    const [current] = await this.#store.fetch([href]);
    if (!current) {
      const created = await this.#createFromDevice(serverData, luid, fields);
      s.touched.push(created.href);
      s.claimed.push(created.href);
      s.stats.clientAdded++;
      return { result: 'added', guid: created.href };
    }
    return this.#replaceMapped(s, { luid, guid: href, etag: current.etag }, serverData, fields).then((o) =>
      o.result === 'replaced' ? { result: 'merged', guid: o.guid } : o,
    );
  }

  #fingerprints(data: string): string[] {
    const all = safeFingerprints(this.#tr, data);
    const rules = this.#opts.match;
    return rules ? all.filter((fp) => rules.includes(fingerprintKind(fp))) : all;
  }

  /** Slow sync: find an unpaired server item that is "the same" as the device's. */
  async #findMatch(s: DatastoreSessionState, serverData: string): Promise<string | undefined> {
    if (!s.matchIndex) {
      // One build however many items ask at once (items of a message may be applied concurrently).
      this.#matchIndexLoad ??= this.#buildMatchIndex().finally(() => (this.#matchIndexLoad = undefined));
      const index = await this.#matchIndexLoad;
      s.matchIndex ??= index;
    }
    const claimed = claimedSet(s.claimed);
    for (const fp of this.#fingerprints(serverData)) {
      const hit = s.matchIndex[fp]?.find((href) => !claimed.has(href));
      if (hit) {
        // Claimed here, with no await in between: an item applied concurrently must not pair with it too.
        s.claimed.push(hit);
        return hit;
      }
    }
    return undefined;
  }

  async #buildMatchIndex(): Promise<Record<string, string[]>> {
    const listing = await this.#store.list();
    const index: Record<string, string[]> = {};
    for (let i = 0; i < listing.items.length; i += FETCH_BATCH) {
      const batch = await this.#store.fetch(listing.items.slice(i, i + FETCH_BATCH).map((it) => it.href));
      for (const item of batch) for (const fp of this.#fingerprints(item.data)) (index[fp] ??= []).push(item.href);
    }
    return index;
  }

  // ------------------------------------------------------------------ server -> device

  /** Decide what the server sends in this session; called once the device's changes are all in. */
  async computeOutgoing(s: DatastoreSessionState): Promise<void> {
    if (s.outgoingComputed) return;
    const out: OutgoingChange[] = [];
    if (s.mode === 'one-way-from-client' || s.mode === 'refresh-from-client') {
      if (await this.#hasDeferredEtags(s)) await this.#fillDeferredEtags(s, (await this.#store.list()).items);
      s.outgoing = out;
      s.outgoingComputed = true;
      return;
    }
    const map = await this.#loadMap();
    const touched = new Set(s.touched);
    if (s.mode !== 'slow' && s.mode !== 'refresh-from-server' && s.syncToken && supportsSyncCollection(this.#store)) {
      // RFC 6578: only what changed since this device's last session; a no-change sync costs
      // one REPORT whatever the size of the collection.
      try {
        const changes = await this.#store.changesSince(s.syncToken);
        await this.#fillDeferredEtags(s, changes.changed);
        for (const item of changes.changed) {
          if (touched.has(item.href)) continue;
          const entry = map.byGuid.get(item.href);
          if (!entry) out.push({ op: 'Add', href: item.href });
          else if (entry.etag !== item.etag) out.push({ op: 'Replace', href: item.href, luid: entry.luid });
        }
        for (const href of changes.deleted) {
          const entry = map.byGuid.get(href);
          if (entry && !touched.has(href)) out.push({ op: 'Delete', href, luid: entry.luid });
        }
        s.newSyncToken = changes.syncToken;
        s.outgoing = out;
        s.outgoingComputed = true;
        this.#log.info({ ds: s.name, mode: s.mode, via: 'sync-collection', adds: count(out, 'Add'), replaces: count(out, 'Replace'), deletes: count(out, 'Delete') }, 'server changes found');
        return;
      } catch (err) {
        if (!needsFullListing(err)) throw err;
        this.#log.info({ ds: s.name, err: String(err) }, 'sync-token not usable; falling back to a full listing');
        out.length = 0;
      }
    }
    const listing = await this.#store.list();
    await this.#fillDeferredEtags(s, listing.items);
    if (listing.version !== undefined && supportsSyncCollection(this.#store)) s.newSyncToken = listing.version;
    if (s.mode === 'slow' || s.mode === 'refresh-from-server') {
      const claimed = new Set(s.claimed);
      if (s.mode === 'slow') {
        // Map entries the device did not send again are stale: it no longer has those items.
        const seen = new Set(s.seenLuids);
        const stale = [...map.byLuid.values()].filter((e) => !seen.has(e.luid)).map((e) => e.luid);
        for (const luid of stale) await this.#deleteEntry(luid);
      }
      for (const item of listing.items) if (!claimed.has(item.href) && !touched.has(item.href)) out.push({ op: 'Add', href: item.href });
    } else {
      const present = new Set<string>();
      for (const item of listing.items) {
        present.add(item.href);
        if (touched.has(item.href)) continue;
        const entry = map.byGuid.get(item.href);
        if (!entry) out.push({ op: 'Add', href: item.href });
        else if (entry.etag !== item.etag) out.push({ op: 'Replace', href: item.href, luid: entry.luid });
      }
      for (const entry of map.byGuid.values()) {
        if (!present.has(entry.guid) && !touched.has(entry.guid)) out.push({ op: 'Delete', href: entry.guid, luid: entry.luid });
      }
    }
    s.outgoing = out;
    s.outgoingComputed = true;
    this.#log.info({ ds: s.name, mode: s.mode, adds: count(out, 'Add'), replaces: count(out, 'Replace'), deletes: count(out, 'Delete'), serverItems: listing.items.length }, 'server changes found');
  }

  async #hasDeferredEtags(s: DatastoreSessionState): Promise<boolean> {
    const map = await this.#loadMap();
    return s.touched.some((href) => map.byGuid.get(href)?.etag === '');
  }

  /**
   * Items written in this session whose PUT answer had no ETag were mapped with `etag: ''` (the
   * store defers that read, see DavStoreOptions.deferEtag): take their ETags from the listing
   * this session makes anyway, all in one state write, instead of one PROPFIND per item.
   * Entries with '' that this session did not write (a merged conflict) keep it on purpose.
   */
  async #fillDeferredEtags(s: DatastoreSessionState, listed: Iterable<{ href: string; etag: string }>): Promise<void> {
    const map = await this.#loadMap();
    const touched = new Set(s.touched);
    const filled: MapEntry[] = [];
    for (const item of listed) {
      const entry = map.byGuid.get(item.href);
      if (entry && entry.etag === '' && item.etag !== '' && touched.has(item.href)) filled.push({ ...entry, etag: item.etag });
    }
    if (!filled.length) return;
    await this.#state.putMapEntries(this.#key, filled);
    for (const e of filled) {
      map.byGuid.set(e.guid, e);
      map.byLuid.set(e.luid, e);
    }
  }

  /**
   * Take up to `max` changes off the queue with their device-format content. A Replace whose
   * content did not change for the device (the server only rewrote it) is dropped here.
   */
  async takeOutgoing(s: DatastoreSessionState, max: number): Promise<MaterialisedChange[]> {
    const taken = s.outgoing.splice(0, max);
    const hrefs = taken.filter((c) => c.op !== 'Delete').map((c) => c.href);
    const fetched = new Map<string, StoredItem>();
    for (let i = 0; i < hrefs.length; i += FETCH_BATCH) {
      for (const item of await this.#store.fetch(hrefs.slice(i, i + FETCH_BATCH))) fetched.set(item.href, item);
    }
    const map = await this.#loadMap();
    const result: MaterialisedChange[] = [];
    for (const change of taken) {
      if (change.op === 'Delete') {
        result.push({ change });
        continue;
      }
      const item = fetched.get(change.href);
      if (!item) continue; // deleted on the server meanwhile; the next session sees it
      const hash = this.#tr.hash(item.data);
      if (change.op === 'Replace') {
        const entry = map.byGuid.get(change.href);
        if (entry?.hash === hash) {
          await this.#putEntry({ ...entry, etag: item.etag });
          continue;
        }
      }
      try {
        const data = this.#tr.toDevice(item.data, s.deviceFormat, s.filter);
        result.push({ change, data, etag: item.etag, hash, ...this.#fieldsOf(data, s.deviceFormat) });
      } catch (err) {
        this.#log.warn({ ds: s.name, href: change.href, err: String(err) }, 'server item cannot be converted for the device; skipped');
      }
    }
    return result;
  }

  /** Put changes back at the head of the queue (they did not fit into the message). */
  requeue(s: DatastoreSessionState, changes: OutgoingChange[]): void {
    s.outgoing.unshift(...changes);
  }

  /**
   * The device's answer to a change the server sent: `confirmed`, `gone` (it no longer has the
   * item) or `refused`. A gone item counts as deleted; the protocol logs refusals.
   */
  async confirm(s: DatastoreSessionState, sent: SentChange, outcome: ChangeConfirmation): Promise<void> {
    if (sent.op === 'Delete') {
      if ((outcome === 'confirmed' || outcome === 'gone') && sent.luid) {
        await this.#deleteEntry(sent.luid);
        s.stats.serverDeleted++;
      }
      return;
    }
    if (outcome !== 'confirmed') {
      if (sent.op === 'Add' && sent.guid) delete s.awaitingMap[sent.guid];
      return;
    }
    if (sent.op === 'Replace' && sent.luid) {
      await this.#putEntry({ luid: sent.luid, guid: sent.href, etag: sent.etag ?? '', ...(sent.hash ? { hash: sent.hash } : {}), ...(sent.fields ? { fields: sent.fields } : {}) });
      s.stats.serverReplaced++;
    }
    // Adds are recorded when the device's Map arrives.
  }

  /** A MapItem from the device: `guid` is what the server sent as Source/LocURI. */
  async applyMap(s: DatastoreSessionState, guid: string, luid: string): Promise<boolean> {
    const sent = s.awaitingMap[guid];
    if (!sent) return false;
    await this.#putEntry({ luid, guid: sent.href, etag: sent.etag ?? '', ...(sent.hash ? { hash: sent.hash } : {}), ...(sent.fields ? { fields: sent.fields } : {}) });
    delete s.awaitingMap[guid];
    s.stats.serverAdded++;
    return true;
  }

  /** Id to send as Source/LocURI of an Add: the href, or a short temporary id for small MaxGUIDSize. */
  guidFor(s: DatastoreSessionState, href: string, maxGuidSize: number | undefined): string {
    if (maxGuidSize === undefined || href.length <= maxGuidSize) return href;
    s.tempGuidCounter++;
    return s.tempGuidCounter.toString(36);
  }
}

type ItemRefLike = { href: string; etag: string };

/**
 * `s.claimed` as a Set, kept up to date incrementally: the array only grows during a session, and
 * building a new Set per device item made a slow sync quadratic (1000 items: 500k insertions).
 * Keyed by the array itself, so a replaced array (planRefreshDeletions) gets its own Set.
 */
const claimedSets = new WeakMap<string[], { set: Set<string>; size: number }>();
function claimedSet(claimed: string[]): Set<string> {
  let c = claimedSets.get(claimed);
  if (!c || c.size > claimed.length) {
    c = { set: new Set(), size: 0 };
    claimedSets.set(claimed, c);
  }
  for (; c.size < claimed.length; c.size++) c.set.add(claimed[c.size]!);
  return c.set;
}

function isFullSync(s: DatastoreSessionState): boolean {
  return s.mode === 'slow' || s.mode === 'refresh-from-client';
}

function safeDate(f: () => Date | undefined): Date | undefined {
  try {
    const d = f();
    return d && !Number.isNaN(d.getTime()) ? d : undefined;
  } catch {
    return undefined;
  }
}

function stableUid(key: DatastoreKey, luid: string): string {
  return `sgw-${createHash('sha256').update(`${key.account}\u0000${key.deviceId}\u0000${key.datastore}\u0000${luid}`).digest('hex').slice(0, 32)}`;
}

/** Insert `UID:` after the first BEGIN of the item's main component when it has none. */
function withUid(data: string, uid: string): string {
  if (/^UID[;:]/im.test(data)) return data;
  return data.replace(/^(BEGIN:(?:VCARD|VEVENT|VTODO|VJOURNAL)\r?\n)/im, `$1UID:${uid}\r\n`);
}

/** A duplicate must not share the original's UID (CardDAV/CalDAV servers refuse that). */
function stripUid(data: string): string {
  return data.replace(/^UID[;:].*\r?\n/gim, '');
}

function count(changes: OutgoingChange[], op: OutgoingChange['op']): number {
  return changes.filter((c) => c.op === op).length;
}

function safeFingerprints(tr: ItemTranslator, data: string): string[] {
  try {
    return tr.fingerprints(data);
  } catch {
    return [];
  }
}

export function assertNever(x: never): never {
  throw new GatewayError('NOT_SUPPORTED', `unexpected value ${String(x)}`);
}
