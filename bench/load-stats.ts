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
