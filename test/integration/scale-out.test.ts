// Scale-out: two gateway processes share one Redis behind an alternating loopback proxy (each
// POST goes to the other process), and SyncEvolution's contact scenarios still come out right;
// a Redis restart mid-session gives the phone a clear failure and the next session recovers.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import path from 'node:path';
import { contactKey, countKeys, duplicatesOf } from '../support/contact-keys.js';
import { spawnGateway, writeAliceMapping, type GatewayProcess } from '../support/gateway-process.js';
import {
  cellPhoneOf, generateContacts21, getFreePort, makeTempDir, mutateContact, sleep, startRadicale, startRedis, SyncEvolutionClient,
  waitUntil, type DavServerHandle, type RedisHandle, type SyncReport,
} from '../support/index.js';

interface AlternatingProxy {
  url: string;
  /** POSTs forwarded to each backend so far. */
  posts: number[];
  close(): Promise<void>;
}

/**
 * Round-robin reverse proxy on 127.0.0.1: request n goes to backend n % k. It forwards method,
 * path, headers and body unchanged; the phone stays on it because PUBLIC_URL (and so RespURI)
 * names the proxy.
 */
async function startAlternatingProxy(backends: number[]): Promise<AlternatingProxy> {
  const port = await getFreePort();
  const posts = backends.map(() => 0);
  let next = 0;
  const server: Server = createServer((req, res) => {
    const i = next++ % backends.length;
    if (req.method === 'POST') posts[i]!++;
    const up = request({ host: '127.0.0.1', port: backends[i], method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: backend ${i} failed: ${err.message}\n`);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/sync`,
    posts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Client messages sent so far in the sync whose log dir is not in `before`. */
function newLogDirMessages(phone: SyncEvolutionClient, before: Set<string>): number {
  const logs = path.join(phone.dir, 'logs');
  if (!existsSync(logs)) return 0;
  const dir = readdirSync(logs).map((d) => path.join(logs, d)).find((d) => !before.has(d));
  if (!dir) return 0;
  try {
    return readdirSync(dir).filter((f) => /_msg\d+_\d+_outgoing\.xml$/.test(f)).length;
  } catch {
    return 0;
  }
}

function logDirSet(phone: SyncEvolutionClient): Set<string> {
  const logs = path.join(phone.dir, 'logs');
  return new Set(existsSync(logs) ? readdirSync(logs).map((d) => path.join(logs, d)) : []);
}

describe('scale-out: two gateway processes, one Redis, alternating proxy (SyncEvolution, contacts)', function () {
  this.timeout(300_000);
  let dir: string;
  let redis: RedisHandle;
  let dav: DavServerHandle;
  let gws: GatewayProcess[];
  let proxy: AlternatingProxy;
  let phone: SyncEvolutionClient;

  const out = (r: SyncReport): string => r.output.slice(-3000);
  const serverKeys = async (): Promise<Map<string, number>> => countKeys((await dav.listItems('contacts')).map((i) => i.data));
  const phoneKeys = async (): Promise<Map<string, number>> => countKeys((await phone.readItems('contacts')).values());

  /** Both sides hold the same contacts, each once; returns how many. */
  async function assertSame(): Promise<number> {
    const [s, p] = await Promise.all([serverKeys(), phoneKeys()]);
    assert.deepEqual(duplicatesOf(s), [], 'duplicates in Radicale');
    assert.deepEqual(duplicatesOf(p), [], 'duplicates on the phone');
    assert.deepEqual([...p.keys()].sort(), [...s.keys()].sort(), 'phone and Radicale hold different contacts');
    return s.size;
  }

  /** Runs `fn` and returns how many POSTs each backend served meanwhile. */
  async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; posts: number[] }> {
    const before = [...proxy.posts];
    const result = await fn();
    return { result, posts: proxy.posts.map((n, i) => n - before[i]!) };
  }

  before(async function () {
    dir = makeTempDir('scale-out');
    [redis, dav] = await Promise.all([startRedis(), startRadicale()]);
    const mappings = writeAliceMapping(dir, dav);
    const ports = [await getFreePort(), await getFreePort()];
    proxy = await startAlternatingProxy(ports);
    gws = await Promise.all(ports.map((port, i) => spawnGateway({
      port,
      env: { MAPPINGS_DIR: mappings, REDIS_URL: redis.url, PUBLIC_URL: proxy.url, LOG_LEVEL: 'info', AUTH_CACHE_SECONDS: '0' },
      logFile: path.join(dir, `gateway-${i}.log`),
    })));
    phone = new SyncEvolutionClient({
      dir: path.join(dir, 'phone'), url: proxy.url, auth: 'basic', legacy: true, maxMsgSize: 20_000,
      datastores: { contacts: 'contacts' },
    });
  });

  after(async function () {
    await proxy?.close();
    await Promise.all((gws ?? []).map((g) => g.stop()));
    await Promise.all([dav?.dispose(), redis?.dispose()]);
  });

  it('(a) slow sync of 30 contacts, its messages served by both processes', async function () {
    const generated = generateContacts21(30, 17);
    for (const c of generated) phone.writeItem('contacts', c.name, c.text);
    const { result: r, posts } = await counted(() => phone.sync('slow', { only: ['contacts'] }));
    assert.equal(r.exitCode, 0, out(r));
    assert.equal(r.datastores['contacts']?.remoteNew, 30, out(r));
    assert.ok(posts[0]! >= 1 && posts[1]! >= 1, `both processes served the session (POSTs ${posts.join('/')})`);
    assert.equal(await assertSame(), 30);
    const expected = new Set(generated.map((g) => contactKey(g.text)));
    assert.deepEqual([...(await serverKeys()).keys()].sort(), [...expected].sort());
  });

  it('(b) two-way with changes on both sides meets in the middle', async function () {
    const items = await phone.readItems('contacts');
    const names = [...items.keys()].sort();
    await sleep(1100); // the file backend sees changes by mtime (1 s resolution)
    for (const n of names.slice(0, 3)) phone.writeItem('contacts', n, mutateContact(items.get(n)!).text);
    for (const c of generateContacts21(32, 77).slice(30)) phone.writeItem('contacts', `new-${c.name}`, c.text);
    phone.deleteItem('contacts', names[3]!);
    // Server side: edit two contacts the phone did not touch, add one.
    const touchedTels = new Set(names.slice(0, 4).map((n) => cellPhoneOf(items.get(n)!)?.replace(/\s/g, '')));
    const untouched = (await dav.listItems('contacts')).filter((i) => !touchedTels.has(cellPhoneOf(i.data)?.replace(/\s/g, '')));
    for (const item of untouched.slice(0, 2)) {
      await dav.putItem('contacts', decodeURIComponent(item.href.split('/').pop()!), mutateContact(item.data).text);
    }
    await dav.putItem('contacts', 'server-added.vcf', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:scale-out-1\r\nN:Server;Added;;;\r\nFN:Added Server\r\nTEL;TYPE=CELL:+49 160 5550002\r\nEND:VCARD\r\n');

    const { result: r, posts } = await counted(() => phone.sync('two-way', { only: ['contacts'] }));
    assert.equal(r.exitCode, 0, out(r));
    const ds = r.datastores['contacts']!;
    assert.deepEqual(
      { remoteNew: ds.remoteNew, remoteMod: ds.remoteMod, remoteDel: ds.remoteDel, localNew: ds.localNew, localMod: ds.localMod, localDel: ds.localDel },
      { remoteNew: 2, remoteMod: 3, remoteDel: 1, localNew: 1, localMod: 2, localDel: 0 },
      out(r),
    );
    assert.ok(posts[0]! >= 1 && posts[1]! >= 1, `both processes served the session (POSTs ${posts.join('/')})`);
    assert.equal(await assertSame(), 30 + 2 - 1 + 1);
  });

  it('(c) a sync with no changes changes nothing', async function () {
    const before = await dav.listItems('contacts');
    await sleep(1100);
    const r = await phone.sync('two-way', { only: ['contacts'] });
    assert.equal(r.exitCode, 0, out(r));
    const ds = r.datastores['contacts']!;
    assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0], out(r));
    assert.equal(ds.actualMode, 'two-way');
    const after = await dav.listItems('contacts');
    assert.deepEqual(after.map((i) => `${i.href} ${i.etag}`).sort(), before.map((i) => `${i.href} ${i.etag}`).sort());
  });

  it('(d) Redis restarted mid-session: the phone fails clearly, the next session recovers without duplicates', async function () {
    for (const c of generateContacts21(60, 91)) phone.writeItem('contacts', `more-${c.name}`, c.text);
    const expectedCount = 32 + 60;
    const logStart = Date.now();
    const before = logDirSet(phone);
    let done = false;
    const sync = phone.sync('two-way', { only: ['contacts'] }).then((r) => {
      done = true;
      return r;
    });
    // Kill Redis once the session is under way (the phone has sent its second message).
    while (!done && newLogDirMessages(phone, before) < 2) await sleep(20);
    assert.equal(done, false, 'the session ended before Redis could be stopped');
    await redis.kill();
    const failed = await sync;
    await redis.restart(); // empty: no persistence, so anchors and maps are gone
    assert.notEqual(failed.exitCode, 0, `the phone must not report success:\n${out(failed)}`);
    assert.match(failed.output, /status 503|503/, `the phone was told 503:\n${out(failed)}`);
    const stateErrors = gws.flatMap((g) => g.logLines())
      .filter((l) => Number(l['time']) >= logStart && /STATE_FAILED|state store/.test(`${String(l['err'] ?? '')} ${String(l['msg'] ?? '')}`));
    assert.ok(stateErrors.length > 0, 'a gateway log names the state store failure (STATE_FAILED)');

    // Both processes reconnect by themselves.
    for (const g of gws) {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${g.port}/healthz`)).status === 200, `gateway ${g.port} healthy again`, 15_000);
    }
    // Next sessions: a normal sync (=> 508, slow: Redis forgot everything), forced slow if needed.
    let r: SyncReport | undefined;
    const tries: string[] = [];
    for (const mode of ['two-way', 'two-way', 'slow'] as const) {
      r = await phone.sync(mode, { only: ['contacts'] });
      tries.push(`${mode}: exit ${r.exitCode} ${r.datastores['contacts']?.actualMode ?? ''}`);
      if (r.exitCode === 0) break;
    }
    assert.equal(r?.exitCode, 0, `no successful session after the outage (${tries.join('; ')}):\n${r ? out(r) : ''}`);
    assert.equal(await assertSame(), expectedCount);
    console.log(`      after the Redis restart: ${tries.join('; ')}`);
  });
});
