// Memory of a refresh-from-server at large N without the slow sync before it (issue #15): the
// contacts are written straight into Radicale's storage folder (a slow sync of 10,000 contacts
// through Radicale takes longer than this machine allows), then a new phone (SyncEvolution) asks
// for refresh-from-server, then makes a two-way sync with no change. The gateway runs as its own
// process (dist/, `npm run build` first), measured as in `e2e-phases.ts --memory --process`.
// Not a test. Run: npx tsx bench/refresh-memory.ts [N ...]   (default 1000 3000 10000)
// BENCH_GATEWAY_NODE_FLAGS adds node options to the gateway process.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { convertContact } from '../src/convert/contacts.js';
import { generateContacts21, makeTempDir, startRadicale, SyncEvolutionClient } from '../test/support/index.js';
import { spawnMeasuredGateway } from './e2e-phases.js';

const mb = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;

async function refreshRun(n: number): Promise<Record<string, string>> {
  const dav = await startRadicale();
  const gw = await spawnMeasuredGateway(dav);
  try {
    const folder = path.join(dav.storageDir, 'contacts');
    mkdirSync(folder, { recursive: true });
    for (const [i, c] of generateContacts21(n, 5).entries()) {
      writeFileSync(path.join(folder, `r${i}.vcf`), convertContact(c.text, 'vcard30').replace('BEGIN:VCARD\r\n', `BEGIN:VCARD\r\nUID:refresh-${i}\r\n`));
    }
    const phone = new SyncEvolutionClient({
      dir: path.join(makeTempDir('refresh-memory'), 'b'), deviceId: 'refresh-b', url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      wbxml: false, legacy: true, datastores: { contacts: 'contacts' }, timeoutMs: 3_600_000,
    });
    const rows: Record<string, string> = {};
    for (const [name, mode] of [['refresh', 'refresh-from-server'], ['noChange', 'two-way']] as const) {
      await gw.startPhase();
      const r = await phone.sync(mode, { only: ['contacts'] });
      if (r.exitCode !== 0) throw new Error(`${name} failed: ${r.output.slice(-1500)}`);
      const g = await gw.endPhase();
      const d = g.atPeak;
      rows[`N=${n} ${name}: wall s / CPU ms per item (main thread) / peak RSS / heap before / peak heap / peak heapTotal MB`] = `${r.wallSeconds.toFixed(1)} / ${(g.cpuMs / (name === 'refresh' ? n : 1)).toFixed(2)} (${(g.mainThreadCpuMs / (name === 'refresh' ? n : 1)).toFixed(2)}) / ${mb(g.rss)} / ${mb(g.base)} / ${mb(g.heap)} / ${mb(g.heapTotal)}`;
      rows[`N=${n} ${name} at the RSS peak: RssFile / RssAnon / V8 physical / non-V8 anon / brk heap / heapUsed MB; threads`] = `${[d.rssFile, d.rssAnon, d.v8Physical, d.rssAnon - d.v8Physical, d.brkHeap, d.heapUsed].map(mb).join(' / ')}; ${d.threads}`;
    }
    rows[`N=${n} load average`] = loadavg().map((x) => x.toFixed(2)).join(' ');
    return rows;
  } finally {
    await gw.close();
    await dav.dispose();
  }
}

const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; flags: ${process.env['BENCH_GATEWAY_NODE_FLAGS'] ?? '(none)'}`);
for (const n of sizes.length ? sizes : [1000, 3000, 10000]) console.log(await refreshRun(n));
process.exit(0);
