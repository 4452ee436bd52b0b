// Hostile, unauthenticated traffic against a real gateway process (Redis state store, Radicale):
// how long /healthz stalls while big bodies are decoded, how much RSS they cost, and how many
// Redis keys anonymous messages leave behind. The figures of issue #12, before and after.
// Run: npx tsx bench/hostile.ts      (part of `npm run bench` unless --skip-hostile)
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, redisCommand, sleep, startRadicale, startRedis } from '../test/support/index.js';
import { spawnGateway, writeAliceMapping } from '../test/support/gateway-process.js';

export interface HostileFigures {
  'in_process.eventloop_max_ms.attrs_3.5MB': number;
  'in_process.eventloop_max_ms.attrs_3.5MB_with_Cred': number;
  'in_process.eventloop_max_ms.charrefs_x8': number;
  'attrs_3.5MB.healthz_worst_ms': number;
  'attrs_3.5MB_with_Cred.healthz_worst_ms': number;
  'charrefs_3.6MB.healthz_worst_ms': number;
  'charrefs_3.6MB.rss_peak_increase_MB': number;
  'charrefs_x8.rss_peak_MB': number;
  'charrefs_x8.healthz_worst_ms': number;
  'anon_200msgs.redis_keys_before': number;
  'anon_200msgs.redis_keys_after': number;
  'anon_200msgs.redis_used_MB_before': number;
  'anon_200msgs.redis_used_MB_after': number;
}

const CT = 'application/vnd.syncml+xml';

function header(deviceId: string, sessionId = '1', cred = false): string {
  return `<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>${sessionId}</SessionID><MsgID>1</MsgID>` +
    `<Target><LocURI>http://gw/sync</LocURI></Target><Source><LocURI>${deviceId}</LocURI></Source>` +
    `${cred ? '<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type></Meta><Data>YWxpY2U6bm9wZQ==</Data></Cred>' : ''}</SyncHdr>`;
}

/** One element carrying `n` distinct attributes (~11 bytes each); with a (wrong) Cred it gets decoded. */
export function attributeBomb(n = 300_000, cred = false): string {
  const attrs: string[] = [];
  for (let i = 0; i < n; i++) attrs.push(` a${i.toString(36)}="x"`);
  return `<SyncML xmlns="SYNCML:SYNCML1.2">${header('hostile-attrs', '1', cred)}<SyncBody><Alert a="1"${attrs.join('')}><CmdID>1</CmdID><Data>200</Data></Alert><Final/></SyncBody></SyncML>`;
}

/** Character references in item data (each `&#65;` is one reference). */
export function charRefBomb(bytes = 3_600_000): string {
  const refs = '&#65;'.repeat(Math.floor(bytes / 5));
  return `<SyncML xmlns="SYNCML:SYNCML1.2">${header('hostile-refs')}<SyncBody><Put><CmdID>1</CmdID><Item><Data>${refs}</Data></Item></Put><Final/></SyncBody></SyncML>`;
}

function anonMessage(deviceId: string): string {
  return `<SyncML xmlns="SYNCML:SYNCML1.2">${header(deviceId)}<SyncBody><Alert><CmdID>1</CmdID><Data>200</Data><Item><Target><LocURI>contacts</LocURI></Target>` +
    `<Source><LocURI>./c</LocURI></Source></Item></Alert><Final/></SyncBody></SyncML>`;
}

/** Poll /healthz every 10 ms while `work` runs; the worst answer time. */
async function worstHealthz(base: string, work: Promise<unknown>): Promise<number> {
  let done = false;
  let worst = 0;
  const poller = (async () => {
    while (!done) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${base}/healthz`);
        await r.arrayBuffer();
      } catch { /* counted as the time it took */ }
      worst = Math.max(worst, performance.now() - t0);
      await sleep(10);
    }
  })();
  await work.catch(() => undefined);
  done = true;
  await poller;
  return Math.round(worst);
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Reset the kernel's peak-RSS counter of a process we started (clear_refs 5). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

async function post(url: string, body: string | Uint8Array): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': CT }, body });
  await r.arrayBuffer();
  return r.status;
}

async function redisNumber(port: number, cmd: string, field?: string): Promise<number> {
  if (!field) return Number((await redisCommand(port, cmd)).replace(/^:/, ''));
  // INFO is a bulk reply: read it whole with a second connection-level helper.
  const { connect } = await import('node:net');
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setEncoding('utf8');
    s.once('connect', () => s.write(`${cmd}\r\n`));
    s.on('data', (d: string) => {
      buf += d;
      if (buf.includes(`${field}:`) && buf.endsWith('\r\n')) { s.destroy(); resolve(buf); }
    });
    s.once('error', reject);
  });
  return Number(new RegExp(`${field}:(\\d+)`).exec(text)?.[1] ?? 0);
}

/**
 * The gateway in this process (embedded store): the worst event-loop delay of its main thread
 * while each hostile body is handled, free of the poller's scheduling noise on a loaded machine.
 */
async function inProcessStalls(bodies: { attrs: Uint8Array; attrsCred: Uint8Array; refs: Uint8Array }): Promise<Record<string, number>> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { startTestGateway } = await import('../test/support/gateway.js');
  const dav = await startRadicale();
  const gw = await startTestGateway({ dav, settings: { logLevel: 'warn' } });
  try {
    const worst = async (work: () => Promise<unknown>): Promise<number> => {
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      await work().catch(() => undefined);
      h.disable();
      return Math.round(h.max / 1e6);
    };
    await post(gw.url, anonMessage('warm-up'));
    return {
      attrs: await worst(() => post(gw.url, bodies.attrs)),
      attrsCred: await worst(() => post(gw.url, bodies.attrsCred)),
      refs8: await worst(() => Promise.all(Array.from({ length: 8 }, () => post(gw.url, bodies.refs)))),
    };
  } finally {
    await gw.close();
    await dav.dispose();
  }
}

export async function benchHostile(): Promise<HostileFigures> {
  const dir = makeTempDir('bench-hostile');
  const redis = await startRedis();
  const dav = await startRadicale();
  const gw = await spawnGateway({
    env: {
      MAPPINGS_DIR: writeAliceMapping(dir, dav), REDIS_URL: redis.url, LOG_LEVEL: 'warn',
      STATE_SECRET: randomBytes(32).toString('base64'),
    },
  });
  const base = gw.url.replace(/\/sync$/, '');
  try {
    // Some ordinary state first, so key counts start from a gateway that has seen a device.
    // Encoded up front: the bench process itself must not stall while the poller measures.
    const utf8 = new TextEncoder();
    const attrs = utf8.encode(attributeBomb());
    const attrsCred = utf8.encode(attributeBomb(300_000, true));
    const refs = utf8.encode(charRefBomb());
    await post(gw.url, anonMessage('warm-up'));
    const attrsStall = await worstHealthz(base, post(gw.url, attrs));
    await sleep(300);
    const attrsCredStall = await worstHealthz(base, post(gw.url, attrsCred));
    await sleep(300);
    const rss0 = statusKb(gw.pid, 'VmRSS');
    resetPeak(gw.pid);
    const refsStall = await worstHealthz(base, post(gw.url, refs));
    const refsPeak = statusKb(gw.pid, 'VmHWM');
    await sleep(500);
    resetPeak(gw.pid);
    const x8Stall = await worstHealthz(base, Promise.all(Array.from({ length: 8 }, () => post(gw.url, refs))));
    const x8Peak = statusKb(gw.pid, 'VmHWM');

    const keys0 = await redisNumber(redis.port, 'DBSIZE');
    const mem0 = await redisNumber(redis.port, 'INFO memory', 'used_memory');
    for (let i = 0; i < 200; i++) await post(gw.url, anonMessage(randomBytes(10_000).toString('hex')));
    const keys1 = await redisNumber(redis.port, 'DBSIZE');
    const mem1 = await redisNumber(redis.port, 'INFO memory', 'used_memory');
    const mb = (kb: number): number => Math.round(kb / 1024);
    const inProc = await inProcessStalls({ attrs, attrsCred, refs });
    return {
      'in_process.eventloop_max_ms.attrs_3.5MB': inProc['attrs']!,
      'in_process.eventloop_max_ms.attrs_3.5MB_with_Cred': inProc['attrsCred']!,
      'in_process.eventloop_max_ms.charrefs_x8': inProc['refs8']!,
      'attrs_3.5MB.healthz_worst_ms': attrsStall,
      'attrs_3.5MB_with_Cred.healthz_worst_ms': attrsCredStall,
      'charrefs_3.6MB.healthz_worst_ms': refsStall,
      'charrefs_3.6MB.rss_peak_increase_MB': mb(refsPeak - rss0),
      'charrefs_x8.rss_peak_MB': mb(x8Peak),
      'charrefs_x8.healthz_worst_ms': x8Stall,
      'anon_200msgs.redis_keys_before': keys0,
      'anon_200msgs.redis_keys_after': keys1,
      'anon_200msgs.redis_used_MB_before': Math.round(mem0 / 1e5) / 10,
      'anon_200msgs.redis_used_MB_after': Math.round(mem1 / 1e5) / 10,
    };
  } finally {
    await gw.stop();
    await dav.dispose();
    await redis.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(await benchHostile());
  process.exit(0);
}
