// The gateway against the peer (SyncEvolution's own SyncML server with its CardDAV backend) in one
// run, through the same harness: ../shared/harness/bench-peer.sh drives the SyncEvolution client
// (file backend, vCard 3.0 contacts from gen-data.py) against a fresh Radicale and a fresh server,
// per N: slow sync, 20 changes, no change, refresh-from-server into an empty client. It samples
// the server's process tree for CPU and peak RSS (the peer's tree is syncevo-http-server +
// syncevo-dbus-server + its helpers; ours is one node process), so both sides are measured alike.
// Prints both rows per phase and the gateway : peer ratios.
//
//   npm run build && npx tsx bench/peer-compare.ts [N ...] [--wbxml] [--rounds R] [--out DIR]
//
// --rounds R alternates peer and gateway R times (the machine's drift lands on both). Needs
// SyncEvolution, Radicale, ../shared (or SHARED_DIR) and, for the peer, Debian's
// syncevolution-http with python3-twisted (a Recommends, not installed by `.ci/run`).
// Not a test: nothing passes or fails on a number.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '..');
const shared = path.resolve(process.env['SHARED_DIR'] || path.join(repo, '..', 'shared'));
const harness = path.join(shared, 'harness', 'bench-peer.sh');
const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const wbxml = args.includes('--wbxml');
const rounds = Number(option('--rounds') ?? 1);
const out = path.resolve(option('--out') ?? path.join(repo, '.tmp', 'peer-compare'));
// Sizes are the numbers that are not the value of an option.
const ns = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--rounds' && args[i - 1] !== '--out');
const sizes = ns.length ? ns : ['1000'];

interface Row {
  server: string;
  n: number;
  phase: string;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  radicaleCpuS: number;
  check: string;
}

function runHarness(server: 'peer' | 'gateway', dir: string): Row[] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (server === 'gateway') {
    const ctl = path.join(repo, 'bench', 'peer-gateway.sh');
    const gwDir = path.join(dir, 'gateway');
    Object.assign(env, {
      SERVER: 'external',
      SYNCML_URL: `http://127.0.0.1:${process.env['PORT'] ?? 9011}/sync`,
      SERVER_START_CMD: `${ctl} start ${gwDir}`,
      SERVER_STOP_CMD: `${ctl} stop ${gwDir}`,
      SERVER_PIDS_CMD: `${ctl} pids ${gwDir}`,
    });
  } else {
    env['SERVER'] = 'peer';
  }
  const r = spawnSync('bash', [harness, '-n', sizes.join(' '), '-o', dir, ...(wbxml ? ['-w'] : [])], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench-peer.sh (${server}) exited ${r.status}`);
  const lines = readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1);
  // The harness goes on after a server that did not start; a missing phase is a failed run.
  if (lines.length !== 4 * sizes.length) throw new Error(`bench-peer.sh (${server}) measured ${lines.length} of ${4 * sizes.length} phases; see ${dir}`);
  return lines.map((line) => {
    const c = line.split('\t');
    return { server, n: Number(c[2]), phase: c[3]!, wallS: Number(c[5]), cpuS: Number(c[8]), peakRssMb: Number(c[7]), radicaleCpuS: Number(c[9]), check: c[14]! };
  });
}

if (!existsSync(harness)) {
  console.error(`no ${harness}: the harness comes from ../shared (set SHARED_DIR)`);
  process.exit(2);
}
if (!existsSync(path.join(repo, 'dist'))) {
  console.error('no dist/: run `npm run build` first (the gateway runs as it ships)');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
console.log(`peer vs gateway, ${wbxml ? 'WBXML' : 'XML'}, N = ${sizes.join(', ')}, ${rounds} round(s), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const rows: Row[] = [];
for (let round = 0; round < rounds; round++) {
  for (const server of ['peer', 'gateway'] as const) rows.push(...runHarness(server, path.join(out, `${server}-${round}`)));
}
console.log(`load average after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '?');
console.log('\n| N | phase | round | peer wall s | gateway wall s | peer CPU s | gateway CPU s | CPU gateway : peer | peer peak RSS MB | gateway peak RSS MB | Radicale CPU s peer / gateway | checks |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (let round = 0; round < rounds; round++) {
  const perRound = rows.length / (2 * rounds);
  const peer = rows.slice(2 * round * perRound, (2 * round + 1) * perRound);
  const gw = rows.slice((2 * round + 1) * perRound, (2 * round + 2) * perRound);
  peer.forEach((p, k) => {
    const g = gw[k]!;
    console.log(`| ${p.n} | ${p.phase} | ${round + 1} | ${fmt(p.wallS)} | ${fmt(g.wallS)} | ${fmt(p.cpuS)} | ${fmt(g.cpuS)} | ${fmt(g.cpuS / p.cpuS)} | ${p.peakRssMb} | ${g.peakRssMb} | ${fmt(p.radicaleCpuS)} / ${fmt(g.radicaleCpuS)} | ${p.check}; ${g.check} |`);
  });
}
