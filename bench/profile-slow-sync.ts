// The real slow sync under a CPU profile: SyncEvolution client -> gateway (in this process,
// embedded store) -> Radicale, N vCard 2.1 contacts, then a refresh-from-server into a second
// phone, then NOCHANGE_SESSIONS (default 10) two-way syncs of the first phone with nothing changed
// (the fixed cost of a session: what the load benchmark's phones mostly do). Prints the gateway's
// CPU per contact (per session for the last phase) and, when run under
// `node --cpu-prof` (npm run bench:profile), where that CPU went per layer of src/.
// BENCH_STORE=xandikos profiles against Xandikos, which keeps connections alive (Radicale closes
// each one, so there a TCP connect per PUT is part of the gateway's CPU).
// Not a test: nothing passes or fails on a number.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateContacts21, makeTempDir, sleep, startRadicale, startXandikos, SyncEvolutionClient } from '../test/support/index.js';
import { startTestGateway } from '../test/support/gateway.js';

export interface PhaseFigures {
  wallS: number;
  cpuMsPerItem: number;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

/** CPU profile of this process (main thread) around `fn`, written to `file` when given. */
async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

export async function profileSlowSync(n: number, profileDir?: string): Promise<{ slow: PhaseFigures; refresh: PhaseFigures; noChange: PhaseFigures & { sessions: number } }> {
  const dir = makeTempDir('bench-profile');
  const dav = process.env['BENCH_STORE'] === 'xandikos' ? await startXandikos() : await startRadicale();
  const gw = await startTestGateway({ dav, settings: { logLevel: 'warn', authCacheSeconds: 60 } });
  try {
    const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
      dir: path.join(dir, id), deviceId: `profile-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      wbxml: false, legacy: true, datastores: { contacts: 'contacts' },
    });
    const a = phone('a');
    for (const c of generateContacts21(n, 5)) a.writeItem('contacts', c.name, c.text);
    let c0 = process.cpuUsage();
    const slow = await profiled(profileDir && path.join(profileDir, 'slow-sync.0.1.cpuprofile'), () => a.sync('slow', { only: ['contacts'] }));
    const slowCpu = cpuMs(c0);
    if (slow.exitCode !== 0) throw new Error(`slow sync failed: ${slow.output.slice(-500)}`);
    await sleep(1100);
    const b = phone('b');
    c0 = process.cpuUsage();
    const refresh = await profiled(profileDir && path.join(profileDir, 'refresh.0.2.cpuprofile'), () => b.sync('refresh-from-server', { only: ['contacts'] }));
    const refreshCpu = cpuMs(c0);
    if ((refresh.datastores['contacts']?.localNew ?? 0) !== n) throw new Error(`refresh brought ${JSON.stringify(refresh.datastores['contacts'])}`);
    const sessions = Number(process.env['NOCHANGE_SESSIONS'] ?? 10);
    let noChangeCpu = 0;
    let noChangeWall = 0;
    await profiled(profileDir && path.join(profileDir, 'nochange.0.3.cpuprofile'), async () => {
      for (let k = 0; k < sessions; k++) {
        c0 = process.cpuUsage();
        const r = await a.sync('two-way', { only: ['contacts'] });
        noChangeCpu += cpuMs(c0); // this process: the gateway, and the harness spawning the client
        noChangeWall += r.wallSeconds;
        const ds = r.datastores['contacts'];
        if (r.exitCode !== 0 || (ds?.localNew ?? 0) + (ds?.localMod ?? 0) + (ds?.remoteNew ?? 0) + (ds?.remoteMod ?? 0) !== 0) throw new Error(`no-change sync ${k}: ${JSON.stringify(ds)}`);
      }
    });
    return {
      slow: { wallS: slow.wallSeconds, cpuMsPerItem: slowCpu / n },
      refresh: { wallS: refresh.wallSeconds, cpuMsPerItem: refreshCpu / n },
      noChange: { wallS: noChangeWall, cpuMsPerItem: sessions ? noChangeCpu / sessions : 0, sessions },
    };
  } finally {
    await gw.close();
    await dav.dispose();
  }
}

interface ProfileNode { id: number; callFrame: { url: string; functionName: string; lineNumber?: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Which layer a stack frame's script belongs to. */
function layerOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
  const src = /^file:\/\/.*?\/src\/([\w-]+)\//.exec(url);
  if (src && !url.includes('node_modules')) return `src/${src[1]}`;
  if (/node_modules\/tsdav|node_modules\/xml-js|node_modules\/sax|node_modules\/cross-fetch/.test(url)) return 'DAV client (tsdav)';
  if (/node:internal\/deps\/undici|undici/.test(url)) return 'DAV client (fetch/undici)';
  if (/node_modules\/fast-xml-parser|node_modules\/strnum/.test(url)) return 'fast-xml-parser';
  if (/node_modules\/(pino|sonic-boom|thread-stream)/.test(url)) return 'logging (pino)';
  if (/node_modules\/(express|body-parser|router|raw-body)/.test(url)) return 'http (express)';
  if (/node_modules\/better-sqlite3/.test(url)) return 'state (sqlite)';
  if (/node_modules\/(iconv-lite|ical\.js)/.test(url)) return 'convert libs';
  if (/node_modules\/(tsx|esbuild|get-tsconfig)/.test(url) || /test\/support|bench\//.test(url)) return 'bench harness';
  if (url.startsWith('node:') || url === '') return 'node runtime';
  return 'other';
}

/**
 * Self time per layer, attributing node-runtime frames (Buffer, streams, crypto ...) to the
 * nearest src/ or library frame above them so "who asked for it" is counted.
 */
export function summariseProfile(file: string): Array<[string, number]> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = owner.get(id);
    if (cached) return cached;
    const n = byId.get(id)!;
    let layer = layerOf(n.callFrame.url, n.callFrame.functionName);
    if (layer === 'node runtime' || layer === 'other') {
      const up = parent.get(id);
      const above = up === undefined ? layer : ownerOf(up);
      if (above !== '(root)' && above !== '(program)') layer = above;
    }
    owner.set(id, layer);
    return layer;
  };
  const totals = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const layer = ownerOf(id);
    totals.set(layer, (totals.get(layer) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const busy = [...totals].filter(([k]) => k !== '(idle)');
  const sum = busy.reduce((s, [, v]) => s + v, 0);
  return busy.sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((1000 * v) / sum) / 10]);
}

/**
 * Self time per function (no attribution to callers), the `top` largest, as % of the gateway's
 * busy samples: samples under the bench harness (SyncEvolution's configure through spawnSync,
 * stopping the profiler) are left out.
 */
export function topFunctions(file: string, top = 15): Array<[string, number]> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const harness = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (/test\/support|\/bench\//.test(byId.get(cur)!.callFrame.url)) return true;
    return false;
  };
  const totals = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)' || harness(id)) return;
    const where = f.url.includes('/node_modules/') ? f.url.replace(/^.*\/node_modules\//, '') : f.url.replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
    const name = `${f.functionName || '(anonymous)'} ${where}${f.url ? `:${(f.lineNumber ?? 0) + 1}` : ''}`;
    totals.set(name, (totals.get(name) ?? 0) + (p.timeDeltas[i] ?? 0));
    busy += p.timeDeltas[i] ?? 0;
  });
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, Math.round((1000 * v) / busy) / 10]);
}

export function printSummary(file: string): void {
  console.log(`CPU by layer (${path.basename(file)}, % of busy samples, and % without the bench harness = the gateway's share; node internals counted to their caller):`);
  const layers = summariseProfile(file);
  const gateway = layers.filter(([l]) => l !== 'bench harness').reduce((n, [, pct]) => n + pct, 0);
  for (const [layer, pct] of layers) console.log(`  ${layer.padEnd(28)} ${String(pct).padStart(5)}%  ${layer === 'bench harness' ? '' : `${((100 * pct) / gateway).toFixed(1).padStart(5)}%`}`);
  console.log(`Top functions by self time (${path.basename(file)}, % of the gateway's busy samples):`);
  for (const [fn, pct] of topFunctions(file)) console.log(`  ${pct.toFixed(1).padStart(5)}%  ${fn}`);
}

/** Summaries of the profiles in `dir` (main-thread files only, as written by --cpu-prof or this bench). */
export function summariseLatest(dir: string): void {
  for (const f of readdirSync(dir).filter((x) => /\.0\.\d+\.cpuprofile$/.test(x)).sort()) printSummary(path.join(dir, f));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const n = Number(process.argv[2]) || 1000;
  const dir = process.argv[3];
  const r = await profileSlowSync(n, dir);
  console.log(`store ${process.env['BENCH_STORE'] === 'xandikos' ? 'xandikos' : 'radicale'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`slow sync ${n} contacts: wall ${r.slow.wallS} s, gateway CPU ${r.slow.cpuMsPerItem.toFixed(2)} ms/contact`);
  console.log(`refresh-from-server: wall ${r.refresh.wallS} s, gateway CPU ${r.refresh.cpuMsPerItem.toFixed(2)} ms/contact`);
  console.log(`${r.noChange.sessions} no-change two-way syncs: wall ${r.noChange.wallS.toFixed(2)} s in all, gateway CPU ${r.noChange.cpuMsPerItem.toFixed(1)} ms per session (this process: the gateway and the harness that spawns the client)`);
  if (dir) summariseLatest(dir);
  process.exit(0);
}
