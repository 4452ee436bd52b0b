// End-to-end phases with the real SyncEvolution client -> gateway (in this process, embedded
// store) -> Radicale, N vCard 2.1 contacts: slow sync, 20 changes, no change, refresh-from-server
// into a second phone. Per phase: wall, gateway CPU (process.cpuUsage of this process: the client
// and Radicale are other processes), DAV requests; peak RSS. Two DAV paths in one run: node:http
// with deferred ETags (now) and fetch/undici with an ETag read per ETag-less write (before).
// The floor is Radicale's own speed: N sequential PUTs on one keep-alive socket, same run.
// Not a test. Run: npx tsx bench/e2e-phases.ts [N]
import http from 'node:http';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { convertContact } from '../src/convert/contacts.js';
import { generateContacts21, makeTempDir, mutateContact, sleep, startRadicale, SyncEvolutionClient } from '../test/support/index.js';
import type { DavServerHandle } from '../test/support/index.js';
import { startTestGateway } from '../test/support/gateway.js';

export interface Phase { wallS: number; cpuMsPerItem: number; requests: number }
export interface E2eRun { slow: Phase; changes20: Phase; noChange: Phase; refresh: Phase; peakRssMb: number }

/** Radicale's floor: N sequential PUTs of the converted contacts, no gateway code. */
export async function putFloor(dav: DavServerHandle, texts: string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = `Basic ${Buffer.from(`${dav.user}:${dav.password}`).toString('base64')}`;
  const base = new URL(dav.collections.contacts.replace(/contacts\/$/, 'floor/'));
  await dav.request('MKCOL', base.toString(), {
    headers: { 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>',
  });
  const t0 = performance.now();
  for (const [i, text] of texts.entries()) {
    const body = Buffer.from(text);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ method: 'PUT', host: base.hostname, port: base.port, path: `${base.pathname}f${i}.vcf`, agent, headers: { Authorization: auth, 'Content-Type': 'text/vcard; charset=utf-8', 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`floor PUT ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  agent.destroy();
  return (performance.now() - t0) / 1000;
}

export async function e2ePhases(n: number, before: boolean): Promise<E2eRun> {
  const dir = makeTempDir('bench-phases');
  const dav = await startRadicale();
  let requests = 0;
  const gw = await startTestGateway({
    dav, settings: { logLevel: 'warn', authCacheSeconds: 600 },
    davClient: { onRequest: () => requests++, ...(before ? { fetch: globalThis.fetch, deferEtag: false } : {}) },
  });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
      dir: path.join(dir, id), deviceId: `phases-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      wbxml: false, legacy: true, datastores: { contacts: 'contacts' },
    });
    const phase = async (items: number, run: () => Promise<{ exitCode: number; wallSeconds: number; output: string }>): Promise<Phase> => {
      const r0 = requests;
      const c0 = process.cpuUsage();
      const r = await run();
      const c = process.cpuUsage(c0);
      if (r.exitCode !== 0) throw new Error(`sync failed: ${r.output.slice(-400)}`);
      return { wallS: r.wallSeconds, cpuMsPerItem: (c.user + c.system) / 1000 / items, requests: requests - r0 };
    };
    const a = phone('a');
    const contacts = generateContacts21(n, 5);
    for (const c of contacts) a.writeItem('contacts', c.name, c.text);
    const slow = await phase(n, () => a.sync('slow', { only: ['contacts'] }));
    await sleep(1100);
    for (const c of contacts.slice(0, 20)) a.writeItem('contacts', c.name, mutateContact(c.text).text);
    const changes20 = await phase(20, () => a.sync('two-way', { only: ['contacts'] }));
    await sleep(1100);
    const noChange = await phase(1, () => a.sync('two-way', { only: ['contacts'] }));
    const b = phone('b');
    const refresh = await phase(n, () => b.sync('refresh-from-server', { only: ['contacts'] }));
    return { slow, changes20, noChange, refresh, peakRssMb: Math.round(peak / 2 ** 20) };
  } finally {
    clearInterval(sampler);
    await gw.close();
    await dav.dispose();
  }
}

/** Both DAV paths and the floor in one run, as rows for `npm run bench`. */
export async function benchE2ePhases(n: number): Promise<Record<string, number | string>> {
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const floorDav = await startRadicale();
  let floorS: number;
  try {
    floorS = await putFloor(floorDav, generateContacts21(n, 5).map((c, i) => convertContact(c.text, 'vcard30').replace('BEGIN:VCARD\r\n', `BEGIN:VCARD\r\nUID:floor-${i}\r\n`)));
  } finally {
    await floorDav.dispose();
  }
  const now = await e2ePhases(n, false);
  const before = await e2ePhases(n, true);
  const rows: Record<string, number | string> = { load_average: loadavg().map((x) => x.toFixed(2)).join(' '), 'floor.sequential_puts_s': r2(floorS) };
  for (const [label, r] of [['now', now], ['before (fetch, ETag reads)', before]] as const) {
    for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) {
      rows[`${label}.${p}: wall s / CPU ms per item / DAV requests`] = `${r2(r[p].wallS)} / ${r2(r[p].cpuMsPerItem)} / ${r[p].requests}`;
    }
    rows[`${label}.peak_rss_mb`] = r.peakRssMb;
  }
  rows['ratio slow-sync wall now : floor'] = `${r2(now.slow.wallS / floorS)} : 1`;
  rows['ratio slow-sync CPU before : now'] = `${r2(before.slow.cpuMsPerItem / now.slow.cpuMsPerItem)} : 1`;
  rows['ratio refresh CPU before : now'] = `${r2(before.refresh.cpuMsPerItem / now.refresh.cpuMsPerItem)} : 1`;
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const rows = await benchE2ePhases(Number(process.argv[2]) || 1000);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(64)} ${v}`);
  process.exit(0);
}
