// The device's Status confirmations of server changes (Replace, Delete) against the SQLite state
// store: N confirmations in client messages of 100 Status commands each, through the dispatch
// (runCommands), as in a two-way sync where the server sent N changes. Prints wall and CPU per
// confirmation and the number of map writes. Not a test. Run: npx tsx bench/confirm-writes.ts [N]
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { StatusCmd } from '../src/codec/model.js';
import type { DataStore } from '../src/datastores/datastore.js';
import { createLogger } from '../src/logger.js';
import { runCommands } from '../src/protocol/dispatch.js';
import type { SessionState } from '../src/protocol/session.js';
import type { DatastoreKey, MapEntry } from '../src/state/state-store.js';
import { SqliteStateStore } from '../src/state/sqlite-store.js';
import { DatastoreSync } from '../src/sync/datastore-sync.js';
import { contactsTranslator } from '../src/sync/translators.js';
import { context, datastore, session } from '../test/unit/protocol/support.js';

class CountingState extends SqliteStateStore {
  writes = 0;
  override putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    this.writes++;
    return super.putMapEntries(key, entries);
  }
  override deleteMapEntries(key: DatastoreKey, luids: readonly string[]): Promise<void> {
    this.writes++;
    return super.deleteMapEntries(key, luids);
  }
}

const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 2000;
const PER_MESSAGE = 100;
const state = new CountingState({ stateDir: mkdtempSync(path.join(tmpdir(), 'confirm-bench-')) });
const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
await state.putMapEntries(key, Array.from({ length: n }, (_, i) => ({ luid: `L${i}`, guid: `/alice/contacts/${i}.vcf`, etag: '"1"', hash: 'h'.repeat(32), fields: 'f'.repeat(200) })));
state.writes = 0;
const sent: SessionState['sent'] = {};
for (let i = 0; i < n; i++) {
  sent[`4:${10 + i}:0`] = i % 2 === 0
    ? { ds: 'contacts', op: 'Replace', href: `/alice/contacts/${i}.vcf`, luid: `L${i}`, etag: '"2"', hash: 'g'.repeat(32), fields: 'f'.repeat(200) }
    : { ds: 'contacts', op: 'Delete', href: `/alice/contacts/${i}.vcf`, luid: `L${i}` };
}
const sess = session([datastore()], { sent });
const sync = new DatastoreSync({} as DataStore, state, key, contactsTranslator, createLogger('silent'));
const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let m = 0; m < n; m += PER_MESSAGE) {
  const statuses: StatusCmd[] = [];
  for (let i = m; i < Math.min(n, m + PER_MESSAGE); i++) {
    statuses.push({ kind: 'Status', cmdId: String(i), msgRef: '4', cmdRef: String(10 + i), cmd: i % 2 === 0 ? 'Replace' : 'Delete', data: '200', targetRefs: [], sourceRefs: [], items: [] });
  }
  await runCommands(context(sess, sync, 1_000_000), statuses);
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(`  confirmations ${n} (half Replace, half Delete), ${PER_MESSAGE} per message; load ${load0}`);
console.log(`  wall ms per confirmation ${(wall / n).toFixed(3)}, CPU ms per confirmation ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)}, map writes ${state.writes}, left in map ${(await state.getMap(key)).length}`);
await state.close();
