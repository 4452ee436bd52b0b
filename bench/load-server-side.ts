// After a load run: how much of each message's time the gateway itself saw (its access log's
// `ms`, from the moment express has the request until the reply is written), next to what the
// phone measured. The difference is time outside the gateway's request handling: the bench
// process (200 phones in one Node process) sending late or reading late, and TCP. Not a test.
// Run: npx tsx bench/load-server-side.ts [.tmp/load-last]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface PhaseMessage { device: number; account: string; index: number; gateway: number; start: number; end: number; totalMs: number; davWaitMs: number; ownMs: number }
interface RequestLine { time: number; ms: number; session?: string }

const dir = process.argv[2] ?? '.tmp/load-last';
const phases = JSON.parse(readFileSync(path.join(dir, 'phases.json'), 'utf8')) as Array<{ name: string; messages: PhaseMessage[] }>;

// Per account: the POST /sync lines of both gateways, in time order (a phone's messages are sequential).
const byAccount = new Map<string, RequestLine[]>();
const sessionAccount = new Map<string, string>();
const requests: RequestLine[] = [];
for (const g of [0, 1]) {
  for (const line of readFileSync(path.join(dir, `gateway-${g}.log`), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { time: number; msg: string; account?: string; session?: string; path?: string; method?: string; ms?: number };
    if (r.account && r.session) sessionAccount.set(r.session, r.account);
    if (r.msg === 'request' && r.method === 'POST' && r.path === '/sync' && r.ms !== undefined) requests.push({ time: r.time, ms: r.ms, ...(r.session ? { session: r.session } : {}) });
  }
}
for (const r of requests) {
  const account = r.session ? sessionAccount.get(r.session) : undefined;
  if (!account) continue;
  const list = byAccount.get(account) ?? [];
  list.push(r);
  byAccount.set(account, list);
}
for (const list of byAccount.values()) list.sort((a, b) => a.time - b.time);

const pct = (v: number[], p: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10 : NaN;
};
const all = phases.flatMap((p) => p.messages.map((m) => ({ ...m, phase: p.name })));
let matched = 0;
const rows = new Map<string, { server: number[]; outside: number[]; serverExclDav: number[] }>();
const byPhone = new Map<string, typeof all>();
for (const m of all) byPhone.set(m.account, [...(byPhone.get(m.account) ?? []), m]);
for (const [account, msgs] of byPhone) {
  const lines = byAccount.get(account) ?? [];
  const sorted = [...msgs].sort((a, b) => a.start - b.start);
  if (lines.length !== sorted.length) continue; // a refused message without a session in its log line: skip the account
  sorted.forEach((m, i) => {
    const line = lines[i]!;
    if (Math.abs(line.time - m.end) > 2000) return;
    matched++;
    const row = rows.get(m.phase) ?? { server: [], outside: [], serverExclDav: [] };
    row.server.push(line.ms);
    row.outside.push(Math.max(0, m.totalMs - line.ms));
    // DAV time falls inside the gateway's handling; what is left is the gateway's own time.
    row.serverExclDav.push(Math.max(0, line.ms - m.davWaitMs));
    rows.set(m.phase, row);
  });
}
console.log(`matched ${matched} of ${all.length} messages to access-log lines`);
for (const [phase, r] of rows) {
  console.log(`${phase}: gateway-side ms p50/p99 ${pct(r.server, 0.5)} / ${pct(r.server, 0.99)}; gateway-side excl. DAV p50/p95/p99 ${pct(r.serverExclDav, 0.5)} / ${pct(r.serverExclDav, 0.95)} / ${pct(r.serverExclDav, 0.99)}; outside the gateway (phone measured - gateway) p50/p99 ${pct(r.outside, 0.5)} / ${pct(r.outside, 0.99)}`);
}
