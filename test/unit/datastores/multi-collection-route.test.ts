// MultiCollectionStore over collections of different kinds (a phone calendar holding events and
// to-dos): creates are routed by content, everything else by href.
import assert from 'node:assert/strict';
import type { DataStore, ItemKind, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import { MultiCollectionStore } from '../../../src/datastores/multi-collection-store.js';

function memory(kind: ItemKind, collectionUrl: string): DataStore & { items: Map<string, string> } {
  const items = new Map<string, string>();
  const path = new URL(collectionUrl).pathname;
  return {
    kind, collectionUrl, items,
    async list(): Promise<Listing> { return { items: [...items.keys()].map((href) => ({ href, etag: '"1"' })) }; },
    async fetch(hrefs: readonly string[]): Promise<StoredItem[]> { return hrefs.filter((h) => items.has(h)).map((h) => ({ href: h, etag: '"1"', data: items.get(h)! })); },
    async create(data: string, name: string): Promise<ItemRef> { items.set(`${path}${name}.ics`, data); return { href: `${path}${name}.ics`, etag: '"1"' }; },
    async update(href: string, data: string): Promise<ItemRef> { items.set(href, data); return { href, etag: '"2"' }; },
    async delete(href: string): Promise<void> { items.delete(href); },
  };
}

describe('MultiCollectionStore with routeCreate (events + to-dos)', function () {
  const event = 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
  const todo = 'BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';

  it('refuses mixed kinds without a router, routes creates by content with one, and the rest by href', async function () {
    const events = memory('events', 'http://dav.test/alice/calendar/');
    const tasks = memory('tasks', 'http://dav.test/alice/tasks/');
    assert.throws(() => new MultiCollectionStore([events, tasks]), /one kind/);
    const store = new MultiCollectionStore([events, tasks], { routeCreate: (d) => (/^BEGIN:VTODO/m.test(d) ? 1 : 0) });
    const e = await store.create(event, 'e');
    const t = await store.create(todo, 't');
    assert.equal(e.href, '/alice/calendar/e.ics');
    assert.equal(t.href, '/alice/tasks/t.ics');
    assert.deepEqual((await store.list()).items.map((i) => i.href).sort(), ['/alice/calendar/e.ics', '/alice/tasks/t.ics']);
    await store.update(t.href, todo.replace('UID:t', 'UID:t2'));
    assert.match(tasks.items.get(t.href)!, /UID:t2/);
    await store.delete(e.href);
    assert.equal(events.items.size, 0);
  });
});
