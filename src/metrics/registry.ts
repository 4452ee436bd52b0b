// The gateway's Prometheus metrics (prom-client). One set per registry: the process-wide default
// registry (with Node's default process metrics) for the running gateway, a private registry in
// unit tests. Label values are closed sets or short codes, never account names or URLs.
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, Registry } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  sessionsStarted: Counter;
  sessionsCompleted: Counter;
  sessionsFailed: Counter<'reason'>;
  sessionDuration: Histogram;
  sessionsOpen: Gauge;
  /** Adds a source of the open-session count (summed when scraped); returns its removal. */
  addOpenSessionsSource(count: () => number): () => void;
  datastoreSyncs: Counter<'kind' | 'mode' | 'result'>;
  messages: Counter<'encoding' | 'syncml_version'>;
  replyBytes: Histogram<'encoding'>;
  items: Counter<'kind' | 'operation' | 'direction'>;
  conflicts: Counter<'policy' | 'outcome'>;
  refreshRefused: Counter;
  authFailures: Counter<'reason'>;
  davRequests: Counter<'provider' | 'method' | 'status'>;
  davDuration: Histogram<'provider' | 'method'>;
  stateStoreDuration: Histogram<'operation'>;
  /** Admission control (http/admission.ts): how long messages waited for a turn, how many wait. */
  admissionWait: Histogram;
  admissionQueued: Gauge;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  const openSources = new Set<() => number>();
  return {
    registry,
    sessionsStarted: new Counter({ name: 'syncml_sessions_started_total', help: 'SyncML sessions that authenticated and started', registers }),
    sessionsCompleted: new Counter({ name: 'syncml_sessions_completed_total', help: 'SyncML sessions that completed (anchors committed)', registers }),
    sessionsFailed: new Counter({ name: 'syncml_sessions_failed_total', help: 'Messages that failed as a whole, by reason', labelNames: ['reason'], registers }),
    sessionDuration: new Histogram({
      name: 'syncml_session_duration_seconds', help: 'Duration of completed sessions', registers,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    }),
    sessionsOpen: new Gauge({
      name: 'syncml_sessions_open', help: 'Sessions started in this process and not yet completed or failed (abandoned ones expire)', registers,
      collect() {
        let n = 0;
        for (const count of openSources) n += count();
        this.set(n);
      },
    }),
    addOpenSessionsSource(count) {
      openSources.add(count);
      return () => openSources.delete(count);
    },
    datastoreSyncs: new Counter({ name: 'syncml_datastore_syncs_total', help: 'Datastores synchronised in completed sessions', labelNames: ['kind', 'mode', 'result'], registers }),
    messages: new Counter({ name: 'syncml_messages_total', help: 'SyncML messages received and decoded', labelNames: ['encoding', 'syncml_version'], registers }),
    replyBytes: new Histogram({
      name: 'syncml_reply_bytes', help: 'Size of encoded SyncML replies', labelNames: ['encoding'], registers,
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576],
    }),
    items: new Counter({ name: 'syncml_items_total', help: 'Items exchanged in completed sessions', labelNames: ['kind', 'operation', 'direction'], registers }),
    conflicts: new Counter({ name: 'syncml_conflicts_total', help: 'Items changed on both sides, by policy and outcome', labelNames: ['policy', 'outcome'], registers }),
    refreshRefused: new Counter({ name: 'syncml_refresh_refused_total', help: 'Refreshes from a phone refused by the refresh guard', registers }),
    authFailures: new Counter({ name: 'syncml_auth_failures_total', help: 'Refused authentications, by reason', labelNames: ['reason'], registers }),
    davRequests: new Counter({ name: 'syncml_dav_requests_total', help: 'HTTP requests to DAV servers', labelNames: ['provider', 'method', 'status'], registers }),
    davDuration: new Histogram({
      name: 'syncml_dav_request_duration_seconds', help: 'Latency of DAV requests (one attempt, body included)', labelNames: ['provider', 'method'], registers,
      buckets: LATENCY_BUCKETS,
    }),
    stateStoreDuration: new Histogram({
      name: 'syncml_state_store_duration_seconds', help: 'Latency of state store operations', labelNames: ['operation'], registers,
      buckets: LATENCY_BUCKETS,
    }),
    admissionWait: new Histogram({
      name: 'syncml_admission_wait_seconds', help: 'How long SyncML messages waited for a turn (MAX_CONCURRENT_MESSAGES)', registers,
      buckets: LATENCY_BUCKETS,
    }),
    admissionQueued: new Gauge({ name: 'syncml_admission_queued', help: 'SyncML messages waiting for a turn', registers }),
  };
}

// Kept on globalThis, not in a module variable: a test runner (tsx) may load this module twice in
// one process, and both copies share prom-client's one default registry.
const SHARED = Symbol.for('syncml-dav-gateway.metrics');
const holder = globalThis as { [SHARED]?: GatewayMetrics };

/**
 * The process-wide metrics on prom-client's default registry, with the default process metrics.
 * Created once: several gateways in one process (tests) share the counters.
 */
export function defaultMetrics(): GatewayMetrics {
  if (!holder[SHARED]) {
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register });
    holder[SHARED] = createMetrics(register);
  }
  return holder[SHARED];
}

/** A label value from free text: short codes pass, anything else is `other` (bounded cardinality). */
export function labelValue(v: string | undefined, fallback = 'unknown'): string {
  if (v === undefined || v === '') return fallback;
  return /^[A-Za-z0-9_.:+-]{1,40}$/.test(v) ? v : 'other';
}
