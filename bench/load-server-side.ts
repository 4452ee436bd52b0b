// After a load run: how much of each message's time the gateway itself saw (its access log's
// `ms`, from the moment express has the request until the reply is written), next to what the
// phone measured. The difference is time outside the gateway's request handling: the phones'
// processes sending late or reading late, and TCP. bench/load.ts prints the same figures itself
// (`gateway-side` rows); this reads the files of the last run again. Not a test.
// Run: npx tsx bench/load-server-side.ts [.tmp/load-last]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { matchAccessLog, percentile, r1 } from './load-stats.js';

interface PhaseMessage { account: string; start: number; end: number; totalMs: number; davWaitMs: number }

const dir = process.argv[2] ?? '.tmp/load-last';
const phases = JSON.parse(readFileSync(path.join(dir, 'phases.json'), 'utf8')) as Array<{ name: string; messages: PhaseMessage[] }>;
const all = phases.flatMap((p) => p.messages.map((m) => ({ ...m, phase: p.name })));
const lines = matchAccessLog([0, 1].map((g) => readFileSync(path.join(dir, `gateway-${g}.log`), 'utf8')), all);
console.log(`matched ${lines.filter(Boolean).length} of ${all.length} messages to access-log lines`);
for (const phase of phases.map((p) => p.name)) {
  const rows = all.flatMap((m, i) => (m.phase === phase && lines[i] ? [{ m, line: lines[i] }] : []));
  const pct = (v: number[], p: number): number => r1(percentile(v, p));
  const server = rows.map((r) => r.line.ms);
  // DAV time falls inside the gateway's handling; what is left is the gateway's own time.
  const serverExclDav = rows.map((r) => Math.max(0, r.line.ms - r.m.davWaitMs));
  const outside = rows.map((r) => Math.max(0, r.m.totalMs - r.line.ms));
  console.log(`${phase}: gateway-side ms p50/p99 ${pct(server, 50)} / ${pct(server, 99)}; gateway-side excl. DAV p50/p95/p99 ${pct(serverExclDav, 50)} / ${pct(serverExclDav, 95)} / ${pct(serverExclDav, 99)}; outside the gateway (phone measured - gateway) p50/p99 ${pct(outside, 50)} / ${pct(outside, 99)}`);
}
