// The DAV write path on its own: N contact creates against Radicale, measured in one run as
// (a) the store's floor: sequential PUTs on a bare node:http keep-alive agent, no gateway code,
// (b) DavStore.create through fetch (undici, as before http-transport.ts),
// (c) DavStore.create through the node:http transport (the default),
// (d) the same with 4 creates in flight (bounded parallel writes),
// (e) the same PUT as raw bytes on a net.Socket, no HTTP library (Connection: close, as Radicale
//     closes every connection anyway): what any HTTP client written for node could save at most.
// Prints CPU per create (this process) and wall ratios against the floor. Not a test.
// Run: npx tsx bench/dav-write.ts [N]
import http from 'node:http';
import net from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDavStore } from '../src/datastores/index.js';
import type { DavStoreOptions } from '../src/datastores/index.js';
import { startRadicale } from '../test/support/dav-servers.js';

const vcard = (tag: string, i: number): string =>
  ['BEGIN:VCARD', 'VERSION:3.0', `UID:${tag}-${i}`, `FN:Contact ${i}`, `N:${i};Contact;;;`,
    `TEL;TYPE=CELL:+4917${String(1000000 + i)}`, `EMAIL:contact${i}@example.org`, 'END:VCARD', ''].join('\r\n');

interface Run { wallMs: number; cpuMs: number; requests: number }

async function timed(fn: () => Promise<number>): Promise<Run> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const requests = await fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, requests };
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function benchDavWrite(n: number): Promise<Record<string, number | string>> {
  const dav = await startRadicale();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = `Basic ${Buffer.from(`${dav.user}:${dav.password}`).toString('base64')}`;
  const collection = (name: string): string => dav.collections.contacts.replace(/contacts\/$/, `${name}/`);
  try {
    // Separate address books so every variant creates into an empty collection of its own.
    for (const name of ['floor', 'fetch', 'node', 'par', 'raw']) {
      const res = await dav.request('MKCOL', collection(name), {
        headers: { 'Content-Type': 'application/xml' },
        body: '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>',
      });
      if (res.status >= 300) throw new Error(`MKCOL ${name}: ${res.status}`);
    }
    const ids = Array.from({ length: n }, (_, i) => i);
    const floor = await timed(async () => {
      for (const i of ids) {
        const url = new URL(`${collection('floor')}f-${i}.vcf`);
        const body = Buffer.from(vcard('f', i));
        await new Promise<void>((resolve, reject) => {
          const req = http.request({ method: 'PUT', host: url.hostname, port: url.port, path: url.pathname, agent, headers: { Authorization: auth, 'Content-Type': 'text/vcard; charset=utf-8', 'Content-Length': body.length, 'If-None-Match': '*' } }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`PUT ${res.statusCode}`))));
          });
          req.on('error', reject);
          req.end(body);
        });
      }
      return n;
    });
    const store = (name: string, extra: Partial<DavStoreOptions> = {}) =>
      createDavStore({ kind: 'contacts', collectionUrl: collection(name), credentials: { username: dav.user, password: dav.password }, ...extra });
    const viaFetch = store('fetch', { fetch: globalThis.fetch });
    const fetchRun = await timed(async () => {
      for (const i of ids) await viaFetch.create(vcard('a', i), `a-${i}`);
      return viaFetch.client.requestCount;
    });
    const viaNode = store('node');
    const nodeRun = await timed(async () => {
      for (const i of ids) await viaNode.create(vcard('b', i), `b-${i}`);
      return viaNode.client.requestCount;
    });
    const par = store('par', { concurrency: 4 });
    const parRun = await timed(async () => {
      await pool(ids, 4, (i) => par.create(vcard('c', i), `c-${i}`));
      return par.client.requestCount;
    });
    const raw = new URL(collection('raw'));
    const rawRun = await timed(async () => {
      for (const i of ids) {
        const body = Buffer.from(vcard('r', i));
        const head = `PUT ${raw.pathname}r-${i}.vcf HTTP/1.1\r\nHost: ${raw.host}\r\nAuthorization: ${auth}\r\nContent-Type: text/vcard; charset=utf-8\r\n` +
          `Content-Length: ${body.length}\r\nIf-None-Match: *\r\nConnection: close\r\n\r\n`;
        await new Promise<void>((resolve, reject) => {
          const socket = net.connect(Number(raw.port), raw.hostname);
          const chunks: Buffer[] = [];
          socket.on('connect', () => {
            socket.write(head);
            socket.end(body);
          });
          socket.on('data', (c: Buffer) => chunks.push(c));
          socket.on('error', reject);
          socket.on('close', () => {
            const status = Buffer.concat(chunks).toString('latin1').slice(9, 12);
            if (status === '201') resolve();
            else reject(new Error(`raw PUT ${status}`));
          });
        });
      }
      return n;
    });
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      load_average: loadavg().map((x) => x.toFixed(2)).join(' '),
      floor_sequential_put_ms_per_item: r2(floor.wallMs / n),
      'fetch.cpu_ms_per_create': r2(fetchRun.cpuMs / n),
      'node_http.cpu_ms_per_create': r2(nodeRun.cpuMs / n),
      'floor.cpu_ms_per_put (bare node:http)': r2(floor.cpuMs / n),
      'raw_socket.cpu_ms_per_put (no HTTP library)': r2(rawRun.cpuMs / n),
      'ratio CPU raw socket : bare node:http': `${r2(rawRun.cpuMs / floor.cpuMs)} : 1`,
      'fetch.requests': fetchRun.requests,
      'node_http.requests': nodeRun.requests,
      'ratio CPU fetch : node_http': `${r2(fetchRun.cpuMs / nodeRun.cpuMs)} : 1`,
      'ratio wall fetch : floor': `${r2(fetchRun.wallMs / floor.wallMs)} : 1`,
      'ratio wall node_http : floor': `${r2(nodeRun.wallMs / floor.wallMs)} : 1`,
      'ratio wall 4 in flight : floor': `${r2(parRun.wallMs / floor.wallMs)} : 1`,
    };
  } finally {
    agent.destroy();
    await dav.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const r = await benchDavWrite(Number(process.argv[2]) || 500);
  for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(44)} ${v}`);
  process.exit(0);
}
