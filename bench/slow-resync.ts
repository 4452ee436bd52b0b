// A forced slow sync of a phone whose items the gateway already knows (after a 508, a restored
// phone, a reset device): every item is compared with its server copy. Prints wall time and the
// number of DAV requests the gateway made. Run: npx tsx bench/slow-resync.ts [N]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateContacts21, makeTempDir, sleep, startRadicale, SyncEvolutionClient } from '../test/support/index.js';
import { startTestGateway } from '../test/support/gateway.js';

export async function slowResync(n: number): Promise<{ firstSlowS: number; resyncS: number; resyncDavRequests: number }> {
  const dir = makeTempDir('bench-resync');
  const dav = await startRadicale();
  // Count the gateway's DAV requests by wrapping fetch for this process.
  let davRequests = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    if (String(input instanceof Request ? input.url : input).startsWith(dav.baseUrl)) davRequests++;
    return realFetch(input, init);
  }) as typeof fetch;
  const gw = await startTestGateway({ dav, settings: { logLevel: 'warn', authCacheSeconds: 600 } });
  try {
    const phone = new SyncEvolutionClient({
      dir: path.join(dir, 'phone'), url: gw.url, user: 'alice', password: dav.password, auth: 'basic', legacy: true, datastores: { contacts: 'contacts' },
    });
    for (const c of generateContacts21(n, 9)) phone.writeItem('contacts', c.name, c.text);
    const first = await phone.sync('slow', { only: ['contacts'] });
    if (first.exitCode !== 0) throw new Error(first.output.slice(-500));
    await sleep(1100);
    davRequests = 0;
    const again = await phone.sync('slow', { only: ['contacts'] });
    if (again.exitCode !== 0) throw new Error(again.output.slice(-500));
    return { firstSlowS: first.wallSeconds, resyncS: again.wallSeconds, resyncDavRequests: davRequests };
  } finally {
    globalThis.fetch = realFetch;
    await gw.close();
    await dav.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(await slowResync(Number(process.argv[2]) || 300));
  process.exit(0);
}
