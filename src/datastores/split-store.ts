// One phone datastore that mixes events and to-dos (Nokia, UIQ/Sony Ericsson "Calendar") over
// two collections: VEVENTs in one, VTODOs in the other. Listing merges both; writes are routed
// by the item's component (create) or by which collection the href belongs to.
import type { DataStore, ItemKind, ItemRef, Listing, StoredItem } from './datastore.js';

export class ComponentSplitStore implements DataStore {
  readonly kind: ItemKind = 'events';
  readonly collectionUrl: string;
  readonly #events: DataStore;
  readonly #tasks: DataStore;

  constructor(events: DataStore, tasks: DataStore) {
    this.#events = events;
    this.#tasks = tasks;
    this.collectionUrl = events.collectionUrl;
  }

  #storeFor(href: string): DataStore {
    const tasksPath = new URL(this.#tasks.collectionUrl).pathname;
    return decodeURIComponent(href).startsWith(decodeURIComponent(tasksPath)) ? this.#tasks : this.#events;
  }

  async list(): Promise<Listing> {
    const [e, t] = await Promise.all([this.#events.list(), this.#tasks.list()]);
    // No single version for two collections: change detection falls back to ETag listing.
    return { items: [...e.items, ...t.items] };
  }

  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    const forTasks = hrefs.filter((h) => this.#storeFor(h) === this.#tasks);
    const forEvents = hrefs.filter((h) => this.#storeFor(h) === this.#events);
    const [e, t] = await Promise.all([
      forEvents.length ? this.#events.fetch(forEvents) : [],
      forTasks.length ? this.#tasks.fetch(forTasks) : [],
    ]);
    return [...e, ...t];
  }

  create(data: string, nameHint: string): Promise<ItemRef> {
    return (/^BEGIN:VTODO/im.test(data) ? this.#tasks : this.#events).create(data, nameHint);
  }

  update(href: string, data: string, ifMatch?: string): Promise<ItemRef> {
    return this.#storeFor(href).update(href, data, ifMatch);
  }

  delete(href: string, ifMatch?: string): Promise<void> {
    return this.#storeFor(href).delete(href, ifMatch);
  }
}
