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
  /** Wall time inside the message's window during which at least one of its account's DAV requests was open. */
  davWaitMs: number;
  /** totalMs - davWaitMs. */
  ownMs: number;
  davRequests: number;
  /** Sum of those requests' durations (more than davWaitMs when they overlap: parallel applies). */
  davSumMs: number;
}

/**
 * DAV wait of each message: the union of the intervals of DAV requests made with the message's
 * account, clipped to the message's window. Each simulated device has its own account and sends
 * one message at a time, so every such request was made for that message (the passthrough PROPFIND
 * of the first message included).
 */
export function attributeDavWait(messages: MessageTiming[], records: DavRecord[]): AttributedMessage[] {
  const byUser = new Map<string, DavRecord[]>();
  for (const r of records) {
    const list = byUser.get(r.user) ?? [];
    list.push(r);
    byUser.set(r.user, list);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.start - b.start);
  return messages.map((m) => {
    const list = byUser.get(m.account) ?? [];
    const inside = list.filter((r) => r.start < m.end && r.end > m.start)
      .map((r) => [Math.max(r.start, m.start), Math.min(r.end, m.end)] as const);
    let wait = 0;
    let sum = 0;
    let coveredTo = -Infinity;
    for (const [a, b] of inside) {
      sum += b - a;
      const from = Math.max(a, coveredTo);
      if (b > from) wait += b - from;
      coveredTo = Math.max(coveredTo, b);
    }
    const totalMs = m.end - m.start;
    return { ...m, totalMs, davWaitMs: wait, ownMs: totalMs - wait, davRequests: inside.length, davSumMs: sum };
  });
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
  /** Sum of DAV wait / sum of latency. */
  davShare: number;
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
    davShare: sum(ms.map((m) => m.davWaitMs)) / Math.max(1e-9, sum(total)),
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
