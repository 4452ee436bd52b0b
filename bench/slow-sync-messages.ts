// The gateway's own work in a slow sync, message by message, without a DAV server or a phone:
// the real Sync command (protocol/commands/sync.ts), sync layer and embedded SQLite state store,
// a collection in memory. N vCard 2.1 Adds arrive in messages of M; half of them match items the
// server already has. Between messages the session is saved and read back as the runner does
// (putSession/getSession). Prints CPU per item for the first and the last tenth of the messages
// (work that grows with what came before shows as a rising ratio), the largest saved session,
// whole-map reads, and the peak heap. Same file runs on an older tree (it uses no new API), so
// before/after is one command in two checkouts. Not a test.
// Run: npx tsx bench/slow-sync-messages.ts [N=10000] [M=400]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountMapping } from '../src/accounts/mappings.js';
import type { ItemCmd, SyncCmd } from '../src/codec/model.js';
import { createLogger } from '../src/logger.js';
import { onSync } from '../src/protocol/commands/sync.js';
import type { EngineDeps } from '../src/protocol/message-context.js';
import { DatastoreSync } from '../src/sync/datastore-sync.js';
import { contactsTranslator } from '../src/sync/translators.js';
import { context, CountingStateStore, datastore, MemoryDataStore, session } from '../test/unit/protocol/support.js';



const card21 = (i: number): string => `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person${i};Test\r\nFN:Test Person${i}\r\nTEL;CELL:+49170${i}\r\nEMAIL;INTERNET:p${i}@example.org\r\nEND:VCARD\r\n`;
const card30 = (i: number): string => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:srv-${i}\r\nN:Person${i};Test;;;\r\nFN:Test Person${i}\r\nTEL;TYPE=CELL:+49170${i}\r\nEMAIL:p${i}@example.org\r\nEND:VCARD\r\n`;
const mb = (b: number): string => (b / 2 ** 20).toFixed(1);

export async function benchSlowSyncMessages(n: number, perMessage: number): Promise<Record<string, string>> {
  const state = new CountingStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'bench-slow-msgs-')) });
  const store = new MemoryDataStore((_hint, n) => `/alice/contacts/${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000.vcf`);
  for (let i = 0; i < n / 2; i++) store.items.set(`/alice/contacts/srv-${String(i).padStart(6, '0')}.vcf`, card30(i));
  const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
  const mapping = { account: 'alice', datastores: [{ name: 'contacts', kind: 'contacts', refreshGuard: { maxShare: 0.5, allow: false } }] } as unknown as AccountMapping;
  await state.putSession('token', session([datastore({ mode: 'slow', clientDone: false })]), 3600);
  let peakHeap = 0;
  const sample = (): void => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 5);
  const cpuPerMessage: number[] = [];
  let largestSession = 0;
  let cmdId = 10;
  for (let from = 0; from < n; from += perMessage) {
    const c0 = process.cpuUsage();
    const sess = (await state.getSession<ReturnType<typeof session>>('token'))!;
    const sync = new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent'), {
      conflict: 'newer-wins', queue: { sessionKey: 'token', ttlSeconds: 3600 },
    });
    const ctx = { ...context(sess, sync, 10_000_000), mapping, deps: { state } as unknown as EngineDeps };
    const adds: ItemCmd[] = [];
    for (let i = from; i < Math.min(from + perMessage, n); i++) adds.push({ kind: 'Add', cmdId: String(cmdId++), items: [{ source: { locURI: String(i + 1) }, data: card21(i) }] });
    await onSync(ctx, { kind: 'Sync', cmdId: '5', target: { locURI: 'contacts' }, source: { locURI: './contacts' }, commands: adds } as SyncCmd);
    ctx.reply.build(ctx.msg.header, '1.2');
    largestSession = Math.max(largestSession, Buffer.byteLength(JSON.stringify(sess)));
    await state.putSession('token', sess, 3600);
    sample();
    const c = process.cpuUsage(c0);
    cpuPerMessage.push((c.user + c.system) / 1000);
  }
  const readsDuringSync = state.wholeMapReads;
  const c0 = process.cpuUsage();
  const sess = (await state.getSession<ReturnType<typeof session>>('token'))!;
  const ds = sess.datastores[0]!;
  ds.clientDone = true;
  const sync = new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent'), { conflict: 'newer-wins', queue: { sessionKey: 'token', ttlSeconds: 3600 } });
  await sync.computeOutgoing(ds);
  const c = process.cpuUsage(c0);
  clearInterval(timer);
  sample();
  const tenth = Math.max(1, Math.floor(cpuPerMessage.length / 10));
  const perItem = (ms: number[]): string => (ms.reduce((a, b) => a + b, 0) / (ms.length * perMessage)).toFixed(3);
  await state.close();
  return {
    items: `${n} (${n / 2} on the server, ${cpuPerMessage.length} messages of ${perMessage})`,
    'CPU ms per item, all / first tenth / last tenth of the messages': `${perItem(cpuPerMessage)} / ${perItem(cpuPerMessage.slice(0, tenth))} / ${perItem(cpuPerMessage.slice(-tenth))}`,
    'end of package (change detection) CPU ms': ((c.user + c.system) / 1000).toFixed(0),
    'largest saved session, bytes': String(largestSession),
    'whole-map reads during the Sync messages': String(readsDuringSync),
    'peak heapUsed MB (sampled)': mb(peakHeap),
    'matched / added': `${ds.stats.matched} / ${ds.stats.clientAdded}`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n = 10000, m = 400] = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
  const rows = await benchSlowSyncMessages(n, m);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(66)} ${v}`);
}
