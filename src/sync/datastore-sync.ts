// The sync engine for one datastore of one device: applies device changes to the DataStore,
// keeps the LUID<->GUID map, finds the server's changes and tracks what the device confirmed.
// The map (id-map.ts), slow-sync matching (slow-sync-match.ts) and the server's changes going
// out (server-changes.ts) and the server side of a refresh from the client (refresh-from-client.ts)
// live in their own files; this one keeps device -> server and the wiring.
import { GatewayError, isGatewayError } from '../errors.js';
import type { DataStore, StoredItem } from '../datastores/datastore.js';
import type { DatastoreKey, MapEntry, StateStore } from '../state/state-store.js';
import type { Logger } from '../logger.js';
import type {
  ChangeConfirmation, ClientChangeOutcome, ConflictPolicy, DatastoreSessionState, DeviceFormat, ItemTranslator, MatchRule, OutgoingChange, SentChange,
} from './types.js';
import { unchangedFields } from './field-digests.js';
import { guidFor, IdMap } from './id-map.js';
import { SlowSyncMatcher } from './slow-sync-match.js';
import { SessionSets } from './session-sets.js';
import { ServerChanges, type MaterialisedChange } from './server-changes.js';
import type { QueuePaging } from './outgoing-queue.js';
import { RepeatedWarnings } from './repeated-warnings.js';
import { RefreshFromClient, type ItemRefLike } from './refresh-from-client.js';
import { FETCH_BATCH, fieldsOf, isFullSync, safeDate, stableUid, stripUid, withUid, type DeviceFields } from './item-helpers.js';

export type { MaterialisedChange } from './server-changes.js';

export interface DatastoreSyncOptions {
  conflict: ConflictPolicy;
  /** Slow-sync matching rules; undefined = every fingerprint the translator gives. */
  match?: readonly MatchRule[];
  /**
   * Where a long outgoing queue's pages (outgoing-queue.ts) and the session's sets (session-sets.ts)
   * are kept beside the session; without it both stay inline.
   */
  queue?: QueuePaging;
}

export class DatastoreSync {
  readonly #store: DataStore;
  readonly #key: DatastoreKey;
  readonly #tr: ItemTranslator;
  readonly #log: Logger;
  readonly #opts: DatastoreSyncOptions;
  readonly #idMap: IdMap;
  readonly #matcher: SlowSyncMatcher;
  readonly #serverChanges: ServerChanges;
  readonly #sets: SessionSets;
  readonly #refresh: RefreshFromClient;
  /** Server items read ahead for the device changes of one message (used once, then dropped). */
  readonly #prefetched = new Map<string, StoredItem>();
  /** Conversion warnings of the current batch of items, each text logged once (repeated-warnings.ts). */
  readonly #warnings = new RepeatedWarnings();

  constructor(store: DataStore, state: StateStore, key: DatastoreKey, translator: ItemTranslator, log: Logger, opts: DatastoreSyncOptions = { conflict: 'newer-wins' }) {
    this.#opts = opts;
    this.#store = store;
    this.#key = key;
    this.#tr = translator;
    this.#log = log;
    this.#idMap = new IdMap(state, key);
    this.#sets = new SessionSets(state, opts.queue);
    this.#matcher = new SlowSyncMatcher(store, translator, opts.match, this.#sets);
    this.#refresh = new RefreshFromClient(store, translator, this.#idMap, this.#sets, this.#matcher);
    this.#serverChanges = new ServerChanges(store, this.#idMap, translator, log, state, this.#sets, opts.queue);
  }

  get translator(): ItemTranslator {
    return this.#tr;
  }

  /**
   * Run the changes of one client command with the map's upserts written once, at its end
   * (IdMap.batched): a Sync of 100 Adds is one state write instead of 100.
   */
  async batchMapWrites<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.#idMap.batched(fn);
    } finally {
      // The batch is the items of one Sync command (or of a refresh from the client, written at its
      // end): what repeated in it is told once more, with a count.
      for (const w of this.#warnings.drain()) {
        this.#log.warn({ ds: this.#key.datastore, repeats: w.repeats, luids: w.luids }, `conversion: ${w.message} (the same for ${w.repeats} more item(s) in this message)`);
      }
    }
  }

  /** Refresh-from-server: the device discards its items, so the old map means nothing. */
  resetMap(): Promise<void> {
    return this.#idMap.reset();
  }

  // ------------------------------------------------------------------ device -> server

  /**
   * Read the server copies of the mapped items a message is about to change, in multiget
   * batches: a slow sync of a known phone would otherwise cost one REPORT per item.
   */
  async prefetch(s: DatastoreSessionState, luids: readonly string[]): Promise<void> {
    await this.#sets.settle(s); // the session's sets move out of it at the start of a message (session-sets.ts)
    await this.#idMap.preload({ luids }); // the message's map entries, in one state read
    const hrefs: string[] = [];
    for (const l of new Set(luids)) {
      const e = await this.#idMap.byLuid(l);
      if (e && !this.#prefetched.has(e.guid)) hrefs.push(e.guid);
    }
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
      const serverData = this.#tr.toServer(data, format, s.filter, (m) => {
        if (this.#warnings.first(m, luid)) this.#log.warn({ ds: s.name, luid }, `conversion: ${m}`);
      });
      const fields = fieldsOf(this.#tr, data, format);
      if (isFullSync(s)) s.seenLuids.push(luid);
      const existing = await this.#idMap.byLuid(luid);
      if (existing) return await this.#replaceMapped(s, existing, serverData, fields);
      if (isFullSync(s)) {
        const match = await this.#matcher.findMatch(s, serverData);
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
      const existing = await this.#idMap.byLuid(luid);
      if (!existing) return { result: 'not-found' };
      try {
        await this.#store.delete(existing.guid, existing.etag);
      } catch (err) {
        if (!isGatewayError(err, 'ETAG_MISMATCH')) throw err;
        // Changed on the server since the device last saw it: the server's edit wins over a
        // delete (nothing is lost); the device gets the item back as an Add in this session.
        s.stats.conflicts++;
        this.#log.warn({ ds: s.name, luid, href: existing.guid }, 'conflict: device deleted an item changed on the server; keeping the server version');
        await this.#idMap.delete(luid);
        return { result: 'deleted' };
      }
      await this.#idMap.delete(luid);
      s.touched.push(existing.guid);
      s.stats.clientDeleted++;
      return { result: 'deleted' };
    } catch (error) {
      s.stats.clientFailed++;
      return { result: 'failed', error };
    }
  }

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
      if (!href || (await this.#idMap.byGuid(href))) throw err;
      this.#log.info({ luid, href }, 'item from an interrupted session found on the server; mapped instead of created again');
      const [existing] = await this.#store.fetch([href]);
      if (!existing) throw err;
      // The resend may carry a newer version than the one written before the crash.
      created = this.#tr.hash(existing.data) === this.#tr.hash(data) ? { href, etag: existing.etag } : await this.#store.update(href, data, existing.etag);
    }
    await this.#idMap.put({ luid, guid: created.href, etag: created.etag, hash: this.#tr.hash(data), ...fields });
    return created;
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
      await this.#idMap.put({ luid: entry.luid, guid: entry.guid, etag: current.etag, hash: newHash, ...fields });
      s.touched.push(entry.guid);
      return { result, guid: entry.guid };
    }
    const updated = await this.#store.update(entry.guid, merged, current.etag);
    if (conflict === 'merged') {
      // The merged item holds server fields the device did not send: record no ETag/hash so the
      // merged version goes back to the device in this session and both sides converge.
      await this.#idMap.put({ luid: entry.luid, guid: updated.href, etag: '', hash: '', ...(entry.fields !== undefined ? { fields: entry.fields } : {}) });
      s.stats.clientReplaced++;
      return { result: 'conflict', resolution: conflict, guid: updated.href };
    }
    await this.#idMap.put({ luid: entry.luid, guid: updated.href, etag: updated.etag, hash: newHash, ...fields });
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

  // ------------------------------------------------------------------ refresh from client (refresh-from-client.ts)

  planRefreshDeletions(s: DatastoreSessionState): Promise<{ deletions: number; total: number }> {
    return this.#refresh.plan(s);
  }

  refreshDeletions(s: DatastoreSessionState): Promise<{ items: ItemRefLike[]; total: number }> {
    return this.#refresh.deletions(s);
  }

  serverCount(): Promise<number> {
    return this.#refresh.serverCount();
  }

  snapshot(): Promise<StoredItem[]> {
    return this.#refresh.snapshot();
  }

  deleteServerItems(s: DatastoreSessionState, items: readonly ItemRefLike[]): Promise<void> {
    return this.#refresh.deleteServerItems(s, items);
  }

  // ------------------------------------------------------------------ server -> device

  /** Decide what the server sends in this session; called once the device's changes are all in. */
  computeOutgoing(s: DatastoreSessionState): Promise<void> {
    return this.#serverChanges.computeOutgoing(s);
  }

  /**
   * Take up to `max` changes off the queue with their device-format content. A Replace whose
   * content did not change for the device (the server only rewrote it) is dropped here.
   */
  takeOutgoing(s: DatastoreSessionState, max: number): Promise<MaterialisedChange[]> {
    return this.#serverChanges.takeOutgoing(s, max);
  }

  /** Put changes back at the head of the queue (they did not fit into the message). */
  requeue(s: DatastoreSessionState, changes: OutgoingChange[]): void {
    this.#serverChanges.requeue(s, changes);
  }

  /** The device's answer to a change the server sent (see ServerChanges.confirm). */
  confirm(s: DatastoreSessionState, sent: SentChange, outcome: ChangeConfirmation): Promise<void> {
    return this.#serverChanges.confirm(s, sent, outcome);
  }

  /** A MapItem from the device: `guid` is what the server sent as Source/LocURI. */
  applyMap(s: DatastoreSessionState, guid: string, luid: string): Promise<boolean> {
    return this.#idMap.applyMapItem(s, guid, luid);
  }

  /** Id to send as Source/LocURI of an Add: the href, or a short temporary id for small MaxGUIDSize. */
  guidFor(s: DatastoreSessionState, href: string, maxGuidSize: number | undefined): string {
    return guidFor(s, href, maxGuidSize);
  }
}


export function assertNever(x: never): never {
  throw new GatewayError('NOT_SUPPORTED', `unexpected value ${String(x)}`);
}
