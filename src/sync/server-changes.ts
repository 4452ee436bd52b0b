// Server -> device: what the server sends in a session (via sync-collection or a full listing),
// the queue of outgoing changes (long ones paged out of the session: outgoing-queue.ts), and
// what the device confirmed of them.
import { needsFullListing, supportsSyncCollection, type DataStore, type StoredItem } from '../datastores/datastore.js';
import type { MapEntry, StateStore } from '../state/state-store.js';
import type { Logger } from '../logger.js';
import type { ChangeConfirmation, DatastoreSessionState, ItemTranslator, OutgoingChange, SentChange } from './types.js';
import type { IdMap } from './id-map.js';
import { count, FETCH_BATCH, fieldsOf, prepareOutgoing } from './item-helpers.js';
import { OutgoingQueue, type QueuePaging } from './outgoing-queue.js';
import type { SessionSets } from './session-sets.js';

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

export class ServerChanges {
  readonly #store: DataStore;
  readonly #idMap: IdMap;
  readonly #tr: ItemTranslator;
  readonly #log: Logger;
  readonly #queue: OutgoingQueue;
  readonly #sets: SessionSets;

  /** `state` and `paging`: where a long queue's pages go (without `paging` it stays inline). */
  constructor(store: DataStore, idMap: IdMap, translator: ItemTranslator, log: Logger, state: StateStore, sets: SessionSets, paging?: QueuePaging) {
    this.#sets = sets;
    this.#store = store;
    this.#idMap = idMap;
    this.#tr = translator;
    this.#log = log;
    this.#queue = new OutgoingQueue(state, paging);
  }

  /** Decide what the server sends in this session; called once the device's changes are all in. */
  async computeOutgoing(s: DatastoreSessionState): Promise<void> {
    if (s.outgoingComputed) return;
    const out: OutgoingChange[] = [];
    if (s.mode === 'one-way-from-client' || s.mode === 'refresh-from-client') {
      const touched = await this.#sets.all(s, 'touched');
      if (await this.#hasDeferredEtags(touched)) await this.#fillDeferredEtags(touched, (await this.#store.list()).items);
      await this.#queue.fill(s, out);
      s.outgoingComputed = true;
      return;
    }
    const touched = await this.#sets.all(s, 'touched');
    if (s.mode !== 'slow' && s.mode !== 'refresh-from-server' && s.syncToken && supportsSyncCollection(this.#store)) {
      // RFC 6578: only what changed since this device's last session; a no-change sync costs
      // one REPORT whatever the size of the collection (and reads only the changed items' map entries).
      try {
        const changes = await this.#store.changesSince(s.syncToken);
        await this.#fillDeferredEtags(touched, changes.changed);
        await this.#idMap.preload({ guids: [...changes.changed.map((i) => i.href), ...changes.deleted] });
        for (const item of changes.changed) {
          if (touched.has(item.href)) continue;
          const entry = await this.#idMap.byGuid(item.href);
          if (!entry) out.push({ op: 'Add', href: item.href });
          else if (entry.etag !== item.etag) out.push({ op: 'Replace', href: item.href, luid: entry.luid });
        }
        for (const href of changes.deleted) {
          const entry = await this.#idMap.byGuid(href);
          if (entry && !touched.has(href)) out.push({ op: 'Delete', href, luid: entry.luid });
        }
        s.newSyncToken = changes.syncToken;
        await this.#queue.fill(s, out);
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
    // A full listing is compared with the whole map (but a refresh from the server has none):
    // read it once, before the ETag fill would look its entries up one by one.
    const map = s.mode === 'refresh-from-server' ? undefined : await this.#idMap.load();
    await this.#fillDeferredEtags(touched, listing.items);
    if (listing.version !== undefined && supportsSyncCollection(this.#store)) s.newSyncToken = listing.version;
    if (s.mode === 'slow' || s.mode === 'refresh-from-server') {
      const claimed = await this.#sets.all(s, 'claimed');
      if (s.mode === 'slow') {
        // Map entries the device did not send again are stale: it no longer has those items.
        const seen = await this.#sets.all(s, 'seenLuids');
        const stale = [...map!.byLuid.values()].filter((e) => !seen.has(e.luid)).map((e) => e.luid);
        await this.#idMap.batched(async () => {
          for (const luid of stale) await this.#idMap.delete(luid);
        });
      }
      for (const item of listing.items) if (!claimed.has(item.href) && !touched.has(item.href)) out.push({ op: 'Add', href: item.href });
    } else {
      const present = new Set<string>();
      for (const item of listing.items) {
        present.add(item.href);
        if (touched.has(item.href)) continue;
        const entry = map!.byGuid.get(item.href);
        if (!entry) out.push({ op: 'Add', href: item.href });
        else if (entry.etag !== item.etag) out.push({ op: 'Replace', href: item.href, luid: entry.luid });
      }
      for (const entry of map!.byGuid.values()) {
        if (!present.has(entry.guid) && !touched.has(entry.guid)) out.push({ op: 'Delete', href: entry.guid, luid: entry.luid });
      }
    }
    await this.#queue.fill(s, out);
    s.outgoingComputed = true;
    this.#log.info({ ds: s.name, mode: s.mode, adds: count(out, 'Add'), replaces: count(out, 'Replace'), deletes: count(out, 'Delete'), serverItems: listing.items.length }, 'server changes found');
  }

  async #hasDeferredEtags(touched: ReadonlySet<string>): Promise<boolean> {
    await this.#idMap.preload({ guids: [...touched] });
    for (const href of touched) if ((await this.#idMap.byGuid(href))?.etag === '') return true;
    return false;
  }

  /**
   * Items written in this session whose PUT answer had no ETag were mapped with `etag: ''` (the
   * store defers that read, see DavStoreOptions.deferEtag): take their ETags from the listing
   * this session makes anyway, all in one state write, instead of one PROPFIND per item.
   * Entries with '' that this session did not write (a merged conflict) keep it on purpose.
   */
  async #fillDeferredEtags(touched: ReadonlySet<string>, listed: Iterable<{ href: string; etag: string }>): Promise<void> {
    const candidates = [...listed].filter((item) => item.etag !== '' && touched.has(item.href));
    await this.#idMap.preload({ guids: candidates.map((i) => i.href) });
    const filled: MapEntry[] = [];
    for (const item of candidates) {
      const entry = await this.#idMap.byGuid(item.href);
      if (entry && entry.etag === '') filled.push({ ...entry, etag: item.etag });
    }
    if (!filled.length) return;
    await this.#idMap.updateInPlace(filled);
  }

  /**
   * Take up to `max` changes off the queue with their device-format content. A Replace whose
   * content did not change for the device (the server only rewrote it) is dropped here.
   */
  async takeOutgoing(s: DatastoreSessionState, max: number): Promise<MaterialisedChange[]> {
    const taken = await this.#queue.take(s, max);
    const hrefs = taken.filter((c) => c.op !== 'Delete').map((c) => c.href);
    const fetched = new Map<string, StoredItem>();
    for (let i = 0; i < hrefs.length; i += FETCH_BATCH) {
      for (const item of await this.#store.fetch(hrefs.slice(i, i + FETCH_BATCH))) fetched.set(item.href, item);
    }
    await this.#idMap.preload({ guids: taken.filter((c) => c.op === 'Replace').map((c) => c.href) });
    const result: MaterialisedChange[] = [];
    for (const change of taken) {
      if (change.op === 'Delete') {
        result.push({ change });
        continue;
      }
      const item = fetched.get(change.href);
      if (!item) continue; // deleted on the server meanwhile; the next session sees it
      const prepared = prepareOutgoing(this.#tr, item.data);
      const hash = prepared.hash;
      if (change.op === 'Replace') {
        const entry = await this.#idMap.byGuid(change.href);
        if (entry?.hash === hash) {
          await this.#idMap.put({ ...entry, etag: item.etag });
          continue;
        }
      }
      try {
        const data = prepared.toDevice(s.deviceFormat, s.filter);
        result.push({ change, data, etag: item.etag, hash, ...fieldsOf(this.#tr, data, s.deviceFormat) });
      } catch (err) {
        this.#log.warn({ ds: s.name, href: change.href, err: String(err) }, 'server item cannot be converted for the device; skipped');
      }
    }
    return result;
  }

  /** Put changes back at the head of the queue (they did not fit into the message). */
  requeue(s: DatastoreSessionState, changes: OutgoingChange[]): void {
    this.#queue.requeue(s, changes);
  }

  /**
   * The device's answer to a change the server sent: `confirmed`, `gone` (it no longer has the
   * item) or `refused`. A gone item counts as deleted; the protocol logs refusals.
   */
  async confirm(s: DatastoreSessionState, sent: SentChange, outcome: ChangeConfirmation): Promise<void> {
    if (sent.op === 'Delete') {
      if ((outcome === 'confirmed' || outcome === 'gone') && sent.luid) {
        await this.#idMap.delete(sent.luid);
        s.stats.serverDeleted++;
      }
      return;
    }
    if (outcome !== 'confirmed') {
      if (sent.op === 'Add' && sent.guid) delete s.awaitingMap[sent.guid];
      return;
    }
    if (sent.op === 'Replace' && sent.luid) {
      await this.#idMap.put({ luid: sent.luid, guid: sent.href, etag: sent.etag ?? '', ...(sent.hash ? { hash: sent.hash } : {}), ...(sent.fields ? { fields: sent.fields } : {}) });
      s.stats.serverReplaced++;
    }
    // Adds are recorded when the device's Map arrives.
  }
}
