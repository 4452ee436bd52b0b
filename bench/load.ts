// Load benchmark (issue #15): many simulated phones at once, each its own device and account,
// against two gateway processes sharing one Redis, Radicale behind a counting proxy. Every SyncML
// message is timed; the time its account's DAV requests were open inside the message's window is
// its DAV wait (bench/load-stats.ts), so latency is reported with and without it. The floor is
// Radicale's own latency for the same DAV requests in the same run. After the run every phone's
// contacts are compared with its address book on disk. Not a test: it prints, it never fails on a number.
// BENCH_GATEWAY_NODE_FLAGS adds node options to both gateway processes.
// Run: npm run bench:load -- [--devices 200] [--changes 20] [--mix 0.5] [--rounds 3] [--seed-contacts 30]
//      [--seed-concurrency 25] [--max-upstream 8] [--phone-workers 0 (phones inside the bench; N forks N phone processes)]
//      [--cpu-prof DIR]   (gateway logs of the last run: .tmp/load-last/)
//      [--log-level debug] (the DAV wait is read from the gateways' debug lines; with info it is not
//      known, but the gateways do not pay for a log line per DAV request: see docs/performance.md)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { repoRoot } from '../test/support/processes.js';
import { makeTempDir, startRadicale, startRedis, type DavServerHandle, type RedisHandle } from '../test/support/index.js';
import type { DavRecord } from './load-dav-proxy.js';
import type { SessionKind } from './load-phone.js';
import { forkedGroup, inProcessGroup, withLag, type LagFigures, type PhaseOrder, type PhoneGroupHandle, type PhoneGroupInit, type PhoneReport } from './load-phones.js';
import {
  cardsTheServerTakes, corpusCards, gatewayCommand, logErrors, spawnGatewayChild, startDavProxy, writeTemplateMapping,
  type DavProxy, type GatewayChild,
} from './load-setup.js';
import { phaseMetrics, scrape, type GatewayPhaseMetrics } from './load-metrics.js';
import { attributeDavWait, gatewayDavRecords, latencyRow, matchAccessLog, peakConcurrency, percentile, processCpuMs, processRssMb, r1, type AccessLogTime, type AttributedMessage } from './load-stats.js';

export interface LoadOptions {
  devices: number;
  /** Changes in a changing session (about 10% Adds, 10% Deletes, the rest Replaces). */
  changes: number;
  /** Share of load-phase sessions with changes; the others change nothing. */
  mix: number;
  /** Sessions per device in the load phase. */
  rounds: number;
  /** Contacts each phone sends in its first (slow) sync. */
  seedContacts: number;
  /** Phones seeding at the same time (the slow syncs before the load phase; not the measured part). */
  seedConcurrency: number;
  /** DAV requests the proxy lets through to Radicale at once (Radicale's own max_connections is 8). */
  maxUpstream: number;
  /** Processes the phones run in (0: inside the bench process, as the first versions did); default one per 50 phones. */
  phoneWorkers?: number;
  /** Write V8 CPU profiles of both gateway processes into this directory. */
  cpuProfDir?: string;
  /** The gateways' LOG_LEVEL; the DAV-wait figures need debug (the default). */
  logLevel?: string;
}

type Rows = Record<string, number | string>;

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface RedisCounters {
  commands: number;
  cpuS: number;
  calls: Map<string, number>;
}

async function redisCounters(client: Redis): Promise<RedisCounters> {
  const text = `${await client.info('stats')}\n${await client.info('cpu')}\n${await client.info('commandstats')}`;
  const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return { commands: num('total_commands_processed'), cpuS: num('used_cpu_user') + num('used_cpu_sys'), calls };
}

interface PhaseResult {
  name: string;
  wallS: number;
  messages: AttributedMessage[];
  dav: DavRecord[];
  gatewayCpuMs: number[];
  proxyCpuMs: number;
  /** The bench process itself (with the phones when they run inside it). */
  benchCpuMs: number;
  /** The phone groups' own processes, summed (0 when the phones run inside the bench). */
  phoneWorkersCpuMs: number;
  benchLag: LagFigures;
  /** Of each phone worker (none when the phones run inside the bench). */
  workerLag: LagFigures[];
  sessionKinds: Partial<Record<SessionKind, number>>;
  redisCommands: number;
  redisCpuS: number;
  topRedis: string;
  gateway: GatewayPhaseMetrics[];
  /** Each message's access-log line (same order as `messages`), filled in after the run. */
  access?: Array<AccessLogTime | undefined>;
}

class Run {
  #proxyCpu = 0;
  constructor(readonly gws: GatewayChild[], readonly proxy: DavProxy, readonly redis: Redis, readonly groups: PhoneGroupHandle[]) {}

  async phase(name: string, order: (group: number) => PhaseOrder): Promise<PhaseResult> {
    this.#proxyCpu = (await this.proxy.dump()).cpuMs; // records of earlier work are not this phase's
    const cpu0 = this.gws.map((g) => processCpuMs(g.pid));
    const metrics0 = await Promise.all(this.gws.map((g) => scrape(g.url)));
    const redis0 = await redisCounters(this.redis);
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    const from = Date.now();
    const { value: results, lag: benchLag } = await withLag(() => Promise.all(this.groups.map((g, i) => g.phase(order(i)))));
    const to = Date.now();
    const wallS = (performance.now() - t0) / 1000;
    const bench = process.cpuUsage(bench0);
    const { records, cpuMs } = await this.proxy.dump();
    const metrics1 = await Promise.all(this.gws.map((g) => scrape(g.url)));
    const redis1 = await redisCounters(this.redis);
    // Merged in phone order, as the in-process bench listed them.
    const timings = results.flatMap((r) => r.timings).sort((a, b) => a.device - b.device || a.start - b.start);
    const sessionKinds: Partial<Record<SessionKind, number>> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.sessionKinds) as Array<[SessionKind, number]>) sessionKinds[k] = (sessionKinds[k] ?? 0) + v;
    const top = [...redis1.calls].map(([k, v]) => [k, v - (redis0.calls.get(k) ?? 0)] as const).filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${r1(v / Math.max(1, timings.length))}`).join(', ');
    const proxyCpuMs = cpuMs - this.#proxyCpu;
    return {
      name, wallS, dav: records,
      messages: attributeDavWait(timings, records, this.gws.flatMap((g) => gatewayDavRecords(readFileSync(g.logFile, 'utf8'), from, to))),
      gatewayCpuMs: this.gws.map((g, i) => processCpuMs(g.pid) - cpu0[i]!), proxyCpuMs, benchCpuMs: (bench.user + bench.system) / 1000,
      phoneWorkersCpuMs: results.reduce((a, r) => a + r.cpuMs, 0), benchLag, workerLag: results.flatMap((r) => (r.lag ? [r.lag] : [])), sessionKinds,
      redisCommands: redis1.commands - redis0.commands, redisCpuS: redis1.cpuS - redis0.cpuS, topRedis: top,
      gateway: metrics0.map((m, i) => phaseMetrics(m, metrics1[i]!)),
    };
  }
}

function latencyRows(prefix: string, ms: AttributedMessage[]): Rows {
  if (ms.length === 0) return {};
  const l = latencyRow(ms);
  return {
    [`${prefix}.messages`]: l.messages,
    [`${prefix}.latency_ms p50/p95/p99/max`]: `${r1(l.p50)} / ${r1(l.p95)} / ${r1(l.p99)} / ${r1(l.max)}`,
    [`${prefix}.excl_dav_ms p50/p95/p99/max`]: `${r1(l.ownP50)} / ${r1(l.ownP95)} / ${r1(l.ownP99)} / ${r1(l.ownMax)}`,
    [`${prefix}.excl_dav_on_the_wire_only_ms p50/p99`]: `${r1(l.wireOwnP50)} / ${r1(l.wireOwnP99)}`,
    [`${prefix}.dav_wait_share (incl. gateway pool queue / wire only)`]: `${r1(l.davShare * 100)}% / ${r1(l.wireShare * 100)}%`,
    [`${prefix}.dav_requests_per_message`]: r1(l.davRequestsPerMessage),
  };
}

/** Count of DAV answers outside 2xx, by method and status. */
function nonSuccess(dav: DavRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of dav) if (r.status < 200 || r.status >= 300) counts.set(`${r.method} ${r.status}`, (counts.get(`${r.method} ${r.status}`) ?? 0) + 1);
  return counts.size ? [...counts].map(([k, v]) => `${k} x${v}`).join(', ') : '0';
}

const p50p99 = (xs: number[]): string => `${r1(percentile(xs, 50))} / ${r1(percentile(xs, 99))}`;
const fourPercentiles = (xs: number[]): string => `${r1(percentile(xs, 50))} / ${r1(percentile(xs, 95))} / ${r1(percentile(xs, 99))} / ${r1(Math.max(...xs))}`;

/**
 * The bench's own delays (so they are not read as the gateway's) and the gateway's view of the
 * same messages from its access log: `ms` there runs from express having the request to the reply
 * written, so phone time minus it is time outside the gateway (the phones' processes and TCP).
 */
function benchRows(p: PhaseResult): Rows {
  const worst = (f: (l: LagFigures) => number): number => Math.max(...p.workerLag.map(f));
  const rows: Rows = {
    [`${p.name}.bench: eventloop_lag_ms p99 / max, 10 ms sampling incl. (bench process; worst phone worker)`]: `${r1(p.benchLag.p99Ms)} / ${r1(p.benchLag.maxMs)}; `
      + (p.workerLag.length ? `${r1(worst((l) => l.p99Ms))} / ${r1(worst((l) => l.maxMs))} (${p.workerLag.length} workers)` : 'phones inside the bench process'),
    ...(p.workerLag.length ? { [`${p.name}.bench: eventloop_lag_ms p99 / max of each phone worker`]: p.workerLag.map((l) => `${r1(l.p99Ms)} / ${r1(l.maxMs)}`).join('; ') } : {}),
    [`${p.name}.bench: phone cpu_ms_per_message (main + phone workers)`]: r1((p.benchCpuMs + p.phoneWorkersCpuMs) / Math.max(1, p.messages.length)),
    [`${p.name}.bench: phone encode_ms (decided to send -> handed to node:http) p50/p99`]: p50p99(p.messages.map((m) => m.start - m.decided)),
    [`${p.name}.bench: request write_ms (handed to node:http -> last byte to the OS) p50/p99`]: p50p99(p.messages.map((m) => m.written - m.start)),
    [`${p.name}.bench: reply handling_ms (last byte seen -> decoded, checked) p50/p99`]: p50p99(p.messages.map((m) => m.processed - m.end)),
  };
  if (!p.access) return rows;
  const matched = p.messages.flatMap((m, i) => (p.access![i] ? [{ m, line: p.access![i] }] : []));
  if (!matched.length) return rows;
  return {
    ...rows,
    [`${p.name}.gateway-side (access log): matched messages`]: `${matched.length} of ${p.messages.length}`,
    [`${p.name}.gateway-side latency_ms p50/p95/p99/max`]: fourPercentiles(matched.map((x) => x.line.ms)),
    // DAV time falls inside the gateway's handling; what is left is the gateway's own time.
    [`${p.name}.gateway-side excl_dav_ms p50/p95/p99/max`]: fourPercentiles(matched.map((x) => Math.max(0, x.line.ms - x.m.davWaitMs))),
    [`${p.name}.outside the gateway: before_ms (phone start -> gateway has it) p50/p99`]: p50p99(matched.map((x) => x.line.time - x.line.ms - x.m.start)),
    [`${p.name}.outside the gateway: after_ms (reply written -> phone has last byte) p50/p99`]: p50p99(matched.map((x) => x.m.end - x.line.time)),
  };
}

function phaseRows(p: PhaseResult, detail: boolean): Rows {
  const n = Math.max(1, p.messages.length);
  const durations = p.dav.filter((r) => r.status !== 499).map((r) => r.end - r.sent);
  const queued = p.dav.map((r) => r.sent - r.start);
  const l = latencyRow(p.messages);
  const davP99 = percentile(durations, 99);
  const rows: Rows = {
    [`${p.name}.wall_s`]: r1(p.wallS),
    [`${p.name}.messages_per_s`]: r1(p.messages.length / p.wallS),
    ...latencyRows(p.name, p.messages),
    ...benchRows(p),
  };
  if (detail) {
    for (const kind of ['none', 'changes'] as SessionKind[]) Object.assign(rows, latencyRows(`${p.name}.${kind}`, p.messages.filter((m) => m.kind === kind)));
    for (const index of [1, 2, 3]) {
      const ms = p.messages.filter((m) => m.index === index);
      if (!ms.length) continue;
      const own = ms.map((m) => m.ownMs);
      rows[`${p.name}.msg${index} excl_dav_ms p50/p99`] = `${r1(percentile(own, 50))} / ${r1(percentile(own, 99))}`;
    }
  }
  Object.assign(rows, {
    [`${p.name}.gateway_cpu_ms_per_message (proc 0 / 1 / both)`]: `${r1(p.gatewayCpuMs[0]! / n)} / ${r1(p.gatewayCpuMs[1]! / n)} / ${r1((p.gatewayCpuMs[0]! + p.gatewayCpuMs[1]!) / n)}`,
    [`${p.name}.gateway_cpu_share_of_wall (of 2 cores)`]: `${r1(((p.gatewayCpuMs[0]! + p.gatewayCpuMs[1]!) / (p.wallS * 1000) / 2) * 100)}%`,
    [`${p.name}.bench_cpu_ms (main / phone workers) / proxy_cpu_ms`]: `${Math.round(p.benchCpuMs)} / ${Math.round(p.phoneWorkersCpuMs)} / ${Math.round(p.proxyCpuMs)}`,
    [`${p.name}.redis_commands_per_message`]: r1(p.redisCommands / n),
    [`${p.name}.redis_top_commands_per_message`]: p.topRedis,
    [`${p.name}.redis_cpu_ms_per_message`]: r1((p.redisCpuS * 1000) / n),
    [`${p.name}.floor: dav_requests`]: p.dav.length,
    [`${p.name}.floor: dav_request_ms at Radicale p50/p95/p99`]: `${r1(percentile(durations, 50))} / ${r1(percentile(durations, 95))} / ${r1(percentile(durations, 99))}`,
    [`${p.name}.floor: dav_queued_at_proxy_ms p50/p95/p99`]: `${r1(percentile(queued, 50))} / ${r1(percentile(queued, 95))} / ${r1(percentile(queued, 99))}`,
    [`${p.name}.floor: dav_requests_open_from_gateways_peak`]: peakConcurrency(p.dav),
    [`${p.name}.floor: dav_non_2xx`]: nonSuccess(p.dav),
    [`${p.name}.ratio message p99 : dav request p99`]: `${r1(l.p99 / davP99)} : 1`,
    [`${p.name}.ratio message excl_dav p99 : dav request p99`]: `${r1(l.ownP99 / davP99)} : 1`,
  });
  const [g0, g1] = p.gateway as [GatewayPhaseMetrics, GatewayPhaseMetrics];
  const stateOps = new Map<string, { seconds: number; count: number }>();
  for (const o of [...g0.stateTop, ...g1.stateTop]) {
    const t = stateOps.get(o.op) ?? { seconds: 0, count: 0 };
    stateOps.set(o.op, { seconds: t.seconds + o.seconds, count: t.count + o.count });
  }
  const proxyDavS = p.dav.reduce((a, r) => a + r.end - r.start, 0) / 1000;
  Object.assign(rows, {
    [`${p.name}.gateway: state_store_ms_per_message (summed op latency) / ops`]: `${r1(((g0.stateSeconds + g1.stateSeconds) * 1000) / n)} / ${r1((g0.stateOps + g1.stateOps) / n)}`,
    [`${p.name}.gateway: state_store_top (ms per message, ops per message)`]: [...stateOps].sort((a, b) => b[1].seconds - a[1].seconds).slice(0, 5)
      .map(([op, t]) => `${op} ${r1((t.seconds * 1000) / n)}/${r1(t.count / n)}`).join(', '),
    [`${p.name}.gateway: dav_ms_per_message as the gateway sees it / at the proxy (queue incl.)`]: `${r1(((g0.davSeconds + g1.davSeconds) * 1000) / n)} / ${r1((proxyDavS * 1000) / n)}`,
    [`${p.name}.gateway: eventloop_lag_ms p99 / max (proc 0; proc 1)`]: `${r1(g0.lagP99Ms)} / ${r1(g0.lagMaxMs)}; ${r1(g1.lagP99Ms)} / ${r1(g1.lagMaxMs)}`,
  });
  if (detail) {
    for (const method of [...new Set(p.dav.map((r) => r.method))].sort()) {
      const d = p.dav.filter((r) => r.method === method && r.status !== 499).map((r) => r.end - r.sent);
      rows[`${p.name}.floor: ${method} n / p50 / p99 ms`] = `${d.length} / ${r1(percentile(d, 50))} / ${r1(percentile(d, 99))}`;
    }
  }
  return rows;
}

/** Each phone's address book on Radicale's disk holds exactly the phone's contacts (by FN, each once). */
function verify(dav: DavServerHandle, phones: PhoneReport[]): { checked: number; mismatches: string[]; items: number } {
  const root = path.dirname(dav.storageDir);
  const mismatches: string[] = [];
  let items = 0;
  for (const phone of phones) {
    const dir = path.join(root, phone.user, 'contacts');
    const fns: string[] = [];
    const uids = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.vcf'))) {
      const text = readFileSync(path.join(dir, f), 'utf8').replace(/\r?\n[ \t]/g, '');
      fns.push(/^FN[;:](?:[^:\r\n]*:)?(.*?)\r?$/m.exec(text)?.[1] ?? `(no FN in ${f})`);
      const uid = /^UID[;:](?:[^:\r\n]*:)?(.*?)\r?$/m.exec(text)?.[1];
      if (uid && uids.has(uid)) mismatches.push(`${phone.user}: UID ${uid} twice`);
      if (uid) uids.add(uid);
    }
    items += fns.length;
    const expected = new Set(phone.markers.map((m) => `${m} Load`));
    const missing = [...expected].filter((fn) => !fns.includes(fn));
    const extra = fns.filter((fn) => !expected.has(fn));
    if (missing.length || extra.length || fns.length !== expected.size) {
      mismatches.push(`${phone.user}: phone ${expected.size}, server ${fns.length}; missing ${missing.slice(0, 3).join(', ')}; extra ${extra.slice(0, 3).join(', ')}`);
    }
  }
  return { checked: phones.length, mismatches, items };
}

export async function benchLoad(o: LoadOptions, log: (line: string) => void = () => undefined): Promise<Rows> {
  const dir = makeTempDir('bench-load');
  const candidates = corpusCards();
  const users = Array.from({ length: o.devices }, (_, i) => ({ user: `phone${i}`, password: `pw-${i}-secret` }));
  const loadBefore = loadavg();
  const setup0 = performance.now();
  let redis: RedisHandle | undefined;
  let dav: DavServerHandle | undefined;
  let proxy: DavProxy | undefined;
  let gws: GatewayChild[] = [];
  let client: Redis | undefined;
  let groups: PhoneGroupHandle[] = [];
  try {
    [redis, dav] = await Promise.all([startRedis(), startRadicale({ extraUsers: users })]);
    const cards = await cardsTheServerTakes(dav, candidates);
    if (cards.length < 10) throw new Error(`only ${cards.length} usable vCards in the corpus`);
    proxy = await startDavProxy(dav.port, o.maxUpstream);
    const mappings = writeTemplateMapping(dir, proxy.baseUrl);
    // BENCH_GATEWAY_NODE_FLAGS: node options of both gateway processes, as in e2e-phases.ts.
    const flags = (process.env['BENCH_GATEWAY_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
    const nodeArgs = [...flags, ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProfDir)}`] : [])];
    gws = await Promise.all([0, 1].map((i) => spawnGatewayChild({ dir, name: `gateway-${i}`, env: { MAPPINGS_DIR: mappings, REDIS_URL: redis!.url, LOG_LEVEL: o.logLevel ?? 'debug' }, nodeArgs })));
    client = new Redis(redis.url, { lazyConnect: false });
    const rssStart = gws.map((g) => processRssMb(g.pid).rss);
    const setupS = (performance.now() - setup0) / 1000;
    log(`setup ${r1(setupS)} s (${o.devices} Radicale users, 2 gateways from ${gatewayCommand().how}); seeding…`);

    // Phones in groups of at most 50, each in its own process (0 workers: all inside the bench, as before).
    const workers = o.phoneWorkers ?? 0;
    const groupCount = Math.max(1, workers);
    const groupInits: PhoneGroupInit[] = Array.from({ length: groupCount }, (_, g) => ({
      users: users.flatMap((u, i) => (i % groupCount === g ? [{ index: i, ...u }] : [])), gateways: gws.map((x) => x.url), cards,
    }));
    groups = workers > 0 ? await Promise.all(groupInits.map((init) => forkedGroup(init))) : [inProcessGroup(groupInits[0]!)];
    const run = new Run(gws, proxy, client, groups);
    // The seed's bound on phones at once is shared out between the groups.
    const seedShare = (g: number): number => Math.max(1, Math.floor(o.seedConcurrency / groupCount) + (g < o.seedConcurrency % groupCount ? 1 : 0));
    const seed = await run.phase('seed', (g) => ({ phase: 'seed', contacts: o.seedContacts, concurrency: seedShare(g) }));
    log(`seed ${r1(seed.wallS)} s; load phase…`);
    const load = await run.phase('load', () => ({ phase: 'load', rounds: o.rounds, mix: o.mix, changes: o.changes }));
    const phones = (await Promise.all(groups.map((g) => g.report()))).flat().sort((x, y) => x.index - y.index);
    const access = matchAccessLog(gws.map((g) => readFileSync(g.logFile, 'utf8')), [...seed.messages, ...load.messages]);
    seed.access = access.slice(0, seed.messages.length);
    load.access = access.slice(seed.messages.length);
    const rss = gws.map((g) => processRssMb(g.pid));
    const loadAfter = loadavg();
    const check = verify(dav, phones);
    const errors = phones.flatMap((p) => p.errors);
    const statuses = new Map<string, number>();
    for (const p of phones) for (const [k, v] of p.statusCounts) statuses.set(k, (statuses.get(k) ?? 0) + v);
    const keep = path.join(repoRoot, '.tmp', 'load-last');
    mkdirSync(keep, { recursive: true });
    for (const g of gws) copyFileSync(g.logFile, path.join(keep, path.basename(g.logFile)));
    // The raw figures, for questions the printed rows do not answer.
    writeFileSync(path.join(keep, 'phases.json'), JSON.stringify([seed, load].map((ph) => ({ name: ph.name, messages: ph.messages, dav: ph.dav }))));
    const logs = gws.map((g) => logErrors(g.logFile));
    return {
      devices: o.devices,
      'sessions seed / load (none + changes)': `${o.devices} / ${load.sessionKinds.none ?? 0} + ${load.sessionKinds.changes ?? 0}`,
      'phone processes': workers > 0 ? `${workers} workers of ${groupInits.map((g) => g.users.length).join('/')} phones (pids ${groups.map((g) => g.pid).join(', ')})` : `${o.devices} phones inside the bench process`,
      'changes per changing session; seed contacts': `${o.changes}; ${o.seedContacts} (drawn from ${cards.length} corpus vCard 2.1 cards; ${candidates.length - cards.length} Radicale refuses left out)`,
      'gateway processes': `2, ${gatewayCommand().how}, Redis state store`,
      'load average before / after': `${loadBefore} / ${loadAfter}`,
      'setup_s': r1(setupS),
      ...phaseRows(seed, false),
      ...phaseRows(load, true),
      'failed sessions (seed + load)': phones.reduce((s, p) => s + p.failedSessions, 0),
      'messages with errors (HTTP, SyncML status other than 200/201/212, wrong sync mode)': errors.length,
      ...(statuses.size ? { 'SyncML statuses other than 200/201/212': [...statuses].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} x${v}`).join(', ') } : {}),
      ...(errors.length ? { 'errors (first 5)': errors.slice(0, 5).join(' | ') } : {}),
      'server changes sent to phones (expected 0)': phones.reduce((s, p) => s + p.serverChanges, 0),
      'gateway log lines at error level (proc 0 / 1)': `${logs[0]!.errors.length} / ${logs[1]!.errors.length}`,
      ...(logs.some((l) => l.errors.length) ? { 'gateway log errors (first 3)': logs.flatMap((l) => l.errors).slice(0, 3).join(' | ') } : {}),
      'gateway rss_MB start / peak (proc 0; proc 1)': `${r1(rssStart[0]!)} / ${r1(rss[0]!.peak)}; ${r1(rssStart[1]!)} / ${r1(rss[1]!.peak)}`,
      'verify: devices / server items / mismatching devices (of them with a failed session)': `${check.checked} / ${check.items} / ${check.mismatches.length} (${check.mismatches.filter((m) => phones.find((p) => p.user === m.split(':')[0])!.failedSessions > 0).length})`,
      ...(check.mismatches.length ? { 'verify mismatches (first 5)': check.mismatches.slice(0, 5).join(' | ') } : {}),
    };
  } finally {
    for (const g of groups) g.close();
    client?.disconnect();
    await Promise.all(gws.map((g) => g.stop()));
    proxy?.close();
    await Promise.all([dav?.dispose(), redis?.dispose()]);
  }
}

function parseArgs(argv: string[]): LoadOptions {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const prof = argv.indexOf('--cpu-prof');
  const level = argv.indexOf('--log-level');
  const devices = value('--devices', 200);
  return {
    devices, changes: value('--changes', 20), mix: value('--mix', 0.5), rounds: value('--rounds', 3),
    phoneWorkers: value('--phone-workers', 0),
    seedContacts: value('--seed-contacts', 30), seedConcurrency: value('--seed-concurrency', 25), maxUpstream: value('--max-upstream', 8), ...(prof >= 0 ? { cpuProfDir: argv[prof + 1] ?? '.tmp/load-prof' } : {}),
    ...(level >= 0 ? { logLevel: argv[level + 1] ?? 'debug' } : {}),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const opts = parseArgs(process.argv.slice(2));
  console.log(`# Load benchmark: ${JSON.stringify(opts)}`);
  const rows = await benchLoad(opts, (line) => console.log(`  … ${line}`));
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(62)} ${v}`);
  process.exit(0);
}
