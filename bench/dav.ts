// DAV change detection on a 5,000-contact Radicale collection: requests and time for a
// no-change check and a 20-change check, by full listing (list() + ETag compare + multiget)
// and by RFC 6578 sync-collection (changesSince(token) + multiget). Run: npx tsx bench/dav.ts
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDavStore } from '../src/datastores/index.js';
import type { DavStore, ItemRef } from '../src/datastores/index.js';
import { startRadicale } from '../test/support/dav-servers.js';

const ITEMS = 5000;
const CHANGES = 20;

const vcard = (i: number, rev = 0): string =>
  [
    'BEGIN:VCARD', 'VERSION:3.0', `UID:bench-${i}`, `FN:Contact ${i}${rev ? ` rev${rev}` : ''}`, `N:${i};Contact;;;`,
    `TEL;TYPE=CELL:+4917${String(1000000 + i)}`, `EMAIL:contact${i}@example.org`, 'END:VCARD', '',
  ].join('\r\n');

async function measure<T>(store: DavStore, fn: () => Promise<T>): Promise<{ value: T; requests: number; ms: number }> {
  const before = store.client.requestCount;
  const t0 = performance.now();
  const value = await fn();
  return { value, requests: store.client.requestCount - before, ms: Math.round(performance.now() - t0) };
}

/** Hrefs whose ETag differs from (or is missing in) `old`. */
function changedSince(old: readonly ItemRef[], now: readonly ItemRef[]): string[] {
  const prev = new Map(old.map((i) => [i.href, i.etag]));
  return now.filter((i) => prev.get(i.href) !== i.etag).map((i) => i.href);
}

export async function benchDav(): Promise<Record<string, number>> {
  const server = await startRadicale();
  try {
    // Creating 5,000 items by PUT takes minutes in Radicale: write its storage directly
    // (one file per item, the file name is the href segment) while it is stopped.
    await server.stop();
    const folder = path.join(server.storageDir, 'contacts');
    for (let i = 0; i < ITEMS; i++) writeFileSync(path.join(folder, `bench-${i}.vcf`), vcard(i));
    rmSync(path.join(folder, '.Radicale.cache'), { recursive: true, force: true });
    await server.start();
    const store = createDavStore({
      kind: 'contacts',
      collectionUrl: server.collections.contacts,
      credentials: { username: server.user, password: server.password },
      // Radicale parses every file on the first listing after a start: minutes on a busy box.
      timeoutMs: 600_000,
      retry: false,
    });
    const warm = await measure(store, () => store.list()); // Radicale builds its item cache here
    if (warm.value.items.length !== ITEMS) throw new Error(`expected ${ITEMS} items, listed ${warm.value.items.length}`);
    const l0 = await store.list();
    const token = l0.version ?? '';
    if (!token.startsWith('http')) throw new Error(`no sync-token from Radicale (${token})`);

    const r: Record<string, number> = { items: ITEMS, first_list_ms: warm.ms };
    const noList = await measure(store, () => store.list());
    const noSync = await measure(store, () => store.changesSince(token));
    r.nochange_list_requests = noList.requests;
    r.nochange_list_ms = noList.ms;
    r.nochange_sync_requests = noSync.requests;
    r.nochange_sync_ms = noSync.ms;

    for (let i = 0; i < CHANGES; i++) {
      const n = i * Math.floor(ITEMS / CHANGES);
      await server.putItem('contacts', `bench-${n}.vcf`, vcard(n, 1));
    }
    const chList = await measure(store, async () => {
      const l = await store.list();
      return store.fetch(changedSince(l0.items, l.items));
    });
    const chSync = await measure(store, async () => {
      const c = await store.changesSince(token);
      return store.fetch(c.changed.map((x) => x.href));
    });
    if (chList.value.length !== CHANGES || chSync.value.length !== CHANGES) {
      throw new Error(`expected ${CHANGES} changes, got ${chList.value.length} / ${chSync.value.length}`);
    }
    r.change20_list_requests = chList.requests;
    r.change20_list_ms = chList.ms;
    r.change20_sync_requests = chSync.requests;
    r.change20_sync_ms = chSync.ms;
    return r;
  } finally {
    await server.dispose();
  }
}

function printTable(r: Record<string, number>): void {
  console.log(`DAV change detection, Radicale, ${r.items} contacts (first listing after start: ${r.first_list_ms} ms)`);
  console.log('check               method                      requests   time');
  const row = (check: string, method: string, key: string): void =>
    console.log(`${check.padEnd(20)}${method.padEnd(28)}${String(r[`${key}_requests`]).padStart(8)}${`${r[`${key}_ms`]} ms`.padStart(10)}`);
  row('no change', 'list() (PROPFIND Depth 1)', 'nochange_list');
  row('no change', 'changesSince(token)', 'nochange_sync');
  row(`${CHANGES} changed`, 'list() + multiget', 'change20_list');
  row(`${CHANGES} changed`, 'changesSince + multiget', 'change20_sync');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  printTable(await benchDav());
}
