// What the gateway processes say about themselves (GET /metrics, Prometheus text), scraped at the
// start and end of a phase of bench/load.ts: where a message's time goes besides the DAV server.
// - state store: summed latency of its operations (Redis round trips incl. Lua), by operation;
// - DAV as the gateway sees it (from the request's creation: waits for a pooled socket and the
//   store's concurrency limit included) against the proxy's view (on the wire only): the
//   difference is time queued inside the gateway for DAV;
// - event loop lag (prom-client resets its histogram at every scrape, so the end-of-phase values
//   cover the phase).

export type Samples = Map<string, number>;

/** `name{labels}` -> value of every sample line. */
export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export async function scrape(syncUrl: string): Promise<Samples> {
  const res = await fetch(new URL('/metrics', syncUrl));
  return parseMetrics(await res.text());
}

const sumWhere = (s: Samples, prefix: string, labelFilter: (labels: string) => boolean = () => true): number => {
  let total = 0;
  for (const [k, v] of s) if (k.startsWith(prefix) && labelFilter(k.slice(prefix.length))) total += v;
  return total;
};

export interface GatewayPhaseMetrics {
  /** Seconds summed over all operations. */
  stateSeconds: number;
  stateOps: number;
  /** Largest summed-latency operations: `name seconds/count`. */
  stateTop: Array<{ op: string; seconds: number; count: number }>;
  davSeconds: number;
  davRequests: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/** Deltas of one process between two scrapes. */
export function phaseMetrics(before: Samples, after: Samples): GatewayPhaseMetrics {
  const delta = (prefix: string, f?: (labels: string) => boolean): number => sumWhere(after, prefix, f) - sumWhere(before, prefix, f);
  const ops = new Set<string>();
  for (const k of after.keys()) {
    const m = /^syncml_state_store_duration_seconds_sum\{operation="([^"]+)"\}/.exec(k);
    if (m) ops.add(m[1]!);
  }
  const stateTop = [...ops].map((op) => ({
    op,
    seconds: delta('syncml_state_store_duration_seconds_sum', (l) => l.includes(`operation="${op}"`)),
    count: delta('syncml_state_store_duration_seconds_count', (l) => l.includes(`operation="${op}"`)),
  })).filter((o) => o.count > 0).sort((a, b) => b.seconds - a.seconds);
  return {
    stateSeconds: delta('syncml_state_store_duration_seconds_sum'),
    stateOps: delta('syncml_state_store_duration_seconds_count'),
    stateTop,
    davSeconds: delta('syncml_dav_request_duration_seconds_sum'),
    davRequests: delta('syncml_dav_request_duration_seconds_count'),
    lagP99Ms: (after.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
    lagMaxMs: (after.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
  };
}
