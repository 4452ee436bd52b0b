// The ID map is written once per client command, not once per item: a Sync of many Adds and a Map
// of many MapItems each reach the state store as one putMapEntries (issue 15: per-item state
// writes were the sync layer's largest cost in a slow sync and a refresh).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountMapping } from '../../../src/accounts/mappings.js';
import type { ItemCmd, MapCmd, SyncCmd } from '../../../src/codec/model.js';
import { createLogger } from '../../../src/logger.js';
import { onMap } from '../../../src/protocol/commands/map.js';
import { onSync } from '../../../src/protocol/commands/sync.js';
import type { EngineDeps } from '../../../src/protocol/message-context.js';
import { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import { contactsTranslator } from '../../../src/sync/translators.js';
import { context, CountingStateStore, datastore, MemoryDataStore, session } from './support.js';



const card21 = (i: number): string => `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person${i};Test\r\nFN:Test Person${i}\r\nTEL;CELL:+49170${i}\r\nEND:VCARD\r\n`;

describe('protocol: one map write per Sync and per Map command', function () {
  let state: CountingStateStore;
  const key = { account: 'alice', deviceId: 'IMEI:1', datastore: 'contacts' };
  const mapping = { account: 'alice', datastores: [{ name: 'contacts', kind: 'contacts', refreshGuard: { maxShare: 0.5, allow: false } }] } as unknown as AccountMapping;

  beforeEach(function () {
    state = new CountingStateStore({ stateDir: mkdtempSync(path.join(tmpdir(), 'map-writes-')) });
  });
  afterEach(async function () {
    await state.close();
  });

  it('a slow-sync Sync of 30 Adds writes its 30 map entries in one state write', async function () {
    const store = new MemoryDataStore();
    const ds = datastore({ mode: 'slow', clientDone: false });
    const sync = new DatastoreSync(store, state, key, contactsTranslator, createLogger('silent'));
    const ctx = { ...context(session([ds]), sync, 100_000), mapping, deps: { state } as unknown as EngineDeps };
    const adds: ItemCmd[] = Array.from({ length: 30 }, (_, i) => ({ kind: 'Add', cmdId: String(10 + i), items: [{ source: { locURI: `L${i}` }, data: card21(i) }] }));
    const cmd: SyncCmd = { kind: 'Sync', cmdId: '5', target: { locURI: 'contacts' }, source: { locURI: './contacts' }, commands: adds };
    await onSync(ctx, cmd);
    const built = ctx.reply.build(ctx.msg.header, '1.2').body;
    const codes = built.flatMap((c) => (c.kind === 'Status' && c.cmd === 'Add' ? [c.data] : []));
    assert.deepEqual(codes, Array(30).fill('201'));
    assert.equal(store.items.size, 30);
    assert.deepEqual(state.puts, [30]);
    assert.equal((await state.getMap(key)).length, 30);
  });

  it('a Map of 30 MapItems is one state write', async function () {
    const awaitingMap = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`/c/${i}.vcf`, { op: 'Add' as const, href: `/c/${i}.vcf`, etag: '"1"' }]));
    const ds = datastore({ mode: 'refresh-from-server', awaitingMap });
    const sync = new DatastoreSync(new MemoryDataStore(), state, key, contactsTranslator, createLogger('silent'));
    const ctx = { ...context(session([ds]), sync, 100_000), mapping, deps: { state } as unknown as EngineDeps };
    const cmd: MapCmd = {
      kind: 'Map', cmdId: '7', target: { locURI: 'contacts' }, source: { locURI: './contacts' },
      mapItems: Object.keys(awaitingMap).map((guid, i) => ({ target: { locURI: guid }, source: { locURI: `L${i}` } })),
    };
    await onMap(ctx, cmd);
    assert.deepEqual(state.puts, [30]);
    assert.equal((await state.getMap(key)).length, 30);
    assert.deepEqual(ds.awaitingMap, {});
  });
});
