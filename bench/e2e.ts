// End-to-end timings with the real SyncEvolution client as the phone, the gateway in-process
// (embedded store) and a real Radicale: slow sync of N contacts, a no-change sync, and a
// refresh-from-server into a second, empty phone. Run: npx tsx bench/e2e.ts [N]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateContacts21, makeTempDir, sleep, startRadicale, SyncEvolutionClient } from '../test/support/index.js';
import { startTestGateway } from '../test/support/gateway.js';

export interface E2eFigures {
  slowSeconds: number;
  noChangeSeconds: number;
  refreshSeconds: number;
}

export async function e2eSlowSync(n: number, wbxml: boolean): Promise<E2eFigures> {
  const dir = makeTempDir('bench-e2e');
  const dav = await startRadicale();
  // The test gateway's default mapping: alice, passthrough, one address book on this Radicale.
  const gw = await startTestGateway({ dav, settings: { logLevel: 'warn', authCacheSeconds: 60 } });
  try {
    const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
      dir: path.join(dir, id), deviceId: `bench-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      wbxml, legacy: true, datastores: { contacts: 'contacts' },
    });
    const a = phone('a');
    for (const c of generateContacts21(n, 5)) a.writeItem('contacts', c.name, c.text);
    const slow = await a.sync('slow', { only: ['contacts'] });
    if (slow.exitCode !== 0) throw new Error(`slow sync failed: ${slow.output.slice(-500)}`);
    await sleep(1100);
    const none = await a.sync('two-way', { only: ['contacts'] });
    const b = phone('b');
    const refresh = await b.sync('refresh-from-server', { only: ['contacts'] });
    if ((refresh.datastores['contacts']?.localNew ?? 0) !== n) throw new Error(`refresh-from-server brought ${JSON.stringify(refresh.datastores['contacts'])} (exit ${refresh.exitCode}): ${refresh.output.slice(-800)}`);
    return { slowSeconds: slow.wallSeconds, noChangeSeconds: none.wallSeconds, refreshSeconds: refresh.wallSeconds };
  } finally {
    await gw.close();
    await dav.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const n = Number(process.argv[2]) || 100;
  for (const wbxml of [false, true]) console.log(wbxml ? 'WBXML' : 'XML', await e2eSlowSync(n, wbxml));
  process.exit(0);
}
