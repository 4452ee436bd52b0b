// One watcher per DAV collection: polls with the RFC 6578 sync-token (CTag/ETag listing as the
// fallback) and reports which items changed. Several gateway processes share the work through a
// lease in the state store; the cursor (token or ETags) is kept there too, so a process that
// takes over the lease continues where the last holder stopped.
import { needsFullListing, supportsSyncCollection, type DataStore } from '../datastores/datastore.js';
import type { StateStore } from '../state/state-store.js';

/** A changed item (`etag`) or a removed one (no `etag`). */
export interface CollectionChange {
  href: string;
  etag?: string;
}

interface Cursor {
  token?: string;
  version?: string;
  etags?: Record<string, string>;
}

const CURSOR_TTL_SECONDS = 90 * 24 * 3600;

/** Compare hrefs as paths: servers may answer absolute URLs or percent-encode differently. */
export function hrefKey(href: string): string {
  let p = href.replace(/^https?:\/\/[^/]+/i, '');
  try {
    p = decodeURIComponent(p);
  } catch {
    // keep as written
  }
  return p;
}

export class CollectionWatcher {
  readonly key: string;
  readonly #open: () => DataStore;
  readonly #state: StateStore;
  readonly #owner: string;
  readonly #leaseSeconds: number;
  #store?: DataStore;

  constructor(key: string, open: () => DataStore, state: StateStore, owner: string, leaseSeconds: number) {
    this.key = key;
    this.#open = open;
    this.#state = state;
    this.#owner = owner;
    this.#leaseSeconds = leaseSeconds;
  }

  /** Changes since the last poll (by any process); undefined when another process holds the lease. */
  async poll(): Promise<CollectionChange[] | undefined> {
    if (!(await this.#state.acquireLock({ account: 'push-watch', deviceId: this.key }, this.#owner, this.#leaseSeconds))) return undefined;
    this.#store ??= this.#open();
    const store = this.#store;
    const cursorKey = `push:cursor:${this.key}`;
    const cursor = await this.#state.getSession<Cursor>(cursorKey);
    let next: Cursor;
    let changes: CollectionChange[] = [];
    if (supportsSyncCollection(store) && (!cursor || cursor.token !== undefined)) {
      try {
        const cs = await store.changesSince(cursor?.token ?? '');
        if (cursor) changes = [...cs.changed.map((c) => ({ href: c.href, etag: c.etag })), ...cs.deleted.map((href) => ({ href }))];
        next = { token: cs.syncToken };
      } catch (err) {
        if (!needsFullListing(err)) throw err;
        ({ next, changes } = await this.#listing(store, undefined));
      }
    } else {
      ({ next, changes } = await this.#listing(store, cursor));
    }
    await this.#state.putSession(cursorKey, next, CURSOR_TTL_SECONDS);
    return changes;
  }

  /** Full listing compared with the ETags of the last one (first time: the baseline, no changes). */
  async #listing(store: DataStore, cursor: Cursor | undefined): Promise<{ next: Cursor; changes: CollectionChange[] }> {
    const listing = await store.list();
    const etags = Object.fromEntries(listing.items.map((i) => [i.href, i.etag]));
    const next: Cursor = { etags, ...(listing.version !== undefined ? { version: listing.version } : {}) };
    const before = cursor?.etags;
    if (!before) return { next, changes: [] };
    if (cursor.version !== undefined && cursor.version === listing.version) return { next, changes: [] };
    const changes: CollectionChange[] = listing.items.filter((i) => before[i.href] !== i.etag).map((i) => ({ href: i.href, etag: i.etag }));
    for (const href of Object.keys(before)) if (!(href in etags)) changes.push({ href });
    return { next, changes };
  }

  async release(): Promise<void> {
    await this.#state.releaseLock({ account: 'push-watch', deviceId: this.key }, this.#owner).catch(() => undefined);
  }
}
