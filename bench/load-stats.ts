// Arithmetic of bench/load.ts: percentiles, DAV wait per SyncML message, /proc readings of the
// gateway processes. Pure functions apart from the /proc readers.
import { readFileSync } from 'node:fs';
import type { DavRecord } from './load-dav-proxy.js';
import type { MessageTiming } from './load-phone.js';

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface AttributedMessage extends MessageTiming {
  totalMs: number;
  /**
   * Wall time inside the message's window during which at least one of its account's DAV
   * requests was open as the gateway sees it (from handing the request to its HTTP agent, so a
   * wait for one of the agent's pooled connections counts), and never less than on the wire.
   */
  davWaitMs: number;
  /** The same with the proxy's intervals only (queue at the proxy + Radicale). */
  wireWaitMs: number;
  /** totalMs - davWaitMs: the gateway's own time (CPU, Redis, waiting to be scheduled). */
  ownMs: number;
  /** totalMs - wireWaitMs. */
  ownWireMs: number;
  davRequests: number;
}

/** Interval records by account, each list sorted by start. */
function byAccount(records: Array<{ user: string; start: number; end: number }>): Map<string, Array<{ start: number; end: number }>> {
  const out = new Map<string, Array<{ start: number; end: number }>>();
  for (const r of records) {
    const list = out.get(r.user) ?? [];
    list.push(r);
    out.set(r.user, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.start - b.start);
  return out;
}

/** Length of the union of the intervals (sorted by start) clipped to [from, to], and how many touch it. */
function unionWithin(list: Array<{ start: number; end: number }>, from: number, to: number): { ms: number; count: number } {
  let ms = 0;
  let count = 0;
  let coveredTo = -Infinity;
  for (const r of list) {
    if (r.start >= to) break;
    if (r.end <= from) continue;
    count++;
    const a = Math.max(r.start, from, coveredTo);
    const b = Math.min(r.end, to);
    if (b > a) ms += b - a;
    coveredTo = Math.max(coveredTo, b);
  }
  return { ms, count };
}

/**
 * DAV wait of each message: the union of the intervals of DAV requests made with the message's
 * account, clipped to the message's window. Each simulated device has its own account and sends
 * one message at a time, so every such request was made for that message (the passthrough PROPFIND
 * of the first message included). `gateway` are the same requests as the gateway logged them; the
 * passthrough credential check is not logged (only counted in /metrics), so a PROPFIND on the wire
 * without a logged twin counts from the message's start: the check is the first thing done with a
 * message after decoding it, and it waits for a pooled connection like any other DAV request.
 */
export function attributeDavWait(messages: MessageTiming[], wire: DavRecord[], gateway: GatewayDavRecord[]): AttributedMessage[] {
  const wireBy = byAccount(wire) as Map<string, DavRecord[]>;
  const gwBy = byAccount(gateway);
  return messages.map((m) => {
    const wireList = wireBy.get(m.account) ?? [];
    const w = unionWithin(wireList, m.start, m.end);
    const logged = (gwBy.get(m.account) ?? []).filter((r) => r.start < m.end && r.end > m.start);
    const unlogged = wireList.filter((r) => r.method === 'PROPFIND' && r.start < m.end && r.end > m.start
      && !logged.some((g) => g.start <= r.start + 2 && g.end >= r.end - 2)).map((r) => ({ start: m.start, end: r.end }));
    const g = unionWithin([...logged, ...unlogged].sort((a, b) => a.start - b.start), m.start, m.end);
    const totalMs = m.end - m.start;
    const davWaitMs = Math.max(w.ms, g.ms);
    return { ...m, totalMs, davWaitMs, wireWaitMs: w.ms, ownMs: totalMs - davWaitMs, ownWireMs: totalMs - w.ms, davRequests: w.count };
  });
}

/** A DAV request as the gateway logged it at debug level (`DAV request`, duration from its HTTP agent on). */
export interface GatewayDavRecord {
  start: number;
  end: number;
  user: string;
}

/** `DAV request` lines of a gateway log ending inside [from, to]; the account is the URL's first path segment. */
export function gatewayDavRecords(logText: string, from: number, to: number): GatewayDavRecord[] {
  const out: GatewayDavRecord[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"DAV request"')) continue;
    try {
      const l = JSON.parse(line) as { time: number; ms: number; url: string };
      if (l.time < from || l.time > to + 1) continue;
      out.push({ start: l.time - l.ms, end: l.time, user: new URL(l.url).pathname.split('/')[1] ?? '' });
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

export interface LatencyRow {
  messages: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  ownP50: number;
  ownP95: number;
  ownP99: number;
  ownMax: number;
  wireOwnP50: number;
  wireOwnP99: number;
  /** Sum of DAV wait / sum of latency. */
  davShare: number;
  wireShare: number;
  davRequestsPerMessage: number;
}

export function latencyRow(ms: AttributedMessage[]): LatencyRow {
  const total = ms.map((m) => m.totalMs);
  const own = ms.map((m) => m.ownMs);
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
  return {
    messages: ms.length,
    p50: percentile(total, 50), p95: percentile(total, 95), p99: percentile(total, 99), max: Math.max(...total),
    ownP50: percentile(own, 50), ownP95: percentile(own, 95), ownP99: percentile(own, 99), ownMax: Math.max(...own),
    wireOwnP50: percentile(ms.map((m) => m.ownWireMs), 50), wireOwnP99: percentile(ms.map((m) => m.ownWireMs), 99),
    davShare: sum(ms.map((m) => m.davWaitMs)) / Math.max(1e-9, sum(total)),
    wireShare: sum(ms.map((m) => m.wireWaitMs)) / Math.max(1e-9, sum(total)),
    davRequestsPerMessage: sum(ms.map((m) => m.davRequests)) / Math.max(1, ms.length),
  };
}

/** The largest number of the records' intervals open at the same time. */
export function peakConcurrency(records: DavRecord[]): number {
  const events = records.flatMap((r) => [[r.start, 1], [r.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of events) {
    open += d;
    peak = Math.max(peak, open);
  }
  return peak;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Current and peak resident set in MB, from /proc/<pid>/status. */
export function processRssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** One decimal place. */
export const r1 = (x: number): number => Math.round(x * 10) / 10;

/** A message's POST /sync as the gateway's access log saw it: `time` = reply written (epoch ms), `ms` since express had the request. */
export interface AccessLogTime {
  time: number;
  ms: number;
}

/**
 * The access-log line of each message (same order as `messages`; undefined when not matched).
 * Lines name a session digest, the gateway's other lines tie the digest to an account; a phone's
 * messages are sequential, so the n-th line of an account is its n-th message. An account whose
 * line count differs from its message count (a message refused before it had a session) is left
 * out, as is a line more than 2 s from the message's end.
 */
export function matchAccessLog(logTexts: string[], messages: Array<{ account: string; start: number; end: number }>): Array<AccessLogTime | undefined> {
  const sessionAccount = new Map<string, string>();
  const lines: Array<AccessLogTime & { session: string }> = [];
  for (const text of logTexts) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const r = JSON.parse(line) as { time: number; msg: string; account?: string; session?: string; path?: string; method?: string; ms?: number };
        if (r.account && r.session) sessionAccount.set(r.session, r.account);
        if (r.msg === 'request' && r.method === 'POST' && r.path === '/sync' && r.ms !== undefined && r.session) lines.push({ time: r.time, ms: r.ms, session: r.session });
      } catch {
        /* a line cut short */
      }
    }
  }
  const byAccount = new Map<string, AccessLogTime[]>();
  for (const l of lines) {
    const account = sessionAccount.get(l.session);
    if (!account) continue;
    const list = byAccount.get(account) ?? [];
    list.push({ time: l.time, ms: l.ms });
    byAccount.set(account, list);
  }
  for (const list of byAccount.values()) list.sort((a, b) => a.time - b.time);
  const order = messages.map((m, i) => i).sort((a, b) => messages[a]!.start - messages[b]!.start);
  const countOf = new Map<string, number>();
  for (const m of messages) countOf.set(m.account, (countOf.get(m.account) ?? 0) + 1);
  const nth = new Map<string, number>();
  const out: Array<AccessLogTime | undefined> = messages.map(() => undefined);
  for (const i of order) {
    const m = messages[i]!;
    const n = nth.get(m.account) ?? 0;
    nth.set(m.account, n + 1);
    const list = byAccount.get(m.account);
    if (!list || list.length !== countOf.get(m.account)) continue;
    const line = list[n]!;
    if (Math.abs(line.time - m.end) <= 2000) out[i] = line;
  }
  return out;
}
