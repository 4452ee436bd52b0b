// Idle footprint of the built gateway (issue #15, memory): `node dist/cli/run.js serve` with one
// contacts account (its DAV server is never contacted at rest), RUNS times in a row. Per run, after
// /healthz answers and a full GC: VmRSS, RssFile (binary + libraries), RssAnon, heapUsed,
// heapTotal, external, and the wall time until /healthz answered.
// `--modules` instead loads each dependency alone into a fresh `node` and prints what it adds over
// an empty process (RSS and heapUsed after GC): what a static import costs at startup.
// Not a test. Run: npm run build && npx tsx bench/idle-memory.ts [RUNS] [--modules]
// BENCH_GATEWAY_NODE_FLAGS adds node options to the gateway process (as in e2e-phases.ts).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { getFreePort, makeTempDir, repoRoot, waitUntil } from '../test/support/processes.js';

const MB = 2 ** 20;
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Preloaded: on SIGUSR2, a full GC and process.memoryUsage() to BENCH_MEM_FILE. */
const PROBE = `import { writeFileSync } from 'node:fs';
process.on('SIGUSR2', () => { globalThis.gc?.(); const m = process.memoryUsage(); writeFileSync(process.env.BENCH_MEM_FILE, JSON.stringify({ ...m, at: Date.now() })); });`;

interface IdleFigures { rss: number; rssFile: number; rssAnon: number; heapUsed: number; heapTotal: number; external: number; readyMs: number }

function statusKb(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

async function idleRun(): Promise<IdleFigures> {
  const dir = makeTempDir('idle-gw');
  const mappings = path.join(dir, 'mappings');
  mkdirSync(mappings, { recursive: true });
  writeFileSync(path.join(mappings, 'alice.yaml'), 'account: alice\nauth: passthrough\ndav:\n  url: http://127.0.0.1:9/dav/\ndatastores:\n  contacts:\n    uris: [contacts, ./contacts]\n    collection: http://127.0.0.1:9/dav/alice/contacts/\n');
  const port = await getFreePort();
  const memFile = path.join(dir, 'mem.json');
  const env = { ...process.env, MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state'), REDIS_URL: '', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', BENCH_MEM_FILE: memFile };
  const flags = (process.env['BENCH_GATEWAY_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const t0 = Date.now();
  const proc = spawn(process.execPath, [...flags, '--expose-gc', '--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, path.join(repoRoot, 'dist', 'cli', 'run.js'), 'serve'], { cwd: repoRoot, env, stdio: 'ignore' });
  try {
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status).catch(() => 0)) === 200, 'gateway process', 20_000);
    const readyMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1500)); // let startup timers and lazy work settle
    const t = Date.now();
    proc.kill('SIGUSR2');
    await waitUntil(async () => { try { return (JSON.parse(readFileSync(memFile, 'utf8')) as { at: number }).at >= t; } catch { return false; } }, 'probe', 5000);
    const m = JSON.parse(readFileSync(memFile, 'utf8')) as NodeJS.MemoryUsage;
    const pid = proc.pid!;
    return { rss: statusKb(pid, 'VmRSS'), rssFile: statusKb(pid, 'RssFile'), rssAnon: statusKb(pid, 'RssAnon'), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, readyMs };
  } finally {
    proc.kill('SIGTERM');
  }
}

/** RSS and heapUsed after GC of a fresh node that imported `spec` (or nothing). */
function moduleCost(spec: string | undefined): { rss: number; heap: number } {
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ''} globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); globalThis.gc(); const m = process.memoryUsage(); console.log(JSON.stringify({ rss: m.rss, heap: m.heapUsed }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${spec}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { rss: number; heap: number };
}

const MODULES = [
  'zod', 'tsdav', 'ical.js', 'express', 'pino', 'prom-client', 'piscina', 'better-sqlite3', 'ioredis', 'fast-xml-parser', 'yaml', 'iconv-lite',
  './dist/main.js', './dist/cli/main.js', './dist/protocol/engine.js', './dist/datastores/index.js', './dist/convert/index.js', './dist/admin/index.js', './dist/push/index.js', './dist/metrics/index.js', './dist/http/app.js', './dist/state/index.js',
];

if (process.argv.includes('--modules')) {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const runs = 3;
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cost = (spec: string | undefined): { rss: number; heap: number } => {
    const rs = Array.from({ length: runs }, () => moduleCost(spec));
    return { rss: median(rs.map((r) => r.rss)), heap: median(rs.map((r) => r.heap)) };
  };
  const empty = cost(undefined);
  console.log(`empty node: RSS ${round1(empty.rss / MB)} MB, heapUsed ${round1(empty.heap / MB)} MB (median of ${runs})`);
  for (const spec of MODULES) {
    const c = cost(spec);
    console.log(`${spec.padEnd(32)} +RSS ${round1((c.rss - empty.rss) / MB).toFixed(1).padStart(6)} MB  +heapUsed ${round1((c.heap - empty.heap) / MB).toFixed(1).padStart(6)} MB`);
  }
} else {
  const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 5;
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; flags: ${process.env['BENCH_GATEWAY_NODE_FLAGS'] ?? '(none)'}`);
  const all: IdleFigures[] = [];
  for (let i = 0; i < runs; i++) {
    const f = await idleRun();
    all.push(f);
    console.log(`run ${i + 1}: RSS ${round1(f.rss / MB)} MB (file ${round1(f.rssFile / MB)}, anon ${round1(f.rssAnon / MB)}), heapUsed ${round1(f.heapUsed / MB)} MB, heapTotal ${round1(f.heapTotal / MB)} MB, external ${round1(f.external / MB)} MB, ready in ${f.readyMs} ms`);
  }
  const avg = (k: keyof IdleFigures): number => all.reduce((a, f) => a + f[k], 0) / all.length;
  console.log(`mean: RSS ${round1(avg('rss') / MB)} MB (file ${round1(avg('rssFile') / MB)}, anon ${round1(avg('rssAnon') / MB)}), heapUsed ${round1(avg('heapUsed') / MB)} MB, heapTotal ${round1(avg('heapTotal') / MB)} MB, ready ${Math.round(avg('readyMs'))} ms; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  process.exit(0);
}
