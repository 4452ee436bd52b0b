// What the same work costs in CPU seconds when the process sleeps between requests. A node:http
// client sends N sequential PUTs to a node:http server (another process) that answers after 0 ms
// and after DELAY ms (default 15: about one Radicale PUT on this machine). The client's code and
// its instruction count are the same in both runs; the CPU time is not: a core that idled between
// requests runs it slower (cold caches and branch predictors, a core woken from a sleep state), so
// CPU ms per item measured end to end against a slow DAV server is inflated by the waiting itself.
// `--instructions` also runs the same client under valgrind's callgrind at M and 3M requests for
// both delays and prints the instructions per request (the difference of the two runs over 2M).
// Not a test. Run: npx tsx bench/idle-wake.ts [N] [--delay MS] [--instructions]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rmSync } from 'node:fs';
import { callgrindTotal } from './callgrind.js';
import { makeTempDir } from '../test/support/index.js';

const SERVER = `const http = require('node:http');
const delay = Number(process.argv[1]);
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => setTimeout(() => { res.writeHead(201, { ETag: '"1"' }); res.end(); }, delay)); });
s.listen(0, '127.0.0.1', () => process.send(s.address().port));`;

const body = Buffer.from('BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:x\r\nEND:VCARD\r\n');

/**
 * The client, a plain script run as `node -e CLIENT N DELAY`: it starts the server, makes 50
 * warm-up PUTs, then N measured ones on one keep-alive socket, and prints its own CPU and wall ms
 * per measured PUT as JSON. The same script is counted under callgrind (no tsx: its on-disk
 * transpile cache made the first counted run millions of instructions longer).
 */
const CLIENT = `const http = require('node:http');
const { spawn } = require('node:child_process');
const [n, delay] = process.argv.slice(1).map(Number);
const body = Buffer.from(${JSON.stringify(body.toString('latin1'))}, 'latin1');
const server = spawn(process.execPath, ['-e', ${JSON.stringify(SERVER)}, String(delay)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
server.once('message', async (port) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const put = (i) => new Promise((resolve, reject) => {
    const req = http.request({ method: 'PUT', host: '127.0.0.1', port, path: '/c/' + i + '.vcf', agent, headers: { 'Content-Type': 'text/vcard', 'Content-Length': body.length } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
  for (let i = 0; i < 50; i++) await put(i);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await put(i);
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  agent.destroy();
  server.kill();
  process.stdout.write(JSON.stringify({ cpuMsPerPut: (c.user + c.system) / 1000 / n, wallMsPerPut: wall / n }));
  process.exit(0);
});`;

/** N sequential PUTs to a server answering after delayMs: the client's CPU and wall ms per PUT. */
function putLoop(n: number, delayMs: number): { cpuMsPerPut: number; wallMsPerPut: number } {
  const r = spawnSync(process.execPath, ['-e', CLIENT, String(n), String(delayMs)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`client: exit ${r.status}: ${r.stderr.slice(-800)}`);
  return JSON.parse(r.stdout) as { cpuMsPerPut: number; wallMsPerPut: number };
}

/** Instructions of a whole client run of N PUTs (its server is another process, not counted). */
function instructionsOf(n: number, delayMs: number): number {
  const dir = makeTempDir('idle-wake-cg');
  const out = path.join(dir, 'callgrind.out');
  try {
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '-e', CLIENT, String(n), String(delayMs)], { encoding: 'utf8', timeout: 1_800_000 });
    if (r.status !== 0) throw new Error(`valgrind: exit ${r.status}: ${r.stderr.slice(-800)}`);
    return callgrindTotal(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchIdleWake(n: number, delayMs: number, instructions: boolean): Promise<Record<string, string | number>> {
  const rows: Record<string, string | number> = { load_average: loadavg().map((x) => x.toFixed(2)).join(' ') };
  const f = (x: number): string => x.toFixed(3);
  // Alternate so that a change in the machine's load hits both.
  const hot: number[] = [];
  const idle: number[] = [];
  for (let round = 0; round < 2; round++) {
    const a = putLoop(n, 0);
    const b = putLoop(Math.max(50, Math.round(n / 4)), delayMs);
    hot.push(a.cpuMsPerPut);
    idle.push(b.cpuMsPerPut);
    rows[`round ${round + 1}: CPU ms per PUT, answer at once / after ${delayMs} ms (wall ms)`] = `${f(a.cpuMsPerPut)} (${f(a.wallMsPerPut)}) / ${f(b.cpuMsPerPut)} (${f(b.wallMsPerPut)})`;
  }
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  rows[`ratio CPU per PUT, after ${delayMs} ms : at once`] = `${(mean(idle) / mean(hot)).toFixed(2)} : 1`;
  if (instructions) {
    const m = Math.max(50, Math.round(n / 10));
    const per = (d: number): number => (instructionsOf(3 * m, d) - instructionsOf(m, d)) / (2 * m);
    const i0 = per(0);
    const i1 = per(delayMs);
    rows[`instructions per PUT (callgrind, ${m} vs ${3 * m} PUTs), at once / after ${delayMs} ms`] = `${Math.round(i0)} / ${Math.round(i1)}`;
    rows[`ratio instructions per PUT, after ${delayMs} ms : at once`] = `${(i1 / i0).toFixed(2)} : 1`;
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a))) || 2000;
  const d = args.indexOf('--delay');
  const delayMs = d >= 0 ? Number(args[d + 1]) : 15;
  const rows = await benchIdleWake(n, delayMs, args.includes('--instructions'));
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(72)} ${v}`);
  process.exit(0);
}
