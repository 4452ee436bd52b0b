// Refresh from client, the server side: which server items the device's complete set leaves
// unpaired (planned before anything is written, with the same pairing the writes will use), the
// collection read whole for a backup, and those items deleted with their map entries. Whether to
// go ahead is refresh-guard.ts's decision; DatastoreSync hands these calls through.
import type { DataStore, StoredItem } from '../datastores/datastore.js';
import type { IdMap } from './id-map.js';
import { FETCH_BATCH } from './item-helpers.js';
import type { SessionSets } from './session-sets.js';
import type { SlowSyncMatcher } from './slow-sync-match.js';
import type { DatastoreSessionState, ItemTranslator } from './types.js';

export type ItemRefLike = { href: string; etag: string };

export class RefreshFromClient {
  readonly #store: DataStore;
  readonly #tr: ItemTranslator;
  readonly #idMap: IdMap;
  readonly #sets: SessionSets;
  readonly #matcher: SlowSyncMatcher;

  constructor(store: DataStore, translator: ItemTranslator, idMap: IdMap, sets: SessionSets, matcher: SlowSyncMatcher) {
    this.#store = store;
    this.#tr = translator;
    this.#idMap = idMap;
    this.#sets = sets;
    this.#matcher = matcher;
  }

  /**
   * Refresh from client, before anything is written: how many server items the held-back device
   * items would leave unpaired (to be deleted), using the same pairing as the writes will.
   */
  async plan(s: DatastoreSessionState): Promise<{ deletions: number; total: number }> {
    await this.#sets.settle(s); // before the speculative copy of s.claimed below
    await this.#idMap.preload({ luids: (s.pendingWrites ?? []).map((w) => w.luid) });
    const saved = s.claimed;
    s.claimed = [...saved];
    try {
      for (const w of s.pendingWrites ?? []) {
        const entry = await this.#idMap.byLuid(w.luid);
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
        await this.#matcher.findMatch(s, serverData); // claims its match in s.claimed
      }
      const listing = await this.#store.list();
      const keep = await this.#keep(s);
      return { deletions: listing.items.filter((i) => !keep.has(i.href)).length, total: listing.items.length };
    } finally {
      s.claimed = saved;
    }
  }

  /** Refresh from client: server items the device did not send (to be deleted), and the total. */
  async deletions(s: DatastoreSessionState): Promise<{ items: ItemRefLike[]; total: number }> {
    const listing = await this.#store.list();
    const keep = await this.#keep(s);
    return { items: listing.items.filter((i) => !keep.has(i.href)), total: listing.items.length };
  }

  /** Server items paired with or written by the device in this session. */
  async #keep(s: DatastoreSessionState): Promise<Set<string>> {
    const keep = await this.#sets.all(s, 'claimed');
    for (const href of await this.#sets.all(s, 'touched')) keep.add(href);
    return keep;
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
    await this.#idMap.preload({ guids: items.map((i) => i.href) });
    for (const item of items) {
      await this.#store.delete(item.href, item.etag);
      const entry = await this.#idMap.byGuid(item.href);
      if (entry) await this.#idMap.delete(entry.luid);
      s.stats.clientDeleted++;
    }
  }
}
