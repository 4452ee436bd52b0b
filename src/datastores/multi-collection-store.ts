// One phone datastore drawing from several DAV collections (e.g. two address books, or the events
// and to-dos of a phone calendar): listings merge, creates go to one chosen collection (or the
// one `routeCreate` picks by content), updates and deletes route by href prefix.
import { GatewayError } from '../errors.js';
import type { DataStore, ItemKind, ItemRef, Listing, StoredItem } from './datastore.js';
import { supportsSyncCollection, SyncTokenInvalidError } from './dav-store.js';
import type { ChangeSet, SyncCollectionSupport } from './dav-store.js';
import { canonicalHref } from './href.js';

export interface MultiCollectionOptions {
  /** Index in `stores` of the collection that receives new items (default 0). */
  createIn?: number;
  /**
   * Pick the collection for a new item by its content (index in `stores`). Given when the
   * collections hold different kinds, e.g. VEVENTs in one and VTODOs in the other.
   */
  routeCreate?: (data: string) => number;
}

/**
 * Contract as DataStore. Hrefs are absolute paths, so they already say which collection an
 * item is in; an href under none of them is NOT_FOUND on update and ignored on delete.
 * `version`/sync-tokens are JSON objects keyed by collection URL, so one collection's change
 * never hides behind another's unchanged token.
 */
export class MultiCollectionStore implements DataStore, SyncCollectionSupport {
  readonly kind: ItemKind;
  readonly stores: readonly DataStore[];
  readonly #createIn: DataStore;
  readonly #routeCreate: ((data: string) => number) | undefined;
  readonly #paths: string[];

  constructor(stores: readonly DataStore[], opts: MultiCollectionOptions = {}) {
    if (stores.length === 0) throw new GatewayError('CONFIG_INVALID', 'MultiCollectionStore needs at least one collection');
    const kinds = new Set(stores.map((s) => s.kind));
    if (kinds.size > 1 && !opts.routeCreate) {
      throw new GatewayError('CONFIG_INVALID', `collections of one datastore must hold one kind, got ${[...kinds].join(', ')}`);
    }
    const idx = opts.createIn ?? 0;
    if (!Number.isInteger(idx) || idx < 0 || idx >= stores.length) {
      throw new GatewayError('CONFIG_INVALID', `createIn ${idx} is not one of the ${stores.length} collections`);
    }
    this.kind = stores[0].kind;
    this.stores = stores;
    this.#createIn = stores[idx];
    this.#routeCreate = opts.routeCreate;
    this.#paths = stores.map((s) => canonicalHref(s.collectionUrl, s.collectionUrl));
    for (let i = 0; i < this.#paths.length; i++) {
      for (let j = 0; j < this.#paths.length; j++) {
        if (i !== j && this.#paths[j].startsWith(this.#paths[i]) && sameOrigin(stores[i], stores[j])) {
          throw new GatewayError('CONFIG_INVALID', `collection ${stores[j].collectionUrl} lies inside ${stores[i].collectionUrl}`);
        }
      }
    }
  }

  /** The collection that receives creates: the others are reached by href. */
  get collectionUrl(): string {
    return this.#createIn.collectionUrl;
  }

  /** The store whose collection contains `href` (longest path prefix wins), if any. */
  storeFor(href: string): DataStore | undefined {
    let best: DataStore | undefined;
    let bestLen = -1;
    for (let i = 0; i < this.stores.length; i++) {
      const s = this.stores[i];
      const path = canonicalHref(href, s.collectionUrl);
      if (path.startsWith(this.#paths[i]) && this.#paths[i].length > bestLen) {
        best = s;
        bestLen = this.#paths[i].length;
      }
    }
    return best;
  }

  async list(): Promise<Listing> {
    const listings = await Promise.all(this.stores.map((s) => s.list()));
    const items = listings.flatMap((l) => l.items);
    // A version only when every collection has one: otherwise "unchanged" cannot be known.
    if (listings.every((l) => l.version !== undefined)) {
      const v: Record<string, string> = {};
      this.stores.forEach((s, i) => (v[s.collectionUrl] = listings[i].version!));
      return { items, version: JSON.stringify(v) };
    }
    return { items };
  }

  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    const groups = new Map<DataStore, string[]>();
    for (const h of hrefs) {
      const s = this.storeFor(h);
      if (!s) continue; // not ours: absent, like any missing item
      const g = groups.get(s) ?? [];
      g.push(h);
      groups.set(s, g);
    }
    const results = await Promise.all([...groups].map(([s, g]) => s.fetch(g)));
    return results.flat();
  }

  create(data: string, nameHint: string): Promise<ItemRef> {
    const target = this.#routeCreate ? this.stores[this.#routeCreate(data)] : this.#createIn;
    if (!target) return Promise.reject(new GatewayError('INVALID_ITEM', 'no collection of this datastore takes the item'));
    return target.create(data, nameHint);
  }

  update(href: string, data: string, ifMatch?: string): Promise<ItemRef> {
    const s = this.storeFor(href);
    if (!s) return Promise.reject(new GatewayError('NOT_FOUND', `${href} is in none of the datastore's collections`));
    return s.update(href, data, ifMatch);
  }

  async delete(href: string, ifMatch?: string): Promise<void> {
    await this.storeFor(href)?.delete(href, ifMatch);
  }

  /**
   * Per-collection sync-collection under one composite token. Any collection without the
   * capability makes the whole call NOT_SUPPORTED (the caller falls back to list()).
   */
  async changesSince(syncToken: string): Promise<ChangeSet> {
    let tokens: Record<string, string> = {};
    if (syncToken) {
      try {
        tokens = JSON.parse(syncToken) as Record<string, string>;
      } catch (err) {
        throw new SyncTokenInvalidError('not a multi-collection sync-token', { cause: err });
      }
    }
    const parts = await Promise.all(
      this.stores.map((s) => {
        if (!supportsSyncCollection(s)) {
          throw new GatewayError('NOT_SUPPORTED', `${s.collectionUrl} has no sync-collection`);
        }
        return s.changesSince(tokens[s.collectionUrl] ?? '');
      }),
    );
    const next: Record<string, string> = {};
    this.stores.forEach((s, i) => (next[s.collectionUrl] = parts[i].syncToken));
    return {
      changed: parts.flatMap((p) => p.changed),
      deleted: parts.flatMap((p) => p.deleted),
      syncToken: JSON.stringify(next),
    };
  }
}

function sameOrigin(a: DataStore, b: DataStore): boolean {
  return new URL(a.collectionUrl).origin === new URL(b.collectionUrl).origin;
}
