// State store throughput for a 5,000-item slow sync: map writes per second (50 per call as a
// sync engine batches them, and one per call), map reads, and Redis memory per mapped item.
// Run: npx tsx bench/state.ts (Redis figures need redis-server on PATH; a private one is started).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { RedisStateStore } from '../src/state/redis-store.js';
import { SqliteStateStore } from '../src/state/sqlite-store.js';
import type { DatastoreKey, MapEntry, StateStore } from '../src/state/state-store.js';
import { findBinary } from '../test/support/processes.js';
import { startRedis } from '../test/support/redis.js';

const ITEMS = 5000;

/** Realistic entry sizes: Nextcloud-style hrefs, quoted ETags, an MD5-sized content hash. */
function entries(n: number): MapEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    luid: String(1000 + i),
    guid: `/remote.php/dav/addressbooks/users/alice/contacts/${randomUUID()}.vcf`,
    etag: `"${randomUUID().replace(/-/g, '').slice(0, 16)}"`,
    hash: randomUUID().replace(/-/g, ''),
  }));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Figures for one store: writes/s batched and one-by-one, reads/s via getMap, commit time. */
async function measure(store: StateStore, prefix: string, out: Record<string, number>): Promise<void> {
  const items = entries(ITEMS);
  const key = (ds: string): DatastoreKey => ({ account: `bench-${randomUUID()}`, deviceId: 'IMEI:1', datastore: ds });

  const kb = key('contacts');
  const batched = await timed(async () => {
    for (let i = 0; i < items.length; i += 50) await store.putMapEntries(kb, items.slice(i, i + 50));
  });
  out[`${prefix}.mapWrites.batch50.perSec`] = Math.round(ITEMS / batched);

  const ks = key('contacts');
  const single = await timed(async () => {
    for (const e of items) await store.putMapEntries(ks, [e]);
  });
  out[`${prefix}.mapWrites.single.perSec`] = Math.round(ITEMS / single);

  const rounds = 5;
  const reads = await timed(async () => {
    for (let r = 0; r < rounds; r++) if ((await store.getMap(kb)).length !== ITEMS) throw new Error('short map');
  });
  out[`${prefix}.mapReads.getMap.perSec`] = Math.round((ITEMS * rounds) / reads);

  // End of a slow sync: anchors plus the whole map in one atomic commit.
  const kc = key('contacts');
  out[`${prefix}.commitAnchors.5000items.ms`] = Math.round(
    (await timed(() => store.commitAnchors(kc, { client: 'c', server: 's' }, { put: items }))) * 1000,
  );
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  const m = /used_memory:(\d+)/.exec(info);
  if (!m) throw new Error('INFO memory without used_memory');
  return Number(m[1]);
}

export async function benchState(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};

  for (const sync of ['NORMAL', 'FULL'] as const) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sgw-bench-state-'));
    const store = new SqliteStateStore({ stateDir: dir, synchronous: sync });
    try {
      await measure(store, `sqlite.${sync.toLowerCase()}`, out);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (!findBinary('redis-server')) {
    console.error('bench/state: redis-server not installed, Redis figures skipped');
    return out;
  }
  const h = await startRedis();
  const store = await RedisStateStore.open({ url: h.url });
  const raw = new Redis(h.port, '127.0.0.1');
  try {
    await measure(store, 'redis', out);
    // Memory: one fresh 5,000-item map (map hash + reverse GUID hash), INFO before/after.
    const before = await usedMemory(raw);
    await store.putMapEntries({ account: 'mem', deviceId: 'IMEI:1', datastore: 'contacts' }, entries(ITEMS));
    out['redis.memoryPerMappedItem.bytes'] = Math.round(((await usedMemory(raw)) - before) / ITEMS);
  } finally {
    raw.disconnect();
    await store.close();
    await h.dispose();
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const figures = await benchState();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(40)} ${v}`);
}
