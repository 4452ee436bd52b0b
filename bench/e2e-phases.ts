// End-to-end phases with the real SyncEvolution client -> gateway (in this process, embedded
// store) -> Radicale, N vCard 2.1 contacts: slow sync, 20 changes, no change, refresh-from-server
// into a second phone. Per phase: wall, gateway CPU (process.cpuUsage of this process: the client
// and Radicale are other processes), DAV requests; peak RSS. Two DAV paths in one run: node:http
// with deferred ETags (now) and fetch/undici with an ETag read per ETag-less write (before).
// The floor is Radicale's own speed: N sequential PUTs on one keep-alive socket, same run.
// Memory per phase: peak RSS (the whole process) and peak heapUsed+external above the heap before
// the phase (the gateway's share: the client and Radicale are other processes, and the generated
// contacts are already in the baseline). `--memory` runs only the current path, no floor, and
// prints those figures; with --expose-gc the baselines are taken after a full GC.
// BENCH_HEAP_SNAPSHOT=<phase> writes a heap snapshot at that phase's heap peak (slows it down).
// `--memory --process` runs the built gateway (dist/, `npm run build` first) as its own process
// instead: its peak RSS per phase is the kernel's VmHWM (reset per phase through clear_refs), its
// heap comes from a probe preloaded into it; this is the gateway's RSS, nothing of the bench's.
// BENCH_GATEWAY_NODE_FLAGS adds node options to that process.
// `--current` runs only the current path (no floor, no old path): for before/after CPU of a change.
// `--events` syncs N vCalendar 1.0 events (calendar datastore, `kind: events`) instead of contacts.
// `--xandikos` (with --current/--events/--memory) syncs against Xandikos instead of Radicale: it keeps
// connections alive (Radicale closes each one), so the CPU per item is the gateway's own work
// without a TCP connect per PUT.
// `--floor` prints only Radicale's floor (N sequential PUTs), e.g. to see how it grows with N.
// `--photos` (with --memory) gives every contact a 24 KB JPEG photo (withLargePhotos).
// `--memory --instructions` runs the built gateway under valgrind's callgrind and prints the
// instructions it executed per item in each phase: a CPU measure that neither the machine's load
// nor the idle gaps while waiting on the DAV server change (see bench/idle-wake.ts).
// `--memory --warm`: before the measured phases, a slow sync and a refresh of N other contacts by
// two other phones (not measured), then the collection emptied: a gateway past its JIT warm-up.
// Not a test. Run: npx tsx bench/e2e-phases.ts [N] [--memory [--process]] [--current] [--events] [--xandikos] [--floor] [--photos] [--memory --instructions] [--memory --warm]
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { callgrindTotal } from './callgrind.js';
import http from 'node:http';
import { writeHeapSnapshot } from 'node:v8';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { convertContact } from '../src/convert/contacts.js';
import { generateContacts21, getFreePort, makeTempDir, mutateContact, repoRoot, sleep, startRadicale, startXandikos, SyncEvolutionClient, waitUntil, withLargePhotos } from '../test/support/index.js';
import { writeAliceMapping } from '../test/support/gateway-process.js';
import { accountYaml, DEFAULT_CONTACT_URIS } from '../test/support/mapping.js';
import { spawnService } from '../test/support/processes.js';
import type { DavServerHandle } from '../test/support/index.js';
import { startTestGateway } from '../test/support/gateway.js';

export interface Phase { wallS: number; cpuMsPerItem: number; mainThreadCpuMsPerItem?: number; threadCpuMsPerItem?: Map<string, number>; instructionsPerItem?: number; requests: number; peakRssMb: number; baseHeapMb: number; peakHeapMb: number; peakHeapTotalMb?: number; atRssPeak?: RssPeakDetail }
/** Gateway process at its RSS peak (bytes): where the resident memory is (--process only). */
export interface RssPeakDetail { threads: number; rssAnon: number; rssFile: number; v8Physical: number; heapUsed: number; external: number; arrayBuffers: number; brkHeap: number }
export interface E2eRun { slow: Phase; changes20: Phase; noChange: Phase; refresh: Phase; peakRssMb: number }

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const heapOf = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external;

/** Samples RSS and heap every 50 ms; `start` opens a phase (baseline after a GC when exposed). */
class MemorySampler {
  peakRss = 0;
  phaseRss = 0;
  phaseHeap = 0;
  baseHeap = 0;
  #phase = '';
  #snapshotAt = 0;
  readonly #timer = setInterval(() => this.sample(), 50);

  start(phase: string): void {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    this.#phase = phase;
    this.baseHeap = heapOf(m);
    this.phaseHeap = this.baseHeap;
    this.phaseRss = m.rss;
    this.#snapshotAt = this.baseHeap + 8 * 2 ** 20;
  }

  sample(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.phaseRss = Math.max(this.phaseRss, m.rss);
    this.phaseHeap = Math.max(this.phaseHeap, heapOf(m));
    if (process.env['BENCH_HEAP_SNAPSHOT'] === this.#phase && heapOf(m) > this.#snapshotAt) {
      this.#snapshotAt = heapOf(m) * 1.1;
      console.error(`heap snapshot (${this.#phase}, ${mb(heapOf(m))} MB): ${writeHeapSnapshot(`.tmp/heap-${this.#phase}.heapsnapshot`)}`);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

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

/**
 * Preloaded into the gateway process: peak heapUsed+external and RSS since the last SIGUSR2 (which
 * takes the baseline after a GC), sampled every 100 ms, written to BENCH_MEM_FILE at most once a
 * second; the breakdown at the RSS peak (/proc/self/smaps, ~3 ms a read) at most every 2 s. The
 * peak RSS itself is the kernel's VmHWM, exact. Writing on every moved peak and reading smaps
 * every 200 ms cost ~16% of the gateway's CPU in a refresh of 3,000 contacts (rename alone 11%).
 */
/** How often the probe writes its file; endPhase waits this long (plus a margin) for the last peak. */
const PROBE_WRITE_MS = 1000;
const PROBE = `import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
const file = process.env.BENCH_MEM_FILE; let p;
const heap = (m) => m.heapUsed + m.external;
const write = () => { writeFileSync(file + '.new', JSON.stringify(p)); renameSync(file + '.new', file); }; // never read half-written
const kb = (text, re) => Number(re.exec(text)?.[1] ?? 0) * 1024;
const brkRss = () => { const t = readFileSync('/proc/self/smaps', 'utf8'); const i = t.indexOf('[heap]'); return i < 0 ? 0 : kb(t.slice(i), /Rss:\\s+(\\d+) kB/); };
const detail = (m) => { const st = readFileSync('/proc/self/status', 'utf8'); return { threads: Number(/Threads:\\s+(\\d+)/.exec(st)?.[1] ?? 0), rssAnon: kb(st, /RssAnon:\\s+(\\d+) kB/), rssFile: kb(st, /RssFile:\\s+(\\d+) kB/), v8Physical: getHeapStatistics().total_physical_size, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, brkHeap: brkRss() }; };
const reset = () => { globalThis.gc?.(); const m = process.memoryUsage(); p = { base: heap(m), heap: heap(m), total: m.heapTotal, rss: m.rss, at: Date.now(), atPeak: detail(m) }; write(); };
let lastDetail = 0; let dirty = false;
// Worker threads (the decode pool) inherit --import: only the main thread may write the file.
if (isMainThread) reset();
if (isMainThread) process.on('SIGUSR2', reset);
if (isMainThread) setInterval(() => { const m = process.memoryUsage(); if (heap(m) > p.heap || m.rss > p.rss || m.heapTotal > p.total) { if (m.rss > p.rss && Date.now() - lastDetail > 2000) { lastDetail = Date.now(); p.atPeak = detail(m); } p.heap = Math.max(p.heap, heap(m)); p.total = Math.max(p.total, m.heapTotal); p.rss = Math.max(p.rss, m.rss); dirty = true; } }, 100).unref();
if (isMainThread) setInterval(() => { if (dirty) { dirty = false; write(); } }, ${PROBE_WRITE_MS}).unref();`;

const GATEWAY_HOST = '127.0.0.1';

/**
 * `callgrind_control -z` zeroes the gateway's counters, `-d` dumps them (all threads) to a new file
 * `<out>.<n>`; returns that dump's instruction total. Instructions, unlike CPU seconds, do not depend
 * on what else the machine does, nor on how long the process slept between requests (a core that
 * idles ~15 ms per Radicale PUT runs the same code 3-5x slower: bench/idle-wake.ts).
 */
function callgrindControl(op: '-z' | '-d', pid: number, out?: string): number | undefined {
  const t0 = Date.now();
  // vgdb finds the process by a FIFO named after $USER and $HOST as valgrind saw them: the gateway's
  // env has HOST (its listen address), so callgrind_control needs the same.
  const r = spawnSync('callgrind_control', [op, String(pid)], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, HOST: GATEWAY_HOST } });
  if (r.status !== 0) throw new Error(`callgrind_control ${op} ${pid}: ${r.stderr || r.stdout}`);
  if (!out) return undefined;
  // The dump is `<out>` or `<out>.<n>`: take the one written by this command.
  const dir = path.dirname(out);
  const dumps = readdirSync(dir).filter((f) => f.startsWith(path.basename(out)))
    .map((f) => ({ f, mtime: statSync(path.join(dir, f)).mtimeMs })).filter((d) => d.mtime >= t0 - 1000).sort((a, b) => b.mtime - a.mtime);
  if (dumps.length === 0) throw new Error(`callgrind_control -d ${pid}: no dump written (${r.stdout}${r.stderr})`);
  return callgrindTotal(path.join(dir, dumps[0]!.f));
}

/** The built gateway as its own process, with the memory probe; per-phase figures from outside. */
export async function spawnMeasuredGateway(dav: DavServerHandle, instructionCounting = false): Promise<{ url: string; startPhase(): Promise<void>; endPhase(): Promise<{ rss: number; base: number; heap: number; heapTotal: number; cpuMs: number; mainThreadCpuMs: number; threads: Map<string, number>; instructions?: number; atPeak: RssPeakDetail }>; close(): Promise<void> }> {
  const dir = makeTempDir('bench-gw');
  const port = await getFreePort();
  const memFile = path.join(dir, 'mem.json');
  const env = { ...process.env, MAPPINGS_DIR: writeAliceMapping(dir, dav), STATE_DIR: path.join(dir, 'state'), REDIS_URL: '', LOG_LEVEL: 'warn', AUTH_CACHE_SECONDS: '600', PORT: String(port), HOST: GATEWAY_HOST, BENCH_MEM_FILE: memFile };
  const flags = (process.env['BENCH_GATEWAY_NODE_FLAGS'] ?? '').split(' ').filter(Boolean); // e.g. --max-semi-space-size=2
  const nodeArgs = [...flags, '--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, path.join(repoRoot, 'dist', 'cli', 'run.js'), 'serve'];
  // Instruction counts instead of seconds: the gateway under callgrind (~50-100x slower). Counters
  // are zeroed at each phase's start and dumped at its end (callgrind_control), see callgrindControl.
  const callgrind = instructionCounting ? path.join(dir, 'callgrind.out') : undefined;
  const proc = callgrind
    ? spawnService('valgrind', ['--tool=callgrind', `--callgrind-out-file=${callgrind}`, '--dump-instr=no', process.execPath, ...nodeArgs], path.join(dir, 'gateway.log'), { cwd: repoRoot, env })
    : spawnService(process.execPath, nodeArgs, path.join(dir, 'gateway.log'), { cwd: repoRoot, env });
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status).catch(() => 0)) === 200, 'gateway process', callgrind ? 600_000 : 20_000);
  type Probe = { base: number; heap: number; total: number; rss: number; at: number; atPeak: RssPeakDetail };
  const readProbe = (): Probe => JSON.parse(readFileSync(memFile, 'utf8')) as Probe;
  // utime + stime of /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux).
  // The main thread alone (task <pid>): the rest is V8's helpers (GC, compiler) and libuv's pool.
  const ticksMs = (stat: string): number => readFileSync(stat, 'utf8').replace(/^.*\) /, '').split(' ').slice(11, 13).reduce((a, t) => a + Number(t) * 10, 0);
  const cpuMs = (): number => ticksMs(`/proc/${proc.pid}/stat`);
  // CPU ms per thread: its name and its tid's offset from the pid (node 20 names neither V8's
  // helpers nor libuv's pool, all are "node"; V8's start with the process, libuv's pool only at
  // its first use, so the offset tells them apart), main thread apart.
  const threadCpuMs = (): Map<string, number> => {
    const byName = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${proc.pid}/task`)) {
      try {
        const name = tid === String(proc.pid) ? 'main' : `${readFileSync(`/proc/${proc.pid}/task/${tid}/comm`, 'utf8').trim()}+${Number(tid) - proc.pid!}`;
        byName.set(name, (byName.get(name) ?? 0) + ticksMs(`/proc/${proc.pid}/task/${tid}/stat`));
      } catch { /* the thread ended */ }
    }
    return byName;
  };
  let threads0 = new Map<string, number>();
  let cpu0 = 0;
  const hwm = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024;
  return {
    url: `http://127.0.0.1:${port}/sync`,
    async startPhase() {
      const t = Date.now();
      process.kill(proc.pid, 'SIGUSR2');
      await waitUntil(async () => readProbe().at >= t, 'memory probe reset', 5000);
      writeFileSync(`/proc/${proc.pid}/clear_refs`, '5'); // VmHWM := current RSS
      cpu0 = cpuMs();
      threads0 = threadCpuMs();
      if (callgrind) callgrindControl('-z', proc.pid);
    },
    async endPhase() {
      const cpuMsNow = cpuMs() - cpu0; // before the wait below: the probe's last write is not the phase's work
      const threads = new Map([...threadCpuMs()].map(([name, ms]) => [name, ms - (threads0.get(name) ?? 0)]));
      const mainThreadCpuMs = threads.get('main') ?? 0;
      const instructions = callgrind ? callgrindControl('-d', proc.pid, callgrind) : undefined;
      await new Promise((resolve) => setTimeout(resolve, PROBE_WRITE_MS + 200));
      const p = readProbe();
      return { rss: hwm(), base: p.base, heap: p.heap, heapTotal: p.total, cpuMs: cpuMsNow, mainThreadCpuMs, threads, instructions, atPeak: p.atPeak };
    },
    close: () => proc.stop(),
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** N distinct vCalendar 1.0 events as a phone stores them (every 5th with an alarm, every 7th weekly). */
export function generateEvents10(n: number): Array<{ name: string; text: string }> {
  return Array.from({ length: n }, (_, i) => {
    const day = new Date(Date.UTC(2025, 0, 1 + (i % 700), 8 + (i % 9)));
    const stamp = (d: Date): string => `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}00Z`;
    const end = new Date(day.getTime() + 3_600_000);
    const lines = ['BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VEVENT', `SUMMARY:Meeting ${i} about topic ${(i * 7919) % 1000}`, `DTSTART:${stamp(day)}`, `DTEND:${stamp(end)}`,
      `LOCATION:Room ${i % 40}`, `DESCRIPTION:Agenda item ${i}: budget\\, plans and a longer note to give the event some body`];
    if (i % 7 === 0) lines.push('RRULE:W1 #6');
    if (i % 5 === 0) lines.push(`DALARM:${stamp(new Date(day.getTime() - 900_000))};;;Meeting ${i}`, `AALARM:${stamp(new Date(day.getTime() - 900_000))};;;`);
    lines.push('CATEGORIES:BUSINESS', 'END:VEVENT', 'END:VCALENDAR', '');
    return { name: `event-${i}.vcs`, text: lines.join('\r\n') };
  });
}

/** A changed version of a generated event (new summary). */
function mutateEvent(text: string): string {
  return text.replace(/^SUMMARY:(.*)$/m, 'SUMMARY:$1 (moved)');
}

export async function e2ePhases(n: number, before: boolean, gatewayProcess = false, events = false, store: 'radicale' | 'xandikos' = 'radicale', photos = false, instructions = false, warm = false): Promise<E2eRun> {
  const dir = makeTempDir('bench-phases');
  const dav = store === 'xandikos' ? await startXandikos() : await startRadicale();
  let requests = 0;
  if (events && gatewayProcess) throw new Error('--events runs the gateway in-process only');
  const gw = gatewayProcess ? await spawnMeasuredGateway(dav, instructions) : await startTestGateway({
    dav, settings: { logLevel: 'warn', authCacheSeconds: 600 },
    ...(events ? { mappingYaml: accountYaml(dav, { datastores: {
      contacts: { uris: DEFAULT_CONTACT_URIS, collection: dav.collections.contacts },
      calendar: { kind: 'events', uris: ['calendar', './calendar'], collection: dav.collections.calendar },
    } }) } : {}),
    davClient: { onRequest: () => requests++, ...(before ? { fetch: globalThis.fetch, deferEtag: false } : {}) },
  });
  const mem = new MemorySampler();
  try {
    const phone = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
      dir: path.join(dir, id), deviceId: `phases-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      wbxml: false, legacy: true, datastores: { contacts: 'contacts', calendar: 'calendar' }, timeoutMs: 3_600_000, // 3000+ items on a loaded machine take minutes
    });
    const ds = events ? 'calendar' : 'contacts';
    const phase = async (name: string, items: number, run: () => Promise<{ exitCode: number; wallSeconds: number; output: string }>): Promise<Phase> => {
      mem.start(name);
      if ('startPhase' in gw) await gw.startPhase();
      const r0 = requests;
      const c0 = process.cpuUsage();
      const r = await run();
      const c = process.cpuUsage(c0);
      if (r.exitCode !== 0) {
        console.error(`phase ${name} failed: ${r.output.slice(-2000)}`); // before close() logs over it
        throw new Error(`sync failed: ${r.output.slice(-400)}`);
      }
      mem.sample();
      if ('endPhase' in gw) {
        const g = await gw.endPhase();
        return { wallS: r.wallSeconds, cpuMsPerItem: g.cpuMs / items, mainThreadCpuMsPerItem: g.mainThreadCpuMs / items, threadCpuMsPerItem: new Map([...g.threads].filter(([, ms]) => ms > 0).map(([name, ms]) => [name, ms / items])), ...(g.instructions !== undefined ? { instructionsPerItem: g.instructions / items } : {}), requests: NaN, peakRssMb: mb(g.rss), baseHeapMb: mb(g.base), peakHeapMb: mb(g.heap), peakHeapTotalMb: mb(g.heapTotal), atRssPeak: g.atPeak };
      }
      return {
        wallS: r.wallSeconds, cpuMsPerItem: (c.user + c.system) / 1000 / items, requests: requests - r0,
        peakRssMb: mb(mem.phaseRss), baseHeapMb: mb(mem.baseHeap), peakHeapMb: mb(mem.phaseHeap),
      };
    };
    if (warm) {
      // A gateway that has served syncs before: the same slow sync and refresh by two other
      // phones, not measured, then the server's collection emptied again, so that the measured
      // phases do the same work as in a fresh process, minus JIT warm-up.
      const w = phone('warm');
      for (const c of generateContacts21(n, 11)) w.writeItem(ds, c.name, c.text);
      for (const [p, mode] of [[w, 'slow'], [phone('warm-refresh'), 'refresh-from-server']] as const) {
        const r = await p.sync(mode, { only: [ds] });
        if (r.exitCode !== 0) throw new Error(`warm-up ${mode} failed: ${r.output.slice(-400)}`);
      }
      for (const item of await dav.listItems(ds)) await dav.deleteItem(item.href);
    }
    const a = phone('a');
    const items = events ? generateEvents10(n) : photos ? withLargePhotos(generateContacts21(n, 5), 24_000) : generateContacts21(n, 5);
    const mutate = events ? mutateEvent : (t: string): string => mutateContact(t).text;
    for (const c of items) a.writeItem(ds, c.name, c.text);
    const slow = await phase('slow', n, () => a.sync('slow', { only: [ds] }));
    await sleep(1100);
    for (const c of items.slice(0, 20)) a.writeItem(ds, c.name, mutate(c.text));
    const changes20 = await phase('changes20', 20, () => a.sync('two-way', { only: [ds] }));
    await sleep(1100);
    const noChange = await phase('noChange', 1, () => a.sync('two-way', { only: [ds] }));
    const b = phone('b');
    const refresh = await phase('refresh', n, () => b.sync('refresh-from-server', { only: [ds] }));
    const got = (await b.readItems(ds)).size;
    if (got !== n) throw new Error(`refresh brought ${got} of ${n} items`);
    return { slow, changes20, noChange, refresh, peakRssMb: Math.round(mem.peakRss / 2 ** 20) };
  } finally {
    mem.stop();
    await gw.close();
    await dav.dispose();
  }
}

/** Only the current path, no floor: CPU per item of each phase, for before/after of a change. */
export async function benchE2eCurrent(n: number, events: boolean, store: 'radicale' | 'xandikos' = 'radicale'): Promise<Record<string, number | string>> {
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const r = await e2ePhases(n, false, false, events, store);
  const rows: Record<string, number | string> = { items: `${n} ${events ? 'vCalendar 1.0 events' : 'vCard 2.1 contacts'}`, store, load_average_before: load0, load_average_after: loadavg().map((x) => x.toFixed(2)).join(' ') };
  for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) rows[`${p}: wall s / CPU ms per item / DAV requests`] = `${r2(r[p].wallS)} / ${r2(r[p].cpuMsPerItem)} / ${r[p].requests}`;
  return rows;
}

/** Seconds for N sequential PUTs of the converted contacts into a fresh Radicale. */
async function radicaleFloor(n: number): Promise<number> {
  const floorDav = await startRadicale();
  try {
    return await putFloor(floorDav, generateContacts21(n, 5).map((c, i) => convertContact(c.text, 'vcard30').replace('BEGIN:VCARD\r\n', `BEGIN:VCARD\r\nUID:floor-${i}\r\n`)));
  } finally {
    await floorDav.dispose();
  }
}

/** Both DAV paths and the floor in one run, as rows for `npm run bench`. */
export async function benchE2ePhases(n: number): Promise<Record<string, number | string>> {
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const floorS = await radicaleFloor(n);
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

/** Only the current path, per phase: peak RSS, heap before, peak heap and the gateway's growth. */
export async function benchE2eMemory(n: number, gatewayProcess: boolean, store: 'radicale' | 'xandikos' = 'radicale', photos = false, instructions = false, warm = false): Promise<Record<string, number | string>> {
  const r = await e2ePhases(n, false, gatewayProcess, false, store, photos, instructions, warm);
  const rows: Record<string, number | string> = {
    store,
    load_average: loadavg().map((x) => x.toFixed(2)).join(' '),
    ...(warm ? { 'warm-up': `a slow sync and a refresh of ${n} other items before the measured phases` } : {}),
    measured: gatewayProcess ? 'gateway process (dist/, VmHWM, probe after GC)' : `bench process (gateway in-process; GC baselines: ${typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'yes' : 'no'})`,
  };
  for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) {
    const f = r[p];
    rows[`${p}: wall s / CPU ms per item${gatewayProcess ? ' (main thread)' : ''} / peak RSS MB / heap before MB / peak heap MB / growth MB / peak heapTotal MB`] = `${f.wallS.toFixed(1)} / ${f.cpuMsPerItem.toFixed(2)}${f.mainThreadCpuMsPerItem !== undefined ? ` (${f.mainThreadCpuMsPerItem.toFixed(2)})` : ''} / ${f.peakRssMb} / ${f.baseHeapMb} / ${f.peakHeapMb} / ${mb((f.peakHeapMb - f.baseHeapMb) * 2 ** 20)} / ${f.peakHeapTotalMb ?? '-'}`;
  }
  for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) {
    const t = r[p].threadCpuMsPerItem;
    if (t) rows[`${p}: CPU ms per item by thread`] = [...t].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ');
  }
  for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) {
    const i = r[p].instructionsPerItem;
    if (i !== undefined) rows[`${p}: gateway instructions per item (callgrind, all threads; wall and CPU above are under valgrind)`] = `${(i / 1e6).toFixed(2)} M`;
  }
  for (const p of ['slow', 'changes20', 'noChange', 'refresh'] as const) {
    const d = r[p].atRssPeak;
    // RssAnon minus V8's resident pages is malloc'd memory (buffers, SQLite, arenas); brk = main arena.
    if (d) rows[`${p} at the RSS peak: RssAnon / RssFile / V8 physical / non-V8 anon / brk heap / heapUsed / external MB; threads`] = `${[d.rssAnon, d.rssFile, d.v8Physical, d.rssAnon - d.v8Physical, d.brkHeap, d.heapUsed, d.external].map((x) => mb(x)).join(' / ')}; ${d.threads}`;
  }
  if (!gatewayProcess) rows['peak_rss_mb'] = r.peakRssMb;
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 1000;
  const floorOnly = async (): Promise<Record<string, string>> => {
    const t = await radicaleFloor(n);
    return { [`Radicale floor: ${n} sequential PUTs, s / ms each`]: `${t.toFixed(1)} / ${((t / n) * 1000).toFixed(1)}` };
  };
  const store = process.argv.includes('--xandikos') ? 'xandikos' : 'radicale';
  const rows = process.argv.includes('--floor') ? await floorOnly() : process.argv.includes('--memory') ? await benchE2eMemory(n, process.argv.includes('--process') || process.argv.includes('--instructions'), store, process.argv.includes('--photos'), process.argv.includes('--instructions'), process.argv.includes('--warm'))
    : process.argv.includes('--current') || process.argv.includes('--events') ? await benchE2eCurrent(n, process.argv.includes('--events'), store)
      : await benchE2ePhases(n);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(64)} ${v}`);
  process.exit(0);
}
